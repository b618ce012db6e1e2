/**
 * Which load-balancer pool addresses this node binds: those of the LoadBalancer Services (of the
 * built-in class) whose status condition `bosun.io/LoadBalancerAddressNode`, written by the
 * server's load-balancer controller, names this node. Binding an address on the node's interface makes the node answer ARP for it, and the
 * service proxy's rules for the Service's load-balancer IPs take the traffic from there. Pure:
 * Services and what the interface holds in, what to add and remove out.
 */
import type { Service } from '../../kube/corev1.ts';
import { addressNodeOf, servesLoadBalancerClass } from '../../kube/load-balancer-names.ts';
import { isIPv4 } from '../../netproxy/ipv4.ts';

export interface AddressPlan {
  readonly add: readonly string[];
  readonly remove: readonly string[];
}

/**
 * Addresses no node may take over whatever a Service's status says: unspecified, loopback,
 * link-local, multicast, reserved and broadcast ranges. A status is written by whoever may write
 * services/status; a node answering ARP for such an address would break its own networking.
 */
function bindable(ip: string): boolean {
  if (!isIPv4(ip)) return false;
  const first = Number(ip.split('.')[0]);
  return first !== 0 && first !== 127 && first < 224 && !ip.startsWith('169.254.');
}

/** The addresses this node should hold, sorted. `nodeAddresses` (its own) are never among them. */
export function desiredAddresses(
  nodeName: string,
  services: readonly Service[],
  nodeAddresses: readonly string[],
): string[] {
  const own = new Set(nodeAddresses);
  const out = new Set<string>();
  for (const svc of services) {
    if (svc.spec?.type !== 'LoadBalancer' || !servesLoadBalancerClass(svc)) continue;
    if (addressNodeOf(svc) !== nodeName) continue;
    for (const entry of svc.status?.loadBalancer?.ingress ?? [])
      if (typeof entry.ip === 'string' && bindable(entry.ip) && !own.has(entry.ip)) out.add(entry.ip);
  }
  return [...out].sort();
}

/** What to change so that the interface holds exactly `desired` among the addresses we bound. */
export function planAddresses(desired: readonly string[], bound: readonly string[]): AddressPlan {
  const want = new Set(desired);
  const have = new Set(bound);
  return {
    add: desired.filter((ip) => !have.has(ip)),
    remove: bound.filter((ip) => !want.has(ip)),
  };
}
