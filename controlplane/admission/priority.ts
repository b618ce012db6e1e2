/**
 * Upstream's Priority admission for new pods: `spec.priority` is computed from
 * `spec.priorityClassName`, never taken from the client. The number orders the scheduler's queue and
 * the node's evictions, so a tenant that wrote `priority: 2000001000` itself would be scheduled
 * before everyone and evicted after everyone, as if it were a node-critical system pod. A pod that
 * brings a number other than its class's is refused (403) in upstream's words; a class that does
 * not exist is refused too. No PriorityClass API is served: the classes are upstream's two built-in
 * ones, and a pod without a class gets 0 (no class is the global default). Pure.
 */
import { ApiError } from '../../kube/errors.ts';

/** Upstream's built-in PriorityClasses (scheduling.k8s.io: SystemClusterCritical, SystemNodeCritical). */
const builtInPriorityClasses: Readonly<Record<string, number>> = {
  'system-cluster-critical': 2_000_000_000,
  'system-node-critical': 2_000_001_000,
};

interface PodLike {
  metadata?: { name?: string };
  spec?: { priorityClassName?: unknown; priority?: unknown };
}

/** Sets `spec.priority` of a pod being created from its class, or throws 403 as upstream does. */
export function admitPodPriority(pod: PodLike): void {
  // a pod without a spec is refused by validation, which names the field
  if (pod.spec === undefined) return;
  const className = typeof pod.spec.priorityClassName === 'string' ? pod.spec.priorityClassName : '';
  const refuse = (why: string) => {
    const name = pod.metadata?.name ?? '';
    return new ApiError('Forbidden', `${name === '' ? 'pods' : `pods "${name}"`} is forbidden: ${why}`);
  };
  let computed = 0;
  if (className !== '') {
    const value = builtInPriorityClasses[className];
    if (value === undefined) throw refuse(`no PriorityClass with name ${className} was found`);
    computed = value;
  }
  const given = pod.spec.priority;
  if (given !== undefined && given !== null && given !== computed) {
    throw refuse(
      `the integer value of priority (${String(given)}) must not be provided in pod spec; priority admission controller computed ${computed} from the given PriorityClass name`,
    );
  }
  pod.spec.priority = computed;
}
