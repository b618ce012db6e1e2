/**
 * What an eviction (pods/<name>/eviction) may do, as upstream's eviction REST decides it
 * (pkg/registry/core/pod/storage/eviction.go). Pure: the pod and its namespace's
 * PodDisruptionBudgets in, one step out; `eviction.ts` carries it out.
 *
 *  - a pod that is not running yet, has finished or is already going is deleted without asking any
 *    budget (it is not available anyway);
 *  - a pod covered by several budgets is not evicted (500, upstream's words);
 *  - an unready pod may go without spending the budget when the budget's policy is AlwaysAllow, or
 *    (IfHealthyBudget, the default) when the application is healthy enough without it; the delete is
 *    then made on the pod's version seen here, so a pod that became ready meanwhile is not taken;
 *  - otherwise the budget must allow a disruption: the allowance goes down by one and the pod is
 *    noted in `disruptedPods` (on the budget's version seen here), or the eviction is 429.
 */
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';
import { apiTime } from '../../kube/api-time.ts';
import {
  budgetSelects,
  type BudgetCondition,
  type PodDisruptionBudget,
  type PodDisruptionBudgetStatus,
} from '../controllers/disruption.ts';

/** Evictions the disruption controller has not confirmed yet, beyond which a budget refuses more (upstream's MaxDisruptedPodSize). */
const maxDisruptedPods = 2000;

const violationMessage = "Cannot evict pod as it would violate the pod's disruption budget.";

type EvictionStep =
  /** Delete as asked; no budget is involved. */
  | { readonly kind: 'delete' }
  /** Delete only the pod version seen (it must not have become ready meanwhile); the budget is not spent. */
  | { readonly kind: 'deleteUnready'; readonly budget: string }
  /** Write this status on the budget version seen, then delete. */
  | { readonly kind: 'spend'; readonly budget: PodDisruptionBudget; readonly status: PodDisruptionBudgetStatus }
  | { readonly kind: 'refuse'; readonly error: ApiError }
  /** Upstream answers a Status with code 500 and no reason. */
  | { readonly kind: 'severalBudgets'; readonly message: string };

interface PodLike extends KubeObject {
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

const isReady = (pod: PodLike) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/** 429 with a DisruptionBudget cause, as upstream's eviction answers while a budget holds. */
function budgetViolation(cause: string, retryAfterSeconds?: number): ApiError {
  return new ApiError('TooManyRequests', violationMessage, {
    causes: [{ reason: 'DisruptionBudget', message: cause }],
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  });
}

/** 429 while the budget's status is not yet about its current spec, or a pod changed under us. */
export function budgetBeingProcessed(name: string): ApiError {
  return budgetViolation(`The disruption budget ${name} is still being processed by the server.`, 10);
}

function forbidden(budget: string, why: string): ApiError {
  return new ApiError('Forbidden', `poddisruptionbudget.policy "${budget}" is forbidden: ${why}`);
}

/** The DisruptionAllowed condition once the allowance reached zero (its time kept if it was already False). */
function exhausted(conditions: readonly BudgetCondition[] | undefined, generation: number | undefined, now: Date) {
  const old = conditions?.find((c) => c.type === 'DisruptionAllowed');
  const next: BudgetCondition = {
    type: 'DisruptionAllowed',
    status: 'False',
    reason: 'InsufficientPods',
    message: '',
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime: old?.status === 'False' ? old.lastTransitionTime : apiTime(now),
  };
  return [...(conditions ?? []).filter((c) => c.type !== 'DisruptionAllowed'), next];
}

export function planEviction(pod: PodLike, budgets: readonly PodDisruptionBudget[], now: Date): EvictionStep {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || pod.metadata.deletionTimestamp)
    return { kind: 'delete' };
  const covering = budgets.filter((b) => budgetSelects(b, pod));
  if (covering.length > 1)
    return {
      kind: 'severalBudgets',
      message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
    };
  const budget = covering[0];
  if (budget === undefined) return { kind: 'delete' };
  const name = budget.metadata.name ?? '';
  const status = budget.status ?? {
    disruptionsAllowed: 0,
    currentHealthy: 0,
    desiredHealthy: 0,
    expectedPods: 0,
  };
  if (!isReady(pod)) {
    if (budget.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow') return { kind: 'deleteUnready', budget: name };
    if (status.currentHealthy >= status.desiredHealthy && status.desiredHealthy > 0)
      return { kind: 'deleteUnready', budget: name };
  }
  if ((status.observedGeneration ?? 0) < (budget.metadata.generation ?? 0))
    return { kind: 'refuse', error: budgetBeingProcessed(name) };
  if (status.disruptionsAllowed < 0)
    return { kind: 'refuse', error: forbidden(name, 'pdb disruptions allowed is negative') };
  if (Object.keys(status.disruptedPods ?? {}).length > maxDisruptedPods)
    return {
      kind: 'refuse',
      error: forbidden(name, 'DisruptedPods map too big - too many evictions not confirmed by PDB controller'),
    };
  if (status.disruptionsAllowed === 0)
    return {
      kind: 'refuse',
      error: budgetViolation(
        `The disruption budget ${name} needs ${status.desiredHealthy} healthy pods and has ${status.currentHealthy} currently`,
      ),
    };
  const allowed = status.disruptionsAllowed - 1;
  return {
    kind: 'spend',
    budget,
    status: {
      ...status,
      disruptionsAllowed: allowed,
      disruptedPods: { ...status.disruptedPods, [pod.metadata.name ?? '']: apiTime(now) },
      ...(allowed === 0 ? { conditions: exhausted(status.conditions, budget.metadata.generation, now) } : {}),
    },
  };
}
