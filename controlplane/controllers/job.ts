/**
 * Job planner: run pods until `completions` of them succeed (or, without completions, until one
 * does and the rest finish), at most `parallelism` at a time. Failures beyond backoffLimit
 * (default 6; with restartPolicy OnFailure container restarts count as failures) or running past
 * activeDeadlineSeconds fail the Job. As upstream since 1.31, the outcome is first recorded as
 * SuccessCriteriaMet / FailureTarget; the final Complete / Failed follows once no pod is active.
 * A finished Job with ttlSecondsAfterFinished is deleted that long after it finished.
 */
import type { Pod } from '../../kube/corev1.ts';
import { deletePod, type Action, type Plan } from './actions.ts';
import { claimPods } from './claim.ts';
import { apiTime } from '../../kube/api-time.ts';
import { controllerOf, deletionOrder, isActive, isReady, parseTime, podFromTemplate, restartCount } from './pods.ts';
import type { Job, WorkloadCondition } from './workload-types.ts';

// The labels the API's Job defaulting puts on a Job's pods; the controller stamps them too.
import { jobNameLabel, jobControllerUidLabel as controllerUidLabel } from '../admission/defaults.ts';

const outcomes = {
  backoffLimit: { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' },
  deadline: { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' },
  completed: { reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' },
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
  const active = mine.filter(isActive);
  const succeeded = Math.max(job.status?.succeeded ?? 0, mine.filter((p) => p.status?.phase === 'Succeeded').length);
  const failedPods = mine.filter((p) => p.status?.phase === 'Failed').length;
  const onFailureRestarts =
    job.spec.template.spec.restartPolicy === 'OnFailure' ? active.reduce((n, p) => n + restartCount(p), 0) : 0;
  const failed = Math.max(job.status?.failed ?? 0, failedPods);
  const startTime = job.status?.startTime ?? nowText;
  const completions = completionsOf(job);
  const parallelism = job.spec.parallelism ?? 1;

  let conditions = [...(job.status?.conditions ?? [])];
  let requeueAfterMs: number | undefined;
  const alreadyFailing = hasCondition(job, 'FailureTarget');
  const alreadySucceeding = hasCondition(job, 'SuccessCriteriaMet');
  let failure: { reason: string; message: string } | undefined = alreadyFailing
    ? { reason: alreadyFailing.reason ?? '', message: alreadyFailing.message ?? '' }
    : undefined;
  const deadline =
    job.spec.activeDeadlineSeconds !== undefined
      ? (parseTime(startTime) ?? now.getTime()) + job.spec.activeDeadlineSeconds * 1000
      : undefined;
  if (!failure && !alreadySucceeding) {
    if (failed + onFailureRestarts > (job.spec.backoffLimit ?? 6)) failure = outcomes.backoffLimit;
    else if (deadline !== undefined && now.getTime() >= deadline) failure = outcomes.deadline;
    else if (deadline !== undefined) requeueAfterMs = deadline - now.getTime() + 1;
  }
  const success =
    !failure &&
    (alreadySucceeding !== undefined ||
      (completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0));

  if (failure && !alreadyFailing)
    conditions.push(trueCondition('FailureTarget', failure.reason, failure.message, nowText));
  if (success && !alreadySucceeding)
    conditions.push(
      trueCondition('SuccessCriteriaMet', outcomes.completed.reason, outcomes.completed.message, nowText),
    );

  let remainingActive = active;
  if (failure || success) {
    // The outcome is decided: stop whatever still runs, then record the final condition.
    for (const pod of active) actions.push(deletePod(pod));
    remainingActive = [];
    if (failure) conditions.push(trueCondition('Failed', failure.reason, failure.message, nowText));
    else conditions.push(trueCondition('Complete', outcomes.completed.reason, outcomes.completed.message, nowText));
  } else if (job.spec.suspend) {
    for (const pod of active) actions.push(deletePod(pod));
    remainingActive = [];
  } else {
    const wanted =
      completions !== undefined
        ? Math.max(0, Math.min(parallelism, completions - succeeded))
        : succeeded > 0
          ? 0
          : parallelism;
    const retryAt = failed > 0 ? lastFailureAt(mine) + retryDelayMs(failed) : 0;
    if (wanted > active.length && retryAt > now.getTime()) {
      requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, retryAt - now.getTime() + 1);
    } else if (wanted > active.length) {
      const labels = {
        [jobNameLabel]: job.metadata.name ?? '',
        'job-name': job.metadata.name ?? '',
        [controllerUidLabel]: job.metadata.uid ?? '',
        'controller-uid': job.metadata.uid ?? '',
      };
      actions.push({
        kind: 'createPods',
        pods: Array.from({ length: wanted - active.length }, () => podFromTemplate(job.spec.template, job, labels)),
      });
    } else if (wanted < active.length) {
      for (const pod of [...active].sort(deletionOrder).slice(0, active.length - wanted)) actions.push(deletePod(pod));
    }
  }
  // Only record Complete/Failed once nothing runs any more (the deletions above take a pass to show).
  if ((failure || success) && active.length > 0)
    conditions = conditions.filter((c) => c.type !== 'Complete' && c.type !== 'Failed');

  const terminal = conditions.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  const status: NonNullable<Job['status']> = {
    ...(job.spec.suspend && !job.status?.startTime ? {} : { startTime }),
    active: remainingActive.length,
    ready: remainingActive.filter(isReady).length,
    succeeded,
    failed,
    ...(conditions.length > 0 ? { conditions } : {}),
    ...(terminal?.type === 'Complete' ? { completionTime: terminal.lastTransitionTime ?? nowText } : {}),
  };
  if (JSON.stringify(status) !== JSON.stringify(job.status ?? {}))
    actions.push({ kind: 'updateStatus', resource: 'jobs', object: { ...job, status } });
  if (terminal && job.spec.ttlSecondsAfterFinished !== undefined)
    requeueAfterMs = job.spec.ttlSecondsAfterFinished * 1000 + 1;
  return requeueAfterMs === undefined ? { actions } : { actions, requeueAfterMs };
}
