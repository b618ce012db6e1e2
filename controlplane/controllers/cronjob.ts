/**
 * CronJob planner, as upstream's controller: keep status.active in line with the Jobs that exist;
 * find the latest scheduled time since the last run (or since creation, or within
 * startingDeadlineSeconds); skip it if it is too late to start, if the CronJob is suspended, or if
 * concurrencyPolicy Forbid sees a Job still running (Replace deletes the running ones instead);
 * create the Job named <cronjob>-<scheduled minutes since the epoch>, so a repeated pass can never
 * start the same run twice; delete finished Jobs beyond the history limits; come back at the next
 * scheduled time.
 */
import type { KubeObject } from '../../kube/types.ts';
import type { Action, Plan } from './actions.ts';
import { missedRuns, parseSchedule, type Schedule } from './cron-schedule.ts';
import { ScheduleError } from '../errors.ts';
import { isFinished } from './job.ts';
import { apiTime } from '../../kube/api-time.ts';
import { controllerOf, controllerReference, parseTime } from './pods.ts';
import type { CronJob, Job, ObjectRef } from './workload-types.ts';

const scheduledTimestampAnnotation = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

export function jobNameFor(cronJob: CronJob, scheduled: Date): string {
  return `${cronJob.metadata.name}-${Math.floor(scheduled.getTime() / 60_000)}`;
}

function refTo(job: Job): ObjectRef {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    name: job.metadata.name,
    namespace: job.metadata.namespace,
    uid: job.metadata.uid,
  };
}

function succeeded(job: Job): boolean {
  return job.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') === true;
}

function finishedTime(job: Job): number {
  return (
    parseTime(job.status?.completionTime) ??
    parseTime(job.status?.conditions?.find((c) => c.type === 'Failed')?.lastTransitionTime) ??
    parseTime(job.metadata.creationTimestamp) ??
    0
  );
}

function event(cronJob: CronJob, type: 'Normal' | 'Warning', reason: string, message: string): Action {
  return {
    kind: 'event',
    object: { ...cronJob, apiVersion: 'batch/v1', kind: 'CronJob' } as KubeObject,
    type,
    reason,
    message,
  };
}

export function planCronJob(cronJob: CronJob, jobs: readonly Job[], now: Date): Plan {
  const actions: Action[] = [];
  const mine = jobs.filter(
    (j) => controllerOf(j)?.uid === cronJob.metadata.uid && j.metadata.namespace === cronJob.metadata.namespace,
  );
  const running = mine.filter((j) => !isFinished(j) && !j.metadata.deletionTimestamp);
  let lastSuccessfulTime = cronJob.status?.lastSuccessfulTime;
  for (const job of mine) {
    const wasActive = cronJob.status?.active?.some((r) => r.uid === job.metadata.uid);
    if (wasActive && succeeded(job)) {
      const done = job.status?.completionTime;
      if (done && (!lastSuccessfulTime || done > lastSuccessfulTime)) lastSuccessfulTime = done;
      actions.push(
        event(cronJob, 'Normal', 'SawCompletedJob', `Saw completed job: ${job.metadata.name}, status: Complete`),
      );
    }
  }
  let active = running.map(refTo);
  let lastScheduleTime = cronJob.status?.lastScheduleTime;
  let requeueAfterMs: number | undefined;

  /** Finished Jobs of one kind beyond `limit`, oldest first. */
  const history = (predicate: (j: Job) => boolean, limit: number) => {
    const finished = mine
      .filter((j) => isFinished(j) && !j.metadata.deletionTimestamp && predicate(j))
      .sort((a, b) => finishedTime(a) - finishedTime(b));
    return finished.slice(0, Math.max(0, finished.length - limit));
  };
  const prune = [
    ...history(succeeded, cronJob.spec.successfulJobsHistoryLimit ?? 3),
    ...history((j) => !succeeded(j), cronJob.spec.failedJobsHistoryLimit ?? 1),
  ];
  for (const job of prune) {
    actions.push({
      kind: 'delete',
      resource: 'jobs',
      namespace: job.metadata.namespace,
      name: job.metadata.name ?? '',
      propagationPolicy: 'Background',
      ...(job.metadata.uid ? { uid: job.metadata.uid } : {}),
    });
  }

  const finish = (): Plan => {
    const status = {
      ...(active.length > 0 ? { active } : {}),
      ...(lastScheduleTime ? { lastScheduleTime } : {}),
      ...(lastSuccessfulTime ? { lastSuccessfulTime } : {}),
    };
    if (JSON.stringify(status) !== JSON.stringify(cronJob.status ?? {}))
      actions.push({ kind: 'updateStatus', resource: 'cronjobs', object: { ...cronJob, status } });
    return requeueAfterMs === undefined ? { actions } : { actions, requeueAfterMs };
  };
  if (cronJob.metadata.deletionTimestamp) return finish();

  let schedule: Schedule;
  try {
    schedule = parseSchedule(cronJob.spec.schedule, cronJob.spec.timeZone);
  } catch (err) {
    if (!(err instanceof ScheduleError)) throw err;
    actions.push(event(cronJob, 'Warning', 'InvalidSchedule', err.message));
    return finish();
  }
  if (cronJob.spec.suspend) return finish();

  const upcoming = schedule.next(now);
  if (upcoming) requeueAfterMs = upcoming.getTime() - now.getTime() + 100;
  let since = parseTime(lastScheduleTime) ?? parseTime(cronJob.metadata.creationTimestamp) ?? now.getTime();
  const deadlineSeconds = cronJob.spec.startingDeadlineSeconds;
  if (deadlineSeconds !== undefined) since = Math.max(since, now.getTime() - deadlineSeconds * 1000);
  const missed = missedRuns(schedule, new Date(since), now);
  if (missed.latest === undefined) return finish();
  if (missed.count > 100)
    actions.push(
      event(
        cronJob,
        'Warning',
        'TooManyMissedTimes',
        `too many missed start times: ${missed.count}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`,
      ),
    );
  const scheduled = missed.latest;
  if (deadlineSeconds !== undefined && scheduled.getTime() + deadlineSeconds * 1000 < now.getTime()) {
    actions.push(
      event(cronJob, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${scheduled.toISOString()}`),
    );
    return finish();
  }
  const name = jobNameFor(cronJob, scheduled);
  if (mine.some((j) => j.metadata.name === name)) {
    // Already started (a pass after a crash, or a cache that is ahead of our status).
    lastScheduleTime = apiTime(scheduled);
    return finish();
  }
  const policy = cronJob.spec.concurrencyPolicy ?? 'Allow';
  if (policy === 'Forbid' && running.length > 0) {
    actions.push(
      event(
        cronJob,
        'Normal',
        'JobAlreadyActive',
        'Not starting job because prior execution is running and concurrency policy is Forbid',
      ),
    );
    return finish();
  }
  if (policy === 'Replace') {
    for (const job of running) {
      actions.push({
        kind: 'delete',
        resource: 'jobs',
        namespace: job.metadata.namespace,
        name: job.metadata.name ?? '',
        propagationPolicy: 'Background',
        ...(job.metadata.uid ? { uid: job.metadata.uid } : {}),
      });
      actions.push(event(cronJob, 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata.name}`));
    }
    active = [];
  }
  const template = cronJob.spec.jobTemplate;
  const job: Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: cronJob.metadata.namespace,
      labels: { ...template.metadata?.labels },
      annotations: { ...template.metadata?.annotations, [scheduledTimestampAnnotation]: apiTime(scheduled) },
      ownerReferences: [controllerReference({ ...cronJob, apiVersion: 'batch/v1', kind: 'CronJob' })],
    },
    spec: structuredClone(template.spec),
  };
  actions.push({ kind: 'create', resource: 'jobs', object: job });
  actions.push(event(cronJob, 'Normal', 'SuccessfulCreate', `Created job ${name}`));
  active = [...active, { apiVersion: 'batch/v1', kind: 'Job', name, namespace: cronJob.metadata.namespace }];
  lastScheduleTime = apiTime(scheduled);
  return finish();
}
