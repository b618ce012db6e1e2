/**
 * Upstream's Priority admission. For new pods, `spec.priority` and `spec.preemptionPolicy` are
 * computed from `spec.priorityClassName` (or from the global default class), never taken from the
 * client: the number orders the scheduler's queue, decides who preempts whom and the node's
 * eviction order, so a tenant that wrote `priority: 2000001000` itself would be scheduled before
 * everyone and evicted after everyone, as if it were a node-critical system pod. A pod that brings a
 * number or policy other than its class's is refused (403) in upstream's words; a class that does
 * not exist is refused too. For PriorityClasses, at most one may be the global default. Pure: the
 * caller hands in the stored classes.
 */
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';

/** Values above this are reserved for the built-in system classes (upstream's HighestUserDefinablePriority). */
export const highestUserDefinablePriority = 1_000_000_000;
/** Names starting with this are reserved for the built-in classes. */
export const systemPriorityClassPrefix = 'system-';
export const defaultPreemptionPolicy = 'PreemptLowerPriority';

/** Upstream's built-in PriorityClasses, created by the server at start. */
export const systemPriorityClasses: readonly KubeObject[] = [
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-node-critical' },
    value: 2_000_001_000,
    description: 'Used for system critical pods that must not be moved from their current node.',
  },
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-cluster-critical' },
    value: 2_000_000_000,
    description:
      'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
  },
];

/** Why a class with a reserved name is not one of the built-in ones, or undefined when it is. */
export function unknownSystemClass(name: string, value: unknown, globalDefault: unknown): string | undefined {
  const known = systemPriorityClasses.find((c) => c.metadata.name === name);
  if (known === undefined) return `${name} is not a known system priority class`;
  if (known.value !== value) return `value of ${name} PriorityClass must be ${String(known.value)}`;
  if (globalDefault === true) return `globalDefault of ${name} PriorityClass must be false`;
  return undefined;
}

interface PriorityClassLike {
  metadata: { name?: string | undefined };
  value?: unknown;
  globalDefault?: unknown;
  preemptionPolicy?: unknown;
}

interface PodLike {
  metadata?: { name?: string };
  spec?: { priorityClassName?: unknown; priority?: unknown; preemptionPolicy?: unknown };
}

/** The global default class (the lowest value when several claim it, as upstream picks), if any. */
function globalDefaultOf<T extends PriorityClassLike>(classes: readonly T[]): T | undefined {
  let chosen: T | undefined;
  for (const c of classes)
    if (c.globalDefault === true && (chosen === undefined || Number(c.value) < Number(chosen.value))) chosen = c;
  return chosen;
}

/** Sets `spec.priority` (and the preemption policy) of a pod being created from its class, or throws 403 as upstream does. */
export function admitPodPriority(pod: PodLike, classes: readonly PriorityClassLike[]): void {
  // a pod without a spec is refused by validation, which names the field
  if (pod.spec === undefined) return;
  const spec = pod.spec;
  const refuse = (why: string) => {
    const name = pod.metadata?.name ?? '';
    return new ApiError('Forbidden', `${name === '' ? 'pods' : `pods "${name}"`} is forbidden: ${why}`);
  };
  const className = typeof spec.priorityClassName === 'string' ? spec.priorityClassName : '';
  let priority = 0;
  let policy: unknown = defaultPreemptionPolicy;
  if (className === '') {
    const fallback = globalDefaultOf(classes);
    if (fallback !== undefined) {
      spec.priorityClassName = fallback.metadata.name;
      priority = Number(fallback.value);
      policy = fallback.preemptionPolicy;
    }
  } else {
    const found = classes.find((c) => c.metadata.name === className);
    if (found === undefined) throw refuse(`no PriorityClass with name ${className} was found`);
    priority = Number(found.value);
    policy = found.preemptionPolicy;
  }
  const given = spec.priority;
  if (given !== undefined && given !== null && given !== priority) {
    throw refuse(
      `the integer value of priority (${String(given)}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`,
    );
  }
  spec.priority = priority;
  if (typeof policy !== 'string') return;
  const givenPolicy = spec.preemptionPolicy;
  if (givenPolicy !== undefined && givenPolicy !== null && givenPolicy !== policy) {
    throw refuse(
      `the string value of PreemptionPolicy (${String(givenPolicy)}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`,
    );
  }
  spec.preemptionPolicy = policy;
}

/** Refuses (403) a second global default class, as upstream's Priority admission does. */
export function admitPriorityClass(priorityClass: PriorityClassLike, stored: readonly PriorityClassLike[]): void {
  if (priorityClass.globalDefault !== true) return;
  const name = priorityClass.metadata.name ?? '';
  const other = stored.find((c) => c.globalDefault === true && c.metadata.name !== name);
  if (other === undefined) return;
  throw new ApiError(
    'Forbidden',
    `priorityclasses.scheduling.k8s.io "${name}" is forbidden: PriorityClass ${other.metadata.name ?? ''} is already marked as default. Only one default can exist`,
  );
}
