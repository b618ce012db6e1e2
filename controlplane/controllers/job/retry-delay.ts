/**
 * How long a Job waits before it replaces a failed pod: 10 s after the last failure, doubling per
 * failure, at most 6 minutes (upstream's DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff).
 */
import type { Pod } from '../../../kube/corev1.ts';
import { parseTime } from '../pods.ts';

/** Pods are recreated after failures with a delay of 10 s doubling per failure, at most 6 minutes. */
export function retryDelayMs(failures: number): number {
  return Math.min(360_000, 10_000 * 2 ** Math.max(0, failures - 1));
}

/** When the most recent failed pod finished (its containers' end, else its last condition change). */
export function lastFailureAt(pods: readonly Pod[]): number {
  let latest = 0;
  for (const pod of pods) {
    if (pod.status?.phase !== 'Failed') continue;
    const ends = (pod.status.containerStatuses ?? []).map((c) => parseTime(c.state?.terminated?.finishedAt) ?? 0);
    const conditions = (pod.status.conditions ?? []).map((c) => parseTime(c.lastTransitionTime) ?? 0);
    latest = Math.max(latest, ...ends, ...conditions, parseTime(pod.metadata.creationTimestamp) ?? 0);
  }
  return latest;
}
