/**
 * Preemption, kube-scheduler's DefaultPreemption PostFilter, pure: when a pod fits nowhere, find the
 * node where deleting pods of lower priority makes it fit, and which pods. On each node whose
 * refusal another pod's departure could cure (resources, pod count, host ports, anti-affinity):
 * take away every lower-priority pod that is not already going; if the pod fits then, give back as
 * many as possible, the most important first and those whose eviction would break a
 * PodDisruptionBudget before the others, so the victims are the fewest and least important. The
 * node chosen has, in this order: the fewest budget violations, the lowest most-important victim,
 * the lowest sum of victim priorities, the fewest victims, then comes first by name.
 * A pod whose preemptionPolicy is Never never preempts.
 */
import type { Pod } from '../../kube/corev1.ts';
import { budgetSelects, type PodDisruptionBudget } from '../controllers/disruption.ts';
import { ClusterState, podKey, type NodeInfo } from './cluster-state.ts';
import { defaultFilters, firstRefusal, reasons, type Filter, type PodContext } from './filters.ts';

export interface PreemptionChoice {
  readonly node: string;
  /** Most important first. */
  readonly victims: readonly Pod[];
  /** Victims whose eviction goes beyond what their budget allows. */
  readonly budgetViolations: number;
}

const priorityOf = (pod: Pod): number => pod.spec.priority ?? 0;

/** Refusals that pods leaving the node can cure; any other reason (taints, affinity, cordon) cannot. */
function curable(refusal: readonly string[]): boolean {
  return refusal.every(
    (reason) =>
      reason === reasons.tooManyPods ||
      reason === reasons.ports ||
      reason === reasons.antiAffinity ||
      reason === reasons.existingAntiAffinity ||
      reason.startsWith('Insufficient '),
  );
}

/** Higher priority first; at equal priority the pod that started earlier (it has run longer). */
function moreImportantFirst(a: Pod, b: Pod): number {
  const byPriority = priorityOf(b) - priorityOf(a);
  if (byPriority !== 0) return byPriority;
  const started = (p: Pod) => Date.parse(p.status?.startTime ?? p.metadata.creationTimestamp ?? '') || 0;
  return started(a) - started(b);
}

/** Splits candidates into those whose eviction a budget does not allow and the rest, spending each budget's allowance in order. */
function byBudget(candidates: readonly Pod[], budgets: readonly PodDisruptionBudget[]): [Pod[], Pod[]] {
  const left = new Map<PodDisruptionBudget, number>(budgets.map((b) => [b, b.status?.disruptionsAllowed ?? 0]));
  const violating: Pod[] = [];
  const fine: Pod[] = [];
  for (const pod of candidates) {
    let breaks = false;
    for (const budget of budgets) {
      if (!budgetSelects(budget, pod)) continue;
      // an eviction already counted by the budget costs nothing more
      if ((pod.metadata.name ?? '') in (budget.status?.disruptedPods ?? {})) continue;
      const remaining = (left.get(budget) ?? 0) - 1;
      left.set(budget, remaining);
      if (remaining < 0) breaks = true;
    }
    (breaks ? violating : fine).push(pod);
  }
  return [violating, fine];
}

/** The fewest and least important victims on one node that let the pod fit, or undefined. */
function victimsOn(
  context: PodContext,
  info: NodeInfo,
  budgets: readonly PodDisruptionBudget[],
  filters: readonly Filter[] = defaultFilters,
): PreemptionChoice | undefined {
  if (info.node === undefined) return undefined;
  const priority = priorityOf(context.pod);
  const candidates: Pod[] = [];
  const staying: Pod[] = [];
  for (const pod of info.pods.values()) {
    if (priorityOf(pod) < priority && pod.metadata.deletionTimestamp === undefined) candidates.push(pod);
    else staying.push(pod);
  }
  if (candidates.length === 0) return undefined;
  const scratch = new ClusterState();
  scratch.setNode(info.node);
  for (const pod of staying) scratch.setPod(pod, info.name);
  const fits = () => firstRefusal(context, scratch.schedulableNodes()[0]!, filters).length === 0;
  if (!fits()) return undefined;
  candidates.sort(moreImportantFirst);
  const [violating, fine] = byBudget(candidates, budgets);
  const victims: Pod[] = [];
  let budgetViolations = 0;
  const giveBack = (pod: Pod, breaksBudget: boolean) => {
    scratch.setPod(pod, info.name);
    if (fits()) return;
    scratch.removePod(podKey(pod));
    victims.push(pod);
    if (breaksBudget) budgetViolations++;
  };
  for (const pod of violating) giveBack(pod, true);
  for (const pod of fine) giveBack(pod, false);
  victims.sort(moreImportantFirst);
  return { node: info.name, victims, budgetViolations };
}

/** Orders candidate nodes by kube-scheduler's preference (the best first). */
function better(a: PreemptionChoice, b: PreemptionChoice): number {
  if (a.budgetViolations !== b.budgetViolations) return a.budgetViolations - b.budgetViolations;
  const highest = (c: PreemptionChoice) => (c.victims[0] ? priorityOf(c.victims[0]) : -Infinity);
  if (highest(a) !== highest(b)) return highest(a) - highest(b);
  // each victim counts above any priority, so a lower sum also means fewer victims among equals
  const sum = (c: PreemptionChoice) => c.victims.reduce((total, v) => total + priorityOf(v) + 2 ** 31, 0);
  if (sum(a) !== sum(b)) return sum(a) - sum(b);
  return a.victims.length - b.victims.length;
}

/**
 * The node to preempt on and its victims, or undefined when preemption cannot help. `refusals` is
 * the failed decision's: which nodes said no and why.
 */
export function choosePreemption(
  context: PodContext,
  state: ClusterState,
  refusals: ReadonlyMap<string, readonly string[]>,
  budgets: readonly PodDisruptionBudget[],
  filters: readonly Filter[] = defaultFilters,
): PreemptionChoice | undefined {
  if (context.pod.spec.preemptionPolicy === 'Never') return undefined;
  let best: PreemptionChoice | undefined;
  for (const info of state.schedulableNodes()) {
    const refusal = refusals.get(info.name);
    if (refusal === undefined || !curable(refusal)) continue;
    const choice = victimsOn(context, info, budgets, filters);
    if (choice !== undefined && (best === undefined || better(choice, best) < 0)) best = choice;
  }
  return best;
}

/**
 * Whether the pod may preempt now: not while lower-priority pods on the node it was nominated for
 * are still going (their room is on its way; preempting again would take more than needed).
 */
export function mayPreempt(pod: Pod, nominated: NodeInfo | undefined): boolean {
  if (pod.spec.preemptionPolicy === 'Never') return false;
  if (nominated === undefined) return true;
  for (const other of nominated.pods.values())
    if (other.metadata.deletionTimestamp !== undefined && priorityOf(other) < priorityOf(pod)) return false;
  return true;
}
