/**
 * Carries out an eviction (pods/<name>/eviction) as `eviction-plan.ts` decides it: spends the
 * PodDisruptionBudget's allowance on the very version of the budget that was judged (a concurrent
 * eviction makes the write conflict, and the decision is made again on the fresh budget), marks the
 * pod with the DisruptionTarget condition, then deletes it with the Eviction's own DeleteOptions.
 */
import { ApiError, isApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';
import { apiTime } from '../../kube/api-time.ts';
import type { PodDisruptionBudget } from '../controllers/disruption.ts';
import { budgetBeingProcessed, planEviction } from './eviction-plan.ts';
import type { DeleteOptions, Registry } from './registry.ts';
import { isDryRun } from './request-context.ts';
import { findResource, type ResourceInfo } from './resources.ts';

/** Attempts when a budget keeps changing under concurrent evictions (upstream retries on conflict too). */
const attempts = 20;

const budgets = findResource('policy', 'v1', 'poddisruptionbudgets')!;

type EvictionOutcome = { readonly evicted: KubeObject } | { readonly failure: { code: number; message: string } };

interface PodCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** The pod with DisruptionTarget=True (reason EvictionByEvictionAPI), as upstream marks an evicted pod. */
function withDisruptionTarget(pod: KubeObject, now: string): KubeObject {
  const status = (pod.status ?? {}) as { conditions?: PodCondition[] };
  const conditions = status.conditions ?? [];
  const old = conditions.find((c) => c.type === 'DisruptionTarget');
  const next: PodCondition = {
    type: 'DisruptionTarget',
    status: 'True',
    reason: 'EvictionByEvictionAPI',
    message: 'Eviction API: evicting',
    lastTransitionTime: old?.status === 'True' && old.lastTransitionTime ? old.lastTransitionTime : now,
  };
  return {
    ...pod,
    status: { ...status, conditions: [...conditions.filter((c) => c.type !== 'DisruptionTarget'), next] },
  };
}

export class PodEviction {
  readonly #registry: Registry;
  readonly #now: () => Date;

  constructor(registry: Registry, now: () => Date = () => new Date()) {
    this.#registry = registry;
    this.#now = now;
  }

  async evict(pods: ResourceInfo, namespace: string, name: string, options: DeleteOptions): Promise<EvictionOutcome> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const pod = await this.#registry.get(pods, namespace, name);
      const covering = (await this.#registry.list(budgets, namespace)).items as PodDisruptionBudget[];
      const step = planEviction(pod, covering, this.#now());
      switch (step.kind) {
        case 'refuse':
          throw step.error;
        case 'severalBudgets':
          return { failure: { code: 500, message: step.message } };
        case 'delete':
          return { evicted: await this.#markAndDelete(pods, namespace, name, options) };
        case 'deleteUnready': {
          if (options.preconditions?.resourceVersion)
            return { evicted: await this.#markAndDelete(pods, namespace, name, options) };
          const pinned = {
            ...options,
            preconditions: { ...options.preconditions, resourceVersion: pod.metadata.resourceVersion! },
          };
          try {
            return { evicted: await this.#markAndDelete(pods, namespace, name, pinned) };
          } catch (err) {
            // the pod changed since it was judged unready: the client should ask again
            if (isApiError(err, 'Conflict')) throw budgetBeingProcessed(step.budget);
            throw err;
          }
        }
        case 'spend': {
          const judged = step.budget.metadata.resourceVersion;
          try {
            await this.#registry.guaranteedUpdate(
              budgets,
              namespace,
              step.budget.metadata.name ?? '',
              'status',
              (current) => {
                if (current.metadata.resourceVersion !== judged)
                  throw new ApiError('Conflict', 'the disruption budget changed while the eviction was judged');
                return { ...current, status: step.status };
              },
            );
          } catch (err) {
            if (isApiError(err, 'Conflict')) continue;
            throw err;
          }
          return { evicted: await this.#markAndDelete(pods, namespace, name, options) };
        }
      }
    }
    throw new ApiError('Timeout', `couldn't update PodDisruptionBudget due to conflicts`, { retryAfterSeconds: 10 });
  }

  /** DisruptionTarget first (on the version the preconditions name), then the delete as the client asked. */
  async #markAndDelete(
    pods: ResourceInfo,
    namespace: string,
    name: string,
    options: DeleteOptions,
  ): Promise<KubeObject> {
    let deleting = options;
    if (!isDryRun()) {
      const pre = options.preconditions;
      const marked = await this.#registry.guaranteedUpdate(pods, namespace, name, 'status', (current) => {
        if (pre?.uid && pre.uid !== current.metadata.uid)
          throw new ApiError(
            'Conflict',
            `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
          );
        if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion)
          throw new ApiError(
            'Conflict',
            `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
          );
        return withDisruptionTarget(current, apiTime(this.#now()));
      });
      // the condition is our own write: the version the client pinned is now the marked one
      if (pre?.resourceVersion)
        deleting = { ...options, preconditions: { ...pre, resourceVersion: marked.metadata.resourceVersion! } };
    }
    return (await this.#registry.delete(pods, namespace, name, deleting)).object;
  }
}
