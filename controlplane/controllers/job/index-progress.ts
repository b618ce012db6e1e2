/**
 * Where an Indexed Job stands: each pod read for its completion index and for how its failure
 * counts under the podFailurePolicy, then per index whether it succeeded, failed for good
 * (backoffLimitPerIndex, FailIndex) or when it may be retried.
 */
import type { Pod } from '../../../kube/corev1.ts';
import type { Job } from '../workload-types.ts';
import { completionIndexOf, parseIndexes } from './completion-index.ts';
import { indexFailedForGood, indexFailures, type FailureKind, type IndexFailures } from './index-failures.ts';
import { judgePodFailure, type PodFailureVerdict } from './pod-failure-policy.ts';
import { lastFailureAt, retryDelayMs } from './retry-delay.ts';

/** A pod with the planner's reading of it: its completion index and how its failure counts. */
interface JudgedPod {
  pod: Pod;
  index: number | undefined;
  failure: FailureKind;
  verdict: PodFailureVerdict | undefined;
}

export function judge(job: Job, pod: Pod, completions: number | undefined, indexed: boolean): JudgedPod {
  const index = indexed && completions !== undefined ? completionIndexOf(pod, completions) : undefined;
  if (pod.status?.phase !== 'Failed') return { pod, index, failure: 'none', verdict: undefined };
  const verdict = judgePodFailure(job.spec.podFailurePolicy, pod);
  const failure: FailureKind =
    verdict?.action === 'Ignore'
      ? 'ignored'
      : verdict?.action === 'FailIndex' && job.spec.backoffLimitPerIndex !== undefined
        ? 'failIndex'
        : 'counted';
  return { pod, index, failure, verdict };
}

/** Where each index stands: succeeded, failed for good, and the failure counts of the rest. */
export interface IndexProgress {
  succeeded: Set<number>;
  failed: Set<number>;
  failures: Map<number, IndexFailures>;
}

export function indexProgress(job: Job, judged: readonly JudgedPod[], completions: number): IndexProgress {
  const succeeded = parseIndexes(job.status?.completedIndexes, completions);
  for (const { pod, index } of judged)
    if (index !== undefined && pod.status?.phase === 'Succeeded') succeeded.add(index);
  const failed = parseIndexes(job.status?.failedIndexes, completions);
  const failures = new Map<number, IndexFailures>();
  const limit = job.spec.backoffLimitPerIndex;
  if (limit !== undefined) {
    const byIndex = Map.groupBy(
      judged.filter((j) => j.index !== undefined),
      (j) => j.index!,
    );
    for (const [index, ofIndex] of byIndex) {
      const counts = indexFailures(ofIndex);
      failures.set(index, counts);
      if (!succeeded.has(index) && indexFailedForGood(counts, limit)) failed.add(index);
    }
  }
  for (const index of succeeded) failed.delete(index);
  return { succeeded, failed, failures };
}

/** When each index that failed may run again: its last counted failure plus its own retry delay. */
export function indexRetryTimes(judged: readonly JudgedPod[], progress: IndexProgress): Map<number, number> {
  const times = new Map<number, number>();
  for (const [index, counts] of progress.failures) {
    if (counts.counted === 0) continue;
    const failedPods = judged.filter((j) => j.index === index && j.failure === 'counted').map((j) => j.pod);
    times.set(index, lastFailureAt(failedPods) + retryDelayMs(counts.counted));
  }
  return times;
}
