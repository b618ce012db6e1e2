/**
 * One scheduling decision, pure: the pod and the cluster state in, a node (or the reasons why
 * there is none) out. Filters first, until enough nodes fit (all of them in a small cluster), then
 * scores over the nodes that fit; ties are broken by the injected random source, as kube-scheduler
 * picks at random among equally good nodes.
 */
import type { Pod } from '../../kube/corev1.ts';
import type { ClusterState, NodeInfo } from './cluster-state.ts';
import { defaultFilters, firstRefusal, type Filter, type PodContext } from './filters.ts';
import { noNodesMessage, unschedulableMessage } from './failure-message.ts';
import { interPodDomains } from './inter-pod-affinity.ts';
import { podRequests } from './resources.ts';
import { spreadContext } from './topology-spread.ts';
import { podVolumes } from './volume-binding.ts';
import { defaultScorers, totalScores, type Scorer } from './scores.ts';

type Decision =
  /** `evaluated`: how many nodes the filters ran on (the next decision starts after them). */
  | { readonly kind: 'bind'; readonly node: string; readonly score: number; readonly evaluated: number }
  | {
      readonly kind: 'unschedulable';
      readonly message: string;
      readonly refusals: ReadonlyMap<string, readonly string[]>;
    };

export interface DecisionOptions {
  readonly filters?: readonly Filter[];
  readonly scorers?: readonly Scorer[];
  /** In [0, 1), like Math.random; tests pass a fixed source. */
  readonly random?: () => number;
  /**
   * Where in the name-ordered node list filtering starts when not every node is evaluated: the
   * scheduler moves it past the nodes each decision looked at, so every node gets its turn.
   */
  readonly startIndex?: number;
}

/**
 * How many feasible nodes are enough to choose from: kube-scheduler's adaptive
 * percentageOfNodesToScore. Every node below 100; above, 50 % less one point per 125 nodes (at
 * least 5 %), and never fewer than 100 nodes.
 */
export function feasibleNodesToFind(total: number): number {
  if (total < 100) return total;
  const percent = Math.max(5, 50 - Math.floor(total / 125));
  return Math.max(100, Math.floor((total * percent) / 100));
}

export function decide(pod: Pod, state: ClusterState, options: DecisionOptions = {}): Decision {
  const nodes = state.schedulableNodes();
  if (nodes.length === 0) return { kind: 'unschedulable', message: noNodesMessage, refusals: new Map() };
  const volumes = podVolumes(pod, state.storage);
  if (volumes.kind === 'unresolvable')
    return {
      kind: 'unschedulable',
      message: `0/${nodes.length} nodes are available: ${volumes.message}.`,
      refusals: new Map(),
    };
  const placed = () => nodes.map((info) => ({ node: info.node, pods: info.pods.values() }));
  const context: PodContext = {
    pod,
    requests: podRequests(pod),
    domains: interPodDomains(pod, placed(), state.anyPodHasAntiAffinity()),
    spread: spreadContext(pod, placed()),
    ...(volumes.pinned.length > 0 || volumes.delayed.length > 0 ? { volumes, storage: state.storage } : {}),
  };
  const feasible: NodeInfo[] = [];
  const refusals = new Map<string, readonly string[]>();
  const enough = feasibleNodesToFind(nodes.length);
  // with every node evaluated, the order stays the name order (decisions then do not depend on history)
  const start = enough < nodes.length ? (options.startIndex ?? 0) % nodes.length : 0;
  let evaluated = 0;
  while (evaluated < nodes.length && feasible.length < enough) {
    const info = nodes[(start + evaluated) % nodes.length]!;
    evaluated++;
    const refusal = firstRefusal(context, info, options.filters ?? defaultFilters);
    if (refusal.length === 0) feasible.push(info);
    else refusals.set(info.name, refusal);
  }
  if (feasible.length === 0)
    return { kind: 'unschedulable', message: unschedulableMessage(nodes.length, refusals), refusals };
  if (feasible.length === 1) return { kind: 'bind', node: feasible[0]!.name, score: 0, evaluated };
  const totals = totalScores(pod, feasible, options.scorers ?? defaultScorers);
  const best = Math.max(...totals);
  const winners = feasible.filter((_, i) => totals[i] === best);
  const random = options.random ?? Math.random;
  const chosen = winners[Math.min(winners.length - 1, Math.floor(random() * winners.length))]!;
  return { kind: 'bind', node: chosen.name, score: best, evaluated };
}
