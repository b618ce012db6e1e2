/**
 * Names of the built-in load balancer for LoadBalancer Services, shared by the controller that
 * fills their status (control plane) and the agents that carry their traffic.
 */

/** The `spec.loadBalancerClass` served besides an absent class; any other class is left alone. */
export const builtInLoadBalancerClass = 'bosun.io/servicelb';

export const loadBalancerNames = {
  /**
   * On a Node: the announcing pool it belongs to. On a Service: the pool whose nodes announce it
   * (absent: every Ready node).
   */
  pool: 'bosun.io/lb-pool',
  /**
   * On a Service with an address from the server's --lb-address-pool: the node chosen to bind that
   * address. Written by the controller only; the named agent adds the address to its interface.
   */
  addressNode: 'bosun.io/lb-address-node',
  /** Service condition: False while a port of the Service collides with an older Service's on some node. */
  portsCondition: 'bosun.io/LoadBalancerPortsAvailable',
} as const;

/** Upstream's label that keeps a node out of every external load balancer. */
export const excludeFromLoadBalancersLabel = 'node.kubernetes.io/exclude-from-external-load-balancers';
