import type { Service } from './corev1.ts';

/**
 * Names of the built-in load balancer for LoadBalancer Services, shared by the controller that
 * fills their status (control plane) and the agents that carry their traffic.
 */

/** The `spec.loadBalancerClass` served besides an absent class; any other class is left alone. */
const builtInLoadBalancerClass = 'bosun.io/servicelb';

export const loadBalancerNames = {
  /**
   * On a Node: the announcing pool it belongs to. On a Service: the pool whose nodes announce it
   * (absent: every Ready node).
   */
  pool: 'bosun.io/lb-pool',
  /**
   * Service condition, True with the node's name as its message: with an address from the server's
   * --lb-address-pool, the node chosen to bind that address. Written by the controller only (in
   * the status, out of reach of whoever may merely edit the Service); that node's agent adds the
   * address to its interface.
   */
  addressNodeCondition: 'bosun.io/LoadBalancerAddressNode',
  /** Service condition: False while a port of the Service collides with an older Service's on some node. */
  portsCondition: 'bosun.io/LoadBalancerPortsAvailable',
} as const;

/** Upstream's label that keeps a node out of every external load balancer. */
export const excludeFromLoadBalancersLabel = 'node.kubernetes.io/exclude-from-external-load-balancers';

/** Whether the built-in load balancer serves this Service's class (absent or ours). */
export function servesLoadBalancerClass(service: Service): boolean {
  const cls = service.spec?.loadBalancerClass;
  return cls === undefined || cls === '' || cls === builtInLoadBalancerClass;
}

/** The node named in the Service's status to bind its pool address, if any. */
export function addressNodeOf(service: Service): string | undefined {
  const c = service.status?.conditions?.find((x) => x.type === loadBalancerNames.addressNodeCondition);
  return c?.status === 'True' && typeof c.message === 'string' && c.message !== '' ? c.message : undefined;
}
