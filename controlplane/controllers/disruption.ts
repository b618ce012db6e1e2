/**
 * The disruption controller's planner (upstream's pkg/controller/disruption): for one
 * PodDisruptionBudget, how many of its pods are healthy, how many must stay healthy, and so how
 * many may be evicted now. Evictions (pods/<name>/eviction) spend that allowance and note the pod
 * in `disruptedPods`; the planner keeps such a note until the pod is seen going, or for two minutes
 * (the eviction may have failed after all), and does not count the pod as healthy meanwhile.
 *
 * `minAvailable` as a number counts against the pods found; `maxUnavailable` and a percentage
 * count against the scale of the pods' controllers (a Deployment scaled to 5 expects 5 pods even
 * while two are missing). Pods without a controller are ignored for those; a pod whose controller
 * cannot be found makes the budget allow nothing (SyncFailed), as upstream fails safe.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Pod } from '../../kube/corev1.ts';
import { matchesLabels, selectorFromObject, type LabelSelectorObject } from '../../kube/labels.ts';
import type { KubeObject } from '../../kube/types.ts';
import { apiTime } from '../../kube/api-time.ts';
import type { Plan } from './actions.ts';
import type { Caches } from './manager.ts';
import { scaledValue } from './int-or-percent.ts';
import { controllerOf, isReady } from './pods.ts';
import type { IntOrString } from '../../kube/corev1.ts';

/** How long an eviction's note in disruptedPods holds before the pod is counted again (upstream's DeletionTimeout). */
const disruptedPodTimeoutMs = 2 * 60 * 1000;

export interface PodDisruptionBudget extends KubeObject {
  spec?: {
    minAvailable?: IntOrString;
    maxUnavailable?: IntOrString;
    selector?: LabelSelectorObject | null;
    unhealthyPodEvictionPolicy?: 'IfHealthyBudget' | 'AlwaysAllow';
  };
  status?: PodDisruptionBudgetStatus;
}

export interface BudgetCondition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface PodDisruptionBudgetStatus {
  observedGeneration?: number;
  disruptedPods?: Record<string, string>;
  disruptionsAllowed: number;
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  conditions?: BudgetCondition[];
}

/** Whether the budget covers the pod: a missing selector covers none, an empty one every pod of the namespace. */
export function budgetSelects(budget: PodDisruptionBudget, pod: KubeObject): boolean {
  const selector = budget.spec?.selector;
  if (selector === undefined || selector === null) return false;
  if (budget.metadata.namespace !== pod.metadata.namespace) return false;
  return matchesLabels(selectorFromObject(selector), pod.metadata.labels);
}

/**
 * The replicas a pod's controller asks for, by its controller reference, and whose they are (a
 * ReplicaSet's pods count towards its Deployment, once however many ReplicaSets it has).
 */
export type ScaleOf = (
  namespace: string,
  kind: string,
  name: string,
  uid: string,
) => { readonly owner: string; readonly replicas: number } | undefined;

/** The sum of the scales of the pods' controllers; pods without one are left out (upstream's unmanaged pods). */
function expectedScale(pods: readonly Pod[], scaleOf: ScaleOf): number {
  const counted = new Set<string>();
  let total = 0;
  for (const pod of pods) {
    const ref = controllerOf(pod);
    if (ref === undefined) continue;
    const scale = scaleOf(pod.metadata.namespace ?? '', ref.kind, ref.name, ref.uid);
    if (scale === undefined) throw new Error(`found no controllers for pod "${pod.metadata.name ?? ''}"`);
    if (counted.has(scale.owner)) continue;
    counted.add(scale.owner);
    total += scale.replicas;
  }
  return total;
}

/** How many pods are expected and how many must stay healthy. */
function budgetTargets(
  budget: PodDisruptionBudget,
  pods: readonly Pod[],
  scaleOf: ScaleOf,
): { expected: number; desired: number } {
  const { minAvailable, maxUnavailable } = budget.spec ?? {};
  if (maxUnavailable !== undefined && maxUnavailable !== null) {
    const expected = expectedScale(pods, scaleOf);
    return { expected, desired: Math.max(0, expected - scaledValue(maxUnavailable, expected, true, 0)) };
  }
  if (minAvailable !== undefined && minAvailable !== null) {
    if (typeof minAvailable === 'number') return { expected: pods.length, desired: minAvailable };
    const expected = expectedScale(pods, scaleOf);
    return { expected, desired: scaledValue(minAvailable, expected, true, 0) };
  }
  return { expected: 0, desired: 0 };
}

/** The notes of disruptedPods still in force, and when the earliest of them runs out. */
function liveDisruptions(
  budget: PodDisruptionBudget,
  pods: readonly Pod[],
  now: Date,
): { disrupted: Record<string, string>; expiresAt: number | undefined } {
  const byName = new Map(pods.map((p) => [p.metadata.name ?? '', p]));
  const disrupted: Record<string, string> = {};
  let expiresAt: number | undefined;
  for (const [name, when] of Object.entries(budget.status?.disruptedPods ?? {})) {
    const pod = byName.get(name);
    // gone or going: the eviction took effect
    if (pod === undefined || pod.metadata.deletionTimestamp) continue;
    const until = Date.parse(when) + disruptedPodTimeoutMs;
    if (!(until > now.getTime())) continue;
    disrupted[name] = when;
    expiresAt = expiresAt === undefined ? until : Math.min(expiresAt, until);
  }
  return { disrupted, expiresAt };
}

function condition(
  previous: readonly BudgetCondition[] | undefined,
  next: Omit<BudgetCondition, 'lastTransitionTime'>,
  now: Date,
): BudgetCondition {
  const old = previous?.find((c) => c.type === next.type);
  const lastTransitionTime = old !== undefined && old.status === next.status ? old.lastTransitionTime : apiTime(now);
  return { ...next, lastTransitionTime };
}

/** The status the budget should have, from its pods and their controllers' scale. */
export function budgetStatus(
  budget: PodDisruptionBudget,
  pods: readonly Pod[],
  scaleOf: ScaleOf,
  now: Date,
): { status: PodDisruptionBudgetStatus; recheckAt: number | undefined } {
  const generation = budget.metadata.generation;
  const covered = pods.filter((p) => budgetSelects(budget, p));
  const { disrupted, expiresAt } = liveDisruptions(budget, covered, now);
  const stamp = (s: Omit<PodDisruptionBudgetStatus, 'observedGeneration'>): PodDisruptionBudgetStatus => ({
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    ...s,
  });
  let targets: { expected: number; desired: number };
  try {
    targets = budgetTargets(budget, covered, scaleOf);
  } catch (err) {
    const failed = condition(
      budget.status?.conditions,
      {
        type: 'DisruptionAllowed',
        status: 'False',
        reason: 'SyncFailed',
        message: (err as Error).message,
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
      },
      now,
    );
    const previous = budget.status;
    return {
      status: stamp({
        disruptedPods: disrupted,
        disruptionsAllowed: 0,
        currentHealthy: previous?.currentHealthy ?? 0,
        desiredHealthy: previous?.desiredHealthy ?? 0,
        expectedPods: previous?.expectedPods ?? 0,
        conditions: [failed],
      }),
      recheckAt: expiresAt,
    };
  }
  const healthy = covered.filter(
    (p) => !p.metadata.deletionTimestamp && !((p.metadata.name ?? '') in disrupted) && isReady(p),
  ).length;
  const allowed = targets.expected <= 0 ? 0 : Math.max(0, healthy - targets.desired);
  const allowedCondition = condition(
    budget.status?.conditions,
    {
      type: 'DisruptionAllowed',
      status: allowed > 0 ? 'True' : 'False',
      reason: allowed > 0 ? 'SufficientPods' : 'InsufficientPods',
      message: '',
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    },
    now,
  );
  return {
    status: stamp({
      disruptedPods: disrupted,
      disruptionsAllowed: allowed,
      currentHealthy: healthy,
      desiredHealthy: targets.desired,
      expectedPods: targets.expected,
      conditions: [allowedCondition],
    }),
    recheckAt: expiresAt,
  };
}

/** The scale of a pod's controller as the controller caches know it (a Deployment's for its ReplicaSets). */
export function scaleFromCaches(caches: Caches): ScaleOf {
  const replicasOf = (object: KubeObject | undefined, uid: string) => {
    if (object === undefined || object.metadata.uid !== uid) return undefined;
    return { owner: uid, replicas: (object as { spec?: { replicas?: number } }).spec?.replicas ?? 1 };
  };
  return (namespace, kind, name, uid) => {
    const key = `${namespace}/${name}`;
    switch (kind) {
      case 'ReplicaSet': {
        const rs = caches.get('replicasets', key);
        const deployment = rs === undefined ? undefined : controllerOf(rs);
        if (deployment?.kind === 'Deployment')
          return replicasOf(caches.get('deployments', `${namespace}/${deployment.name}`), deployment.uid);
        return replicasOf(rs, uid);
      }
      case 'ReplicationController':
        return replicasOf(caches.get('replicationcontrollers', key), uid);
      case 'StatefulSet':
        return replicasOf(caches.get('statefulsets', key), uid);
      default:
        return undefined;
    }
  };
}

/** A status write when anything but the conditions' times changed; a recheck when a note runs out. */
export function planDisruptionBudget(
  budget: PodDisruptionBudget,
  pods: readonly Pod[],
  scaleOf: ScaleOf,
  now: Date,
): Plan {
  const { status, recheckAt } = budgetStatus(budget, pods, scaleOf, now);
  const unchanged = isDeepStrictEqual(status, budget.status);
  return {
    actions: unchanged
      ? []
      : [{ kind: 'updateStatus', resource: 'poddisruptionbudgets', object: { ...budget, status }, strict: true }],
    ...(recheckAt !== undefined ? { requeueAfterMs: Math.max(0, recheckAt - now.getTime()) + 1 } : {}),
  };
}
