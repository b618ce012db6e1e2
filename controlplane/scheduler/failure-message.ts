/**
 * kube-scheduler's summary of why a pod fits nowhere: "0/3 nodes are available: 1 node(s) had
 * untolerated taint {node.kubernetes.io/not-ready: }, 2 Insufficient cpu." Each distinct reason is
 * counted over nodes, written "<count> <reason>", and the pieces are sorted as plain strings (so
 * the order is by the count's digits first), joined with ", " and closed with a period.
 */
export function unschedulableMessage(totalNodes: number, refusals: ReadonlyMap<string, readonly string[]>): string {
  const counts = new Map<string, number>();
  for (const nodeReasons of refusals.values()) {
    for (const reason of nodeReasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  const head = `0/${totalNodes} nodes are available`;
  if (counts.size === 0) return `${head}.`;
  const parts = [...counts].map(([reason, count]) => `${count} ${reason}`).sort();
  return `${head}: ${parts.join(', ')}.`;
}

/** What kube-scheduler says when there is no node at all. */
export const noNodesMessage = 'no nodes available to schedule pods';
