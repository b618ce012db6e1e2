/** Builders for the load-balancer address tests. */
import type { MetaCondition } from '../../../kube/corev1.ts';

/** The status condition by which the server names the node that binds a pool address. */
export function chosen(node: string): MetaCondition {
  return {
    type: 'bosun.io/LoadBalancerAddressNode',
    status: 'True',
    lastTransitionTime: '2026-01-01T00:00:00Z',
    reason: 'NodeChosen',
    message: node,
  };
}
