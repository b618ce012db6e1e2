/**
 * Scores: among the nodes that fit, which is best? Each scorer gives every feasible node 0..100
 * (after its own normalisation across nodes); the total is the weighted sum. Weights are
 * kube-scheduler's defaults for the matching plugins.
 */
import type { Pod } from '../../kube/corev1.ts';
import { controllerUid, type NodeInfo } from './cluster-state.ts';
import { preferredAffinityWeight } from './node-affinity.ts';
import { podRequestsForScoring } from './resources.ts';
import { toleratedByAny } from './taints.ts';

const maxNodeScore = 100;

export interface Scorer {
  readonly name: string;
  readonly weight: number;
  /** Raw scores for the feasible nodes, in their order; normalised to 0..100 by the scorer. */
  readonly score: (pod: Pod, nodes: readonly NodeInfo[]) => number[];
}

function fraction(requested: number, allocatable: number): number {
  if (allocatable <= 0) return 1;
  return Math.min(1, requested / allocatable);
}

/** CPU and memory use of a node if the pod went there, as fractions of allocatable. */
function usageWith(pod: Pod, nodes: readonly NodeInfo[]): { cpu: number; memory: number }[] {
  const own = podRequestsForScoring(pod);
  return nodes.map((info) => ({
    cpu: fraction(info.scoringRequested.milliCpu + own.milliCpu, info.allocatable.get('cpu') ?? 0),
    memory: fraction(info.scoringRequested.memory + own.memory, info.allocatable.get('memory') ?? 0),
  }));
}

/** Favour nodes with the most room left, CPU and memory weighted equally (LeastAllocated). */
const leastAllocated: Scorer = {
  name: 'NodeResourcesFit',
  weight: 1,
  score: (pod, nodes) =>
    usageWith(pod, nodes).map(({ cpu, memory }) => Math.trunc(((2 - cpu - memory) / 2) * maxNodeScore)),
};

/** Favour nodes where CPU and memory would be used in the same proportion (BalancedAllocation). */
const balancedAllocation: Scorer = {
  name: 'NodeResourcesBalancedAllocation',
  weight: 1,
  // The standard deviation of two values is half their distance.
  score: (pod, nodes) =>
    usageWith(pod, nodes).map(({ cpu, memory }) => Math.trunc((1 - Math.abs(cpu - memory) / 2) * maxNodeScore)),
};

/** Scale raw values so the best node gets 100 (or all 0 when nobody scored). */
function scaleToMax(raw: number[]): number[] {
  const top = Math.max(0, ...raw);
  return top === 0 ? raw.map(() => 0) : raw.map((value) => Math.trunc((value * maxNodeScore) / top));
}

/** Scale counts of something bad so the node with the fewest gets 100. */
function scaleInverse(raw: number[]): number[] {
  const top = Math.max(0, ...raw);
  return top === 0
    ? raw.map(() => maxNodeScore)
    : raw.map((value) => maxNodeScore - Math.trunc((value * maxNodeScore) / top));
}

const preferredNodeAffinity: Scorer = {
  name: 'NodeAffinity',
  weight: 2,
  score: (pod, nodes) => scaleToMax(nodes.map((info) => preferredAffinityWeight(pod, info.node!))),
};

/** Fewer untolerated PreferNoSchedule taints is better. */
const taintPreference: Scorer = {
  name: 'TaintToleration',
  weight: 3,
  score: (pod, nodes) => {
    const tolerations = (pod.spec.tolerations ?? []).filter(
      (t) => t.effect === undefined || t.effect === '' || t.effect === 'PreferNoSchedule',
    );
    return scaleInverse(
      nodes.map(
        (info) =>
          info.taints.filter((taint) => taint.effect === 'PreferNoSchedule' && !toleratedByAny(tolerations, taint))
            .length,
      ),
    );
  },
};

const zoneLabel = 'topology.kubernetes.io/zone';
/** How much the zone counts against the node when nodes have zones (upstream's two thirds). */
const zoneWeighting = 2 / 3;

/**
 * Pods of one controller spread over nodes and, where nodes carry a zone label, over zones: fewer
 * siblings on the node and in its zone is better, the zone weighing twice as much as the node so
 * that a zone outage takes out as few replicas as possible.
 */
const ownerSpreading: Scorer = {
  name: 'SelectorSpread',
  weight: 2,
  score: (pod, nodes) => {
    const owner = controllerUid(pod);
    if (owner === undefined) return nodes.map(() => maxNodeScore);
    const counts = nodes.map((info) => info.ownerCounts.get(owner) ?? 0);
    const zones = nodes.map((info) => info.node?.metadata.labels?.[zoneLabel]);
    const perZone = new Map<string, number>();
    zones.forEach((zone, i) => zone !== undefined && perZone.set(zone, (perZone.get(zone) ?? 0) + counts[i]!));
    const maxNode = Math.max(0, ...counts);
    const maxZone = Math.max(0, ...perZone.values());
    return nodes.map((_, i) => {
      let score = maxNode > 0 ? (maxNodeScore * (maxNode - counts[i]!)) / maxNode : maxNodeScore;
      const zone = zones[i];
      if (zone !== undefined) {
        const zoneScore = maxZone > 0 ? (maxNodeScore * (maxZone - perZone.get(zone)!)) / maxZone : maxNodeScore;
        score = score * (1 - zoneWeighting) + zoneScore * zoneWeighting;
      }
      return Math.trunc(score);
    });
  },
};

export const defaultScorers: readonly Scorer[] = [
  leastAllocated,
  balancedAllocation,
  preferredNodeAffinity,
  taintPreference,
  ownerSpreading,
];

export function totalScores(
  pod: Pod,
  nodes: readonly NodeInfo[],
  scorers: readonly Scorer[] = defaultScorers,
): number[] {
  const totals = nodes.map(() => 0);
  for (const scorer of scorers) {
    const scores = scorer.score(pod, nodes);
    for (let i = 0; i < totals.length; i++) totals[i]! += scorer.weight * (scores[i] ?? 0);
  }
  return totals;
}
