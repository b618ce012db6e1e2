/**
 * Which changes to a pod from the API its worker has to act on. The agent writes each pod's
 * status, and every write comes back through the watch as an update of the same pod: syncing the
 * worker for it would ask the runtime about the pod once more for nothing (two list calls while
 * other pods are starting). As the kubelet's pod config does (podsDifferSemantically), only a
 * change of the spec, labels, annotations or deletion syncs; a change of the status alone is kept
 * for the next sync, except for the conditions of the pod's readiness gates, which others set and
 * which decide its Ready condition (the kubelet syncs for those too: NeedToReconcilePodReadiness).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Pod } from '../../kube/corev1.ts';

/** Whether `next` (the API's newest copy) changes what the worker of `previous` has to do. */
export function podUpdateNeedsSync(previous: Pod, next: Pod): boolean {
  const before = previous.metadata;
  const after = next.metadata;
  if (
    before.deletionTimestamp !== after.deletionTimestamp ||
    before.deletionGracePeriodSeconds !== after.deletionGracePeriodSeconds ||
    !isDeepStrictEqual(before.labels ?? {}, after.labels ?? {}) ||
    !isDeepStrictEqual(before.annotations ?? {}, after.annotations ?? {}) ||
    !isDeepStrictEqual(previous.spec, next.spec)
  ) {
    return true;
  }
  return readinessGatesChanged(previous, next);
}

function readinessGatesChanged(previous: Pod, next: Pod): boolean {
  const gates = next.spec.readinessGates ?? [];
  const gateCondition = (pod: Pod, type: string) => pod.status?.conditions?.find((c) => c.type === type)?.status;
  return gates.some(
    ({ conditionType }) => gateCondition(previous, conditionType) !== gateCondition(next, conditionType),
  );
}
