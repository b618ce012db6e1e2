/**
 * PodTopologySpread, the filter half (whenUnsatisfiable: DoNotSchedule), as kube-scheduler does it:
 * for each constraint, count the pods its selector matches in each domain of its topology key
 * (over the nodes the pod could go to by its node selector and affinity, as nodeAffinityPolicy
 * Honor says), and refuse a node whose domain would then exceed the emptiest domain by more
 * than maxSkew. A node without the key is refused too.
 */
import type { Node, Pod, TopologySpreadConstraint } from '../../kube/corev1.ts';
import { matchesLabels, selectorFromObject, type LabelSelector, type LabelSelectorObject } from '../../kube/labels.ts';
import { nodeMatchesPodRequirements } from './node-affinity.ts';

const spreadReasons = {
  skew: "node(s) didn't match pod topology spread constraints",
  missingLabel: "node(s) didn't match pod topology spread constraints (missing required label)",
} as const;

interface Counted {
  readonly constraint: TopologySpreadConstraint;
  readonly counts: Map<string, number>;
  /** The fewest matching pods in any domain (0 when there are fewer domains than minDomains). */
  readonly min: number;
  /** Whether the incoming pod itself matches the selector (it adds one to its domain). */
  readonly selfMatch: boolean;
}

export type SpreadContext = readonly Counted[];

function selectorOf(pod: Pod, constraint: TopologySpreadConstraint): LabelSelector {
  // matchLabelKeys: the pod's own values of these keys narrow the selector (one revision's pods).
  const ownValues = (constraint.matchLabelKeys ?? []).flatMap((key) => {
    const value = pod.metadata.labels?.[key];
    return value === undefined ? [] : [{ key, operator: 'Equals' as const, values: [value] }];
  });
  return [...selectorFromObject(constraint.labelSelector as LabelSelectorObject | undefined), ...ownValues];
}

export function spreadContext(
  pod: Pod,
  placed: Iterable<{ node: Node | undefined; pods: Iterable<Pod> }>,
): SpreadContext {
  const constraints = (pod.spec.topologySpreadConstraints ?? []).filter((c) => c.whenUnsatisfiable === 'DoNotSchedule');
  if (constraints.length === 0) return [];
  const nodes = [...placed]
    .filter((p): p is { node: Node; pods: Iterable<Pod> } => p.node !== undefined)
    .map((p) => ({ node: p.node, pods: [...p.pods] }));
  return constraints.map((constraint) => {
    const selector = selectorOf(pod, constraint);
    const counts = new Map<string, number>();
    for (const { node, pods } of nodes) {
      const domain = node.metadata.labels?.[constraint.topologyKey];
      if (domain === undefined) continue;
      if ((constraint.nodeAffinityPolicy ?? 'Honor') === 'Honor' && !nodeMatchesPodRequirements(pod, node)) continue;
      const matching = pods.filter(
        (p) =>
          p.metadata.namespace === pod.metadata.namespace &&
          !p.metadata.deletionTimestamp &&
          matchesLabels(selector, p.metadata.labels),
      ).length;
      counts.set(domain, (counts.get(domain) ?? 0) + matching);
    }
    const fewest = counts.size === 0 ? 0 : Math.min(...counts.values());
    const min = counts.size < (constraint.minDomains ?? 1) ? 0 : fewest;
    return { constraint, counts, min, selfMatch: matchesLabels(selector, pod.metadata.labels) };
  });
}

/** The reasons this node breaks a DoNotSchedule constraint; empty when it keeps every skew. */
export function spreadRefusal(spread: SpreadContext, node: Node): string[] {
  for (const { constraint, counts, min, selfMatch } of spread) {
    const domain = node.metadata.labels?.[constraint.topologyKey];
    if (domain === undefined) return [spreadReasons.missingLabel];
    const skew = (counts.get(domain) ?? 0) + (selfMatch ? 1 : 0) - min;
    if (skew > constraint.maxSkew) return [spreadReasons.skew];
  }
  return [];
}
