/**
 * Job planner: run pods until `completions` of them succeed (or, without completions, until one
 * does and the rest finish), at most `parallelism` at a time. Failures beyond backoffLimit
 * (default 6; with restartPolicy OnFailure container restarts count as failures) or running past
 * activeDeadlineSeconds fail the Job. As upstream since 1.31, the outcome is first recorded as
 * SuccessCriteriaMet / FailureTarget; the final Complete / Failed follows once no pod is active
 * or terminating. A finished Job with ttlSecondsAfterFinished is deleted that long after it
 * finished (job/ttl-after-finished.ts). Indexed Jobs run each completion index once
 * (job/completion-index.ts, job/index-progress.ts), optionally with a backoff limit per index
 * (job/index-failures.ts) and a successPolicy (job/success-policy.ts); a podFailurePolicy
 * (job/pod-failure-policy.ts) may ignore a failure, fail the Job or an index. With
 * podReplacementPolicy Failed, a pod still terminating is not replaced until it is gone.
 * Suspending records Suspended (job/suspension.ts); resuming turns it False and restarts
 * startTime, as upstream.
 */
import type { Pod } from '../../kube/corev1.ts';
import { deletePod, type Action, type Plan } from './actions.ts';
import { claimPods } from './claim.ts';
import { apiTime } from '../../kube/api-time.ts';
import { controllerOf, deletionOrder, isActive, isReady, parseTime, podFromTemplate, restartCount } from './pods.ts';
import type { Job } from './workload-types.ts';
import { formatIndexes, indexesToStart, podForIndex } from './job/completion-index.ts';
import { failureCountAnnotations } from './job/index-failures.ts';
import { indexProgress, indexRetryTimes, judge, type IndexProgress } from './job/index-progress.ts';
import { successPolicyMet } from './job/success-policy.ts';
import { hasCondition, isFinished, trueCondition } from './job/conditions.ts';
import { lastFailureAt, retryDelayMs } from './job/retry-delay.ts';
import { withSuspendedCondition } from './job/suspension.ts';
import { jobEvents } from './job/events.ts';
import { planTtlAfterFinished } from './job/ttl-after-finished.ts';

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

/** completions as the API defaults it: both unset means 1; parallelism alone means a work queue. */
function completionsOf(job: Job): number | undefined {
  if (job.spec.completions !== undefined && job.spec.completions !== null) return job.spec.completions;
  return job.spec.parallelism === undefined ? 1 : undefined;
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
  if (isFinished(job)) return planTtlAfterFinished(job, now);
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
