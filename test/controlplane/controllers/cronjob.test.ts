import test from 'ava';
import { jobNameFor, planCronJob } from '../../../controlplane/controllers/cronjob.ts';
import { missedRuns, parseSchedule } from '../../../controlplane/controllers/cron-schedule.ts';
import type { Action } from '../../../controlplane/controllers/actions.ts';
import type { CronJob, Job } from '../../../controlplane/controllers/workload-types.ts';
import { ownerRef } from './fixtures.ts';

const t0 = Date.parse('2026-01-01T00:00:00Z');
const minute = (n: number) => new Date(t0 + n * 60_000);

function cronJob(spec: Partial<CronJob['spec']> = {}, status?: CronJob['status']): CronJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'tick', namespace: 'default', uid: 'uid-tick', creationTimestamp: minute(0).toISOString() },
    spec: {
      schedule: '*/5 * * * *',
      timeZone: 'UTC',
      jobTemplate: {
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } },
      },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

function job(name: string, state: 'running' | 'complete' | 'failed', finishedMinute = 0): Job {
  const at = minute(finishedMinute).toISOString();
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      ownerReferences: [ownerRef('CronJob', 'tick', 'batch/v1')],
      creationTimestamp: at,
    },
    spec: { template: { spec: { containers: [] } } },
    status:
      state === 'running'
        ? { active: 1 }
        : state === 'complete'
          ? { completionTime: at, conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: at }] }
          : { conditions: [{ type: 'Failed', status: 'True', lastTransitionTime: at }] },
  };
}

function summary(actions: readonly Action[]): string[] {
  return actions.map((a) =>
    a.kind === 'create'
      ? `create ${a.object.metadata.name}`
      : a.kind === 'delete'
        ? `delete ${a.name}`
        : a.kind === 'event'
          ? `event ${a.reason}`
          : a.kind,
  );
}

test('the latest missed run starts a Job named by its minute, owned and annotated, and the next run is awaited', (t) => {
  const plan = planCronJob(cronJob(), [], minute(7));
  const name = jobNameFor(cronJob(), minute(5));
  t.deepEqual(summary(plan.actions), [`create ${name}`, 'event SuccessfulCreate', 'updateStatus']);
  const created = plan.actions[0]!.kind === 'create' ? (plan.actions[0]!.object as Job) : undefined;
  t.is(created?.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], '2026-01-01T00:05:00Z');
  t.deepEqual(created?.metadata.ownerReferences, [{ ...ownerRef('CronJob', 'tick', 'batch/v1'), uid: 'uid-tick' }]);
  t.is(plan.requeueAfterMs, 3 * 60_000 + 100);
  const status = plan.actions.find((a) => a.kind === 'updateStatus');
  t.like(status?.kind === 'updateStatus' ? status.object.status : undefined, {
    lastScheduleTime: '2026-01-01T00:05:00Z',
  });
});

test('nothing new between runs, and a Job that already exists is not started twice', (t) => {
  t.deepEqual(
    summary(planCronJob(cronJob({}, { lastScheduleTime: minute(5).toISOString() }), [], minute(7)).actions),
    [],
  );
  const again = planCronJob(cronJob(), [job(jobNameFor(cronJob(), minute(5)), 'running')], minute(7));
  t.false(summary(again.actions).some((a) => a.startsWith('create')));
});

test('concurrencyPolicy: Forbid skips while a Job runs, Replace deletes it first, Allow runs both', (t) => {
  const last = { lastScheduleTime: minute(0).toISOString(), active: [] };
  const running = [job('tick-old', 'running')];
  t.deepEqual(summary(planCronJob(cronJob({ concurrencyPolicy: 'Forbid' }, last), running, minute(7)).actions), [
    'event JobAlreadyActive',
    'updateStatus',
  ]);
  const name = jobNameFor(cronJob(), minute(5));
  t.deepEqual(summary(planCronJob(cronJob({ concurrencyPolicy: 'Replace' }, last), running, minute(7)).actions), [
    'delete tick-old',
    'event SuccessfulDelete',
    `create ${name}`,
    'event SuccessfulCreate',
    'updateStatus',
  ]);
  t.deepEqual(summary(planCronJob(cronJob({}, last), running, minute(7)).actions), [
    `create ${name}`,
    'event SuccessfulCreate',
    'updateStatus',
  ]);
});

test('startingDeadlineSeconds: runs older than the deadline are not started', (t) => {
  t.deepEqual(summary(planCronJob(cronJob({ startingDeadlineSeconds: 60 }), [], minute(7)).actions), []);
  const spec = { startingDeadlineSeconds: 60 };
  t.deepEqual(summary(planCronJob(cronJob(spec), [], new Date(minute(5).getTime() + 30_000)).actions).slice(0, 1), [
    `create ${jobNameFor(cronJob(), minute(5))}`,
  ]);
  // The window starts at now - 60 s: with a 200 s deadline the run at minute 5 is still in time.
  const late = planCronJob(
    cronJob({ startingDeadlineSeconds: 200 }, { lastScheduleTime: minute(0).toISOString() }),
    [],
    minute(7),
  );
  t.is(summary(late.actions)[0], `create ${jobNameFor(cronJob(), minute(5))}`);
});

test('a suspended CronJob starts nothing; a bad schedule is reported', (t) => {
  t.deepEqual(summary(planCronJob(cronJob({ suspend: true }), [], minute(7)).actions), []);
  t.deepEqual(summary(planCronJob(cronJob({ schedule: 'every minute' }), [], minute(7)).actions), [
    'event InvalidSchedule',
  ]);
  t.deepEqual(summary(planCronJob(cronJob({ schedule: 'TZ=UTC */5 * * * *' }), [], minute(7)).actions), [
    'event InvalidSchedule',
  ]);
});

test('timeZone: 09:00 in New York is 14:00 UTC in January', (t) => {
  const plan = planCronJob(cronJob({ schedule: '0 9 * * *', timeZone: 'America/New_York' }), [], minute(14 * 60 + 30));
  t.is(summary(plan.actions)[0], `create ${jobNameFor(cronJob(), minute(14 * 60))}`);
  t.deepEqual(
    summary(
      planCronJob(cronJob({ schedule: '0 9 * * *', timeZone: 'America/New_York' }), [], minute(13 * 60 + 59)).actions,
    ),
    [],
  );
});

test('history limits keep the newest finished Jobs, and completions set lastSuccessfulTime', (t) => {
  const jobs = [1, 2, 3, 4, 5]
    .map((i) => job(`ok-${i}`, 'complete', i))
    .concat([job('bad-1', 'failed', 1), job('bad-2', 'failed', 2)]);
  const plan = planCronJob(
    cronJob({}, { lastScheduleTime: minute(5).toISOString(), active: [{ uid: 'uid-ok-5' }] }),
    jobs,
    minute(7),
  );
  t.deepEqual(
    summary(plan.actions).filter((a) => a.startsWith('delete')),
    ['delete ok-1', 'delete ok-2', 'delete bad-1'],
  );
  const status = plan.actions.find((a) => a.kind === 'updateStatus');
  t.like(status?.kind === 'updateStatus' ? status.object.status : undefined, {
    lastSuccessfulTime: minute(5).toISOString(),
  });
});

test('missed runs are counted, and counting stops early for very old CronJobs', (t) => {
  const every = parseSchedule('* * * * *', 'UTC');
  t.deepEqual(missedRuns(every, minute(0), minute(3)), { latest: minute(3), count: 3 });
  const far = missedRuns(every, minute(0), minute(10_000));
  t.true(far.count > 100);
  t.deepEqual(far.latest, minute(10_000));
});
