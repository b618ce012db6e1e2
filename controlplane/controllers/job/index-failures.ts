/**
 * backoffLimitPerIndex (upstream's JobBackoffLimitPerIndex): an Indexed Job counts failures per
 * index. Each pod carries how often its index failed before it (and how many failures the
 * podFailurePolicy ignored) in annotations, so the count survives pods being deleted; an index
 * whose failures pass the limit, or that a FailIndex rule hit, is failed for good and not retried.
 */
import type { Pod } from '../../../kube/corev1.ts';

const indexFailureCountKey = 'batch.kubernetes.io/job-index-failure-count';
const indexIgnoredFailureCountKey = 'batch.kubernetes.io/job-index-ignored-failure-count';

/** How one failed pod was judged; running and succeeded pods are 'none'. */
export type FailureKind = 'none' | 'counted' | 'ignored' | 'failIndex';

export interface IndexFailures {
  /** Failures counted against the index so far, what its next pod is annotated with. */
  counted: number;
  ignored: number;
  /** A FailIndex rule matched one of its pods. */
  failIndex: boolean;
}

function countAnnotation(pod: Pod, key: string): number {
  const value = Number(pod.metadata.annotations?.[key] ?? 0);
  return Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

/** The failure counts of one index from its pods (each pod knows its predecessors' count). */
export function indexFailures(pods: readonly { pod: Pod; failure: FailureKind }[]): IndexFailures {
  const counts: IndexFailures = { counted: 0, ignored: 0, failIndex: false };
  for (const { pod, failure } of pods) {
    const counted = countAnnotation(pod, indexFailureCountKey) + (failure === 'counted' ? 1 : 0);
    const ignored = countAnnotation(pod, indexIgnoredFailureCountKey) + (failure === 'ignored' ? 1 : 0);
    counts.counted = Math.max(counts.counted, counted);
    counts.ignored = Math.max(counts.ignored, ignored);
    if (failure === 'failIndex') counts.failIndex = true;
  }
  return counts;
}

export function indexFailedForGood(counts: IndexFailures, backoffLimitPerIndex: number): boolean {
  return counts.failIndex || counts.counted > backoffLimitPerIndex;
}

/** The annotations a replacement pod of the index carries. */
export function failureCountAnnotations(counts: IndexFailures): Record<string, string> {
  return { [indexFailureCountKey]: String(counts.counted), [indexIgnoredFailureCountKey]: String(counts.ignored) };
}
