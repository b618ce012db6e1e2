/**
 * Job planner: run pods until `completions` of them succeed (or, without completions, until one
 * does and the rest finish), at most `parallelism` at a time. Failures beyond backoffLimit
 * (default 6; with restartPolicy OnFailure container restarts count as failures) or running past
 * activeDeadlineSeconds fail the Job. As upstream since 1.31, the outcome is first recorded as
 * SuccessCriteriaMet / FailureTarget; the final Complete / Failed follows once no pod is active.
 * A finished Job with ttlSecondsAfterFinished is deleted that long after it finished.
 * Indexed Jobs run each completion index once (job/completion-index.ts), optionally with a
 * backoff limit per index (job/index-failures.ts) and a successPolicy (job/success-policy.ts);
 * a podFailurePolicy (job/pod-failure-policy.ts) may ignore a failure, fail the Job or an index.
 * With podReplacementPolicy Failed, a pod still terminating is not replaced until it is gone.
 * Suspending records Suspended; resuming turns it False and restarts startTime, as upstream.
 */
import type { Pod } from '../../kube/corev1.ts';
import { deletePod, type Action, type Plan } from './actions.ts';
import { claimPods } from './claim.ts';
import { apiTime } from '../../kube/api-time.ts';
import { controllerOf, deletionOrder, isActive, isReady, parseTime, podFromTemplate, restartCount } from './pods.ts';
import type { Job, WorkloadCondition } from './workload-types.ts';
import { completionIndexOf, formatIndexes, indexesToStart, parseIndexes, podForIndex } from './job/completion-index.ts';
import {
  failureCountAnnotations,
  indexFailedForGood,
  indexFailures,
  type FailureKind,
  type IndexFailures,
} from './job/index-failures.ts';
import { judgePodFailure, type PodFailureVerdict } from './job/pod-failure-policy.ts';
import { successPolicyMet } from './job/success-policy.ts';

// The labels the API's Job defaulting puts on a Job's pods; the controller stamps them too.
import { jobNameLabel, jobControllerUidLabel as controllerUidLabel } from '../admission/defaults.ts';

const outcomes = {
  backoffLimit: { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' },
  deadline: { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' },
  completed: { reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' },
  maxFailedIndexes: {
    reason: 'MaxFailedIndexesExceeded',
    message: 'Job has exceeded the specified maximal number of failed indexes',
  },
  failedIndexes: { reason: 'FailedIndexes', message: 'Job has failed indexes' },
} as const;

/** Pods are recreated after failures with a delay of 10 s doubling per failure, at most 6 minutes. */
function retryDelayMs(failures: number): number {
  return Math.min(360_000, 10_000 * 2 ** Math.max(0, failures - 1));
}

/** When the most recent failed pod finished (its containers' end, else its last condition change). */
function lastFailureAt(pods: readonly Pod[]): number {
  let latest = 0;
  for (const pod of pods) {
    if (pod.status?.phase !== 'Failed') continue;
    const ends = (pod.status.containerStatuses ?? []).map((c) => parseTime(c.state?.terminated?.finishedAt) ?? 0);
    const conditions = (pod.status.conditions ?? []).map((c) => parseTime(c.lastTransitionTime) ?? 0);
    latest = Math.max(latest, ...ends, ...conditions, parseTime(pod.metadata.creationTimestamp) ?? 0);
  }
  return latest;
}

function hasCondition(job: Job, type: string): WorkloadCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

export function isFinished(job: Job): boolean {
  return hasCondition(job, 'Complete') !== undefined || hasCondition(job, 'Failed') !== undefined;
}

/** completions as the API defaults it: both unset means 1; parallelism alone means a work queue. */
function completionsOf(job: Job): number | undefined {
  if (job.spec.completions !== undefined && job.spec.completions !== null) return job.spec.completions;
  return job.spec.parallelism === undefined ? 1 : undefined;
}

function finishedAt(job: Job): number | undefined {
  if (job.status?.completionTime) return parseTime(job.status.completionTime);
  return parseTime(hasCondition(job, 'Failed')?.lastTransitionTime);
}

function trueCondition(type: string, reason: string, message: string, now: string): WorkloadCondition {
  return { type, status: 'True', lastProbeTime: now, lastTransitionTime: now, reason, message };
}

/** A pod with the planner's reading of it: its completion index and how its failure counts. */
interface JudgedPod {
  pod: Pod;
  index: number | undefined;
  failure: FailureKind;
  verdict: PodFailureVerdict | undefined;
}

function judge(job: Job, pod: Pod, completions: number | undefined, indexed: boolean): JudgedPod {
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
interface IndexProgress {
  succeeded: Set<number>;
  failed: Set<number>;
  failures: Map<number, IndexFailures>;
}

function indexProgress(job: Job, judged: readonly JudgedPod[], completions: number): IndexProgress {
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

/** Suspended is True while the Job is suspended and turns False (JobResumed) when it resumes. */
function withSuspendedCondition(
  conditions: WorkloadCondition[],
  suspended: boolean,
  nowText: string,
): { conditions: WorkloadCondition[]; change?: 'Suspended' | 'Resumed' } {
  const current = conditions.find((c) => c.type === 'Suspended');
  const wanted = suspended ? 'True' : 'False';
  if (current?.status === wanted || (!current && !suspended)) return { conditions };
  const next = suspended
    ? trueCondition('Suspended', 'JobSuspended', 'Job suspended', nowText)
    : { ...trueCondition('Suspended', 'JobResumed', 'Job resumed', nowText), status: 'False' as const };
  return {
    conditions: current ? conditions.map((c) => (c === current ? next : c)) : [...conditions, next],
    change: suspended ? 'Suspended' : 'Resumed',
  };
}

/** The events upstream's Job controller records when the Job is suspended, resumed or finishes. */
function jobEvents(
  job: Job,
  change: 'Suspended' | 'Resumed' | undefined,
  finished: WorkloadCondition | undefined,
): Action[] {
  const object = { ...job, apiVersion: 'batch/v1', kind: 'Job' };
  const events: Action[] = [];
  if (change)
    events.push({ kind: 'event', object, type: 'Normal', reason: change, message: `Job ${change.toLowerCase()}` });
  if (finished?.type === 'Complete')
    events.push({ kind: 'event', object, type: 'Normal', reason: 'Completed', message: 'Job completed' });
  else if (finished)
    events.push({
      kind: 'event',
      object,
      type: 'Warning',
      reason: finished.reason ?? 'Failed',
      message: finished.message ?? '',
    });
  return events;
}

/** When each index that failed may run again: its last counted failure plus its own retry delay. */
function indexRetryTimes(judged: readonly JudgedPod[], progress: IndexProgress): Map<number, number> {
  const times = new Map<number, number>();
  for (const [index, counts] of progress.failures) {
    if (counts.counted === 0) continue;
    const failedPods = judged.filter((j) => j.index === index && j.failure === 'counted').map((j) => j.pod);
    times.set(index, lastFailureAt(failedPods) + retryDelayMs(counts.counted));
  }
  return times;
}

function podLabels(job: Job): Record<string, string> {
  return {
    [jobNameLabel]: job.metadata.name ?? '',
    'job-name': job.metadata.name ?? '',
    [controllerUidLabel]: job.metadata.uid ?? '',
    'controller-uid': job.metadata.uid ?? '',
  };
}

/** New pods for the lowest indexes nothing holds, each with its index and its failure counts. */
function indexedPods(job: Job, progress: IndexProgress, completions: number, taken: Set<number>, count: number): Pod[] {
  const name = job.metadata.name ?? '';
  return indexesToStart(completions, taken, count).map((index) => {
    const pod = podForIndex(podFromTemplate(job.spec.template, job, podLabels(job)), name, index);
    const counts = progress.failures.get(index) ?? { counted: 0, ignored: 0, failIndex: false };
    if (job.spec.backoffLimitPerIndex !== undefined)
      pod.metadata.annotations = { ...pod.metadata.annotations, ...failureCountAnnotations(counts) };
    return pod;
  });
}

export function planJob(job: Job, pods: readonly Pod[], now: Date): Plan {
  const nowText = apiTime(now);
  if (isFinished(job)) {
    const ttl = job.spec.ttlSecondsAfterFinished;
    const done = finishedAt(job);
    if (ttl === undefined || done === undefined || job.metadata.deletionTimestamp) return { actions: [] };
    const expires = done + ttl * 1000;
    if (expires <= now.getTime()) {
      return {
        actions: [
          {
            kind: 'delete',
            resource: 'jobs',
            namespace: job.metadata.namespace,
            name: job.metadata.name ?? '',
            propagationPolicy: 'Foreground',
            ...(job.metadata.uid ? { uid: job.metadata.uid } : {}),
          },
        ],
      };
    }
    return { actions: [], requeueAfterMs: expires - now.getTime() + 1 };
  }
  // A Job being deleted starts nothing: an orphaning delete would otherwise see its pods go and replace them.
  if (job.metadata.deletionTimestamp) return { actions: [] };

  // Jobs select their pods by controller uid unless the user chose a selector.
  const owned = job.spec.selector
    ? claimPods(job, pods)
    : { owned: pods.filter((p) => controllerOf(p)?.uid === job.metadata.uid), actions: [] as Action[] };
  const actions = [...owned.actions];
  const mine = owned.owned;
  const completions = completionsOf(job);
  const indexed = job.spec.completionMode === 'Indexed' && completions !== undefined;
  const judged = mine.map((pod) => judge(job, pod, completions, indexed));
  const active = mine.filter(isActive);
  const terminating = mine.filter(
    (p) =>
      p.metadata.deletionTimestamp !== undefined && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
  );
  const progress = indexed ? indexProgress(job, judged, completions) : undefined;
  const succeeded = progress
    ? progress.succeeded.size
    : Math.max(job.status?.succeeded ?? 0, mine.filter((p) => p.status?.phase === 'Succeeded').length);
  // Failures the podFailurePolicy ignores are not counted and not waited for: the pod is just replaced.
  const countedFailures = judged.filter((j) => j.failure === 'counted' || j.failure === 'failIndex');
  const onFailureRestarts =
    job.spec.template.spec.restartPolicy === 'OnFailure' ? active.reduce((n, p) => n + restartCount(p), 0) : 0;
  const failed = Math.max(job.status?.failed ?? 0, countedFailures.length);
  const parallelism = job.spec.parallelism ?? 1;
  const suspended = withSuspendedCondition([...(job.status?.conditions ?? [])], job.spec.suspend === true, nowText);
  const startTime = suspended.change === 'Resumed' ? nowText : (job.status?.startTime ?? nowText);

  let conditions = suspended.conditions;
  let requeueAfterMs: number | undefined;
  const alreadyFailing = hasCondition(job, 'FailureTarget');
  const alreadySucceeding = hasCondition(job, 'SuccessCriteriaMet');
  let failure: { reason: string; message: string } | undefined = alreadyFailing
    ? { reason: alreadyFailing.reason ?? '', message: alreadyFailing.message ?? '' }
    : undefined;
  // A suspended Job's clock is stopped: its deadline counts from the resume (upstream's pastActiveDeadline).
  const deadline =
    job.spec.activeDeadlineSeconds !== undefined && !job.spec.suspend
      ? (parseTime(startTime) ?? now.getTime()) + job.spec.activeDeadlineSeconds * 1000
      : undefined;
  const failJob = judged.find((j) => j.verdict?.action === 'FailJob')?.verdict;
  const failedIndexes = progress?.failed.size ?? 0;
  if (!failure && !alreadySucceeding) {
    if (failJob) failure = { reason: 'PodFailurePolicy', message: failJob.message };
    else if (failed + onFailureRestarts > (job.spec.backoffLimit ?? 6)) failure = outcomes.backoffLimit;
    else if (job.spec.maxFailedIndexes !== undefined && failedIndexes > job.spec.maxFailedIndexes)
      failure = outcomes.maxFailedIndexes;
    else if (failedIndexes > 0 && completions !== undefined && failedIndexes + succeeded >= completions)
      failure = outcomes.failedIndexes;
    else if (deadline !== undefined && now.getTime() >= deadline) failure = outcomes.deadline;
    else if (deadline !== undefined) requeueAfterMs = deadline - now.getTime() + 1;
  }
  const policyMet =
    progress && job.spec.successPolicy && completions !== undefined
      ? successPolicyMet(job.spec.successPolicy.rules, progress.succeeded, completions)
      : undefined;
  const successReason = policyMet !== undefined ? { reason: 'SuccessPolicy', message: policyMet } : outcomes.completed;
  const success =
    !failure &&
    (alreadySucceeding !== undefined ||
      policyMet !== undefined ||
      (completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0));
  const successCondition = alreadySucceeding
    ? { reason: alreadySucceeding.reason ?? '', message: alreadySucceeding.message ?? '' }
    : successReason;

  if (failure && !alreadyFailing)
    conditions.push(trueCondition('FailureTarget', failure.reason, failure.message, nowText));
  if (success && !alreadySucceeding)
    conditions.push(trueCondition('SuccessCriteriaMet', successCondition.reason, successCondition.message, nowText));

  let remainingActive = active;
  if (failure || success) {
    // The outcome is decided: stop whatever still runs, then record the final condition.
    for (const pod of active) actions.push(deletePod(pod));
    remainingActive = [];
    if (failure) conditions.push(trueCondition('Failed', failure.reason, failure.message, nowText));
    else conditions.push(trueCondition('Complete', successCondition.reason, successCondition.message, nowText));
  } else if (job.spec.suspend) {
    for (const pod of active) actions.push(deletePod(pod));
    remainingActive = [];
  } else {
    // With podReplacementPolicy Failed a pod still terminating holds its place until it is gone.
    const holding = job.spec.podReplacementPolicy === 'Failed' ? terminating : [];
    const left = completions !== undefined ? completions - succeeded - failedIndexes : undefined;
    const wanted = left !== undefined ? Math.max(0, Math.min(parallelism, left)) : succeeded > 0 ? 0 : parallelism;
    const running = active.length + holding.length;
    const retryAt = failed > 0 ? lastFailureAt(countedFailures.map((j) => j.pod)) + retryDelayMs(failed) : 0;
    if (progress) {
      // An index that succeeded or failed for good needs no pod; a second pod of one index is surplus.
      const taken = new Set([...progress.succeeded, ...progress.failed]);
      const surplus: Pod[] = [];
      for (const { pod, index } of judged.filter((j) => isActive(j.pod) || holding.includes(j.pod))) {
        if (index === undefined || taken.has(index)) surplus.push(pod);
        else taken.add(index);
      }
      for (const pod of surplus.filter(isActive)) actions.push(deletePod(pod));
      remainingActive = active.filter((p) => !surplus.includes(p));
      const need = wanted - remainingActive.length - holding.length;
      // With a backoff limit per index each index waits out its own retry delay; without, the Job's.
      const perIndex = job.spec.backoffLimitPerIndex !== undefined;
      if (perIndex) {
        for (const [index, retryAtIndex] of indexRetryTimes(judged, progress)) {
          if (taken.has(index) || retryAtIndex <= now.getTime()) continue;
          taken.add(index);
          requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, retryAtIndex - now.getTime() + 1);
        }
      }
      if (need > 0 && !perIndex && retryAt > now.getTime())
        requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, retryAt - now.getTime() + 1);
      else if (need > 0) {
        const created = indexedPods(job, progress, completions!, taken, need);
        if (created.length > 0) actions.push({ kind: 'createPods', pods: created });
      }
    } else if (wanted > running && retryAt > now.getTime()) {
      requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, retryAt - now.getTime() + 1);
    } else if (wanted > running) {
      actions.push({
        kind: 'createPods',
        pods: Array.from({ length: wanted - running }, () => podFromTemplate(job.spec.template, job, podLabels(job))),
      });
    } else if (wanted < active.length) {
      for (const pod of [...active].sort(deletionOrder).slice(0, active.length - wanted)) actions.push(deletePod(pod));
    }
  }
  // Only record Complete/Failed once no pod runs or terminates any more (the deletions above take a
  // pass to show), so a finished Job never has pods still at work (upstream since 1.31).
  if ((failure || success) && (active.length > 0 || terminating.length > 0))
    conditions = conditions.filter((c) => c.type !== 'Complete' && c.type !== 'Failed');

  const terminal = conditions.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  const status: NonNullable<Job['status']> = {
    ...(job.spec.suspend && !job.status?.startTime ? {} : { startTime }),
    active: remainingActive.length,
    ready: remainingActive.filter(isReady).length,
    succeeded,
    failed,
    terminating: terminating.length,
    ...(progress && progress.succeeded.size > 0 ? { completedIndexes: formatIndexes(progress.succeeded) } : {}),
    ...(progress && job.spec.backoffLimitPerIndex !== undefined
      ? { failedIndexes: formatIndexes(progress.failed) }
      : {}),
    ...(conditions.length > 0 ? { conditions } : {}),
    ...(terminal?.type === 'Complete' ? { completionTime: terminal.lastTransitionTime ?? nowText } : {}),
  };
  if (JSON.stringify(status) !== JSON.stringify(job.status ?? {}))
    actions.push({ kind: 'updateStatus', resource: 'jobs', object: { ...job, status } });
  const newlyFinished = terminal && !isFinished(job) ? terminal : undefined;
  actions.push(...jobEvents(job, suspended.change, newlyFinished));
  if (terminal && job.spec.ttlSecondsAfterFinished !== undefined)
    requeueAfterMs = job.spec.ttlSecondsAfterFinished * 1000 + 1;
  return requeueAfterMs === undefined ? { actions } : { actions, requeueAfterMs };
}
