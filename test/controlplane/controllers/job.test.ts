import test from 'ava';
import type { Pod } from '../../../kube/corev1.ts';
import { planJob } from '../../../controlplane/controllers/job.ts';
import type { Action } from '../../../controlplane/controllers/actions.ts';
import type { Job } from '../../../controlplane/controllers/workload-types.ts';
import { at, describe, now, ownerRef, pod } from './fixtures.ts';

function job(spec: Partial<Job['spec']> = {}, status?: Job['status']): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', namespace: 'default', uid: 'uid-pi', generation: 1, resourceVersion: '2' },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'busybox' }] } }, ...spec },
    ...(status ? { status } : {}),
  };
}

const mine = ownerRef('Job', 'pi', 'batch/v1');
const running = (name: string, extra = {}) => pod(name, { owner: mine, node: 'n', labels: {}, ...extra });
const succeeded = (name: string) => pod(name, { owner: mine, node: 'n', phase: 'Succeeded', labels: {} });
const failed = (name: string) => pod(name, { owner: mine, node: 'n', phase: 'Failed', labels: {} });

function status(actions: readonly Action[]): Job['status'] {
  const found = actions.find((a) => a.kind === 'updateStatus');
  return found?.kind === 'updateStatus' ? (found.object as Job).status : undefined;
}

function conditionTypes(actions: readonly Action[]): string[] {
  return (status(actions)?.conditions ?? []).map((c) => `${c.type}:${c.reason}`);
}

const creations: [string, Partial<Job['spec']>, Pod[], number][] = [
  ['a plain Job runs one pod', {}, [], 1],
  ['completions 5, parallelism 2: two at a time', { completions: 5, parallelism: 2 }, [], 2],
  [
    'completions 5, parallelism 2, one running, three done: one more',
    { completions: 5, parallelism: 2 },
    [running('a'), succeeded('b'), succeeded('c'), succeeded('d')],
    1,
  ],
  [
    'completions 5, parallelism 3, four done: just the last one',
    { completions: 5, parallelism: 3 },
    [succeeded('a'), succeeded('b'), succeeded('c'), succeeded('d')],
    1,
  ],
  ['work queue (parallelism only): three workers', { parallelism: 3 }, [], 3],
  ['work queue with one success: no new workers', { parallelism: 3 }, [succeeded('a'), running('b')], 0],
  ['a failed pod is replaced once its retry delay has passed', { completions: 1 }, [failed('a')], 1],
];
for (const [title, spec, pods, expected] of creations) {
  test(`job: ${title}`, (t) => {
    const plan = planJob(job(spec), pods, now);
    const created = plan.actions.find((a) => a.kind === 'createPods');
    t.is(created?.kind === 'createPods' ? created.pods.length : 0, expected);
  });
}

test('job pods carry the job-name and controller-uid labels and the owner reference', (t) => {
  const created = planJob(job(), [], now).actions.find((a) => a.kind === 'createPods');
  const p = created?.kind === 'createPods' ? created.pods[0] : undefined;
  t.like(p?.metadata.labels, {
    'batch.kubernetes.io/job-name': 'pi',
    'job-name': 'pi',
    'batch.kubernetes.io/controller-uid': 'uid-pi',
    'controller-uid': 'uid-pi',
  });
  t.deepEqual(p?.metadata.ownerReferences, [{ ...mine, uid: 'uid-pi' }]);
});

test('enough successes: SuccessCriteriaMet and Complete with completionTime and counts', (t) => {
  const { actions } = planJob(job({ completions: 2 }), [succeeded('a'), succeeded('b')], now);
  t.deepEqual(conditionTypes(actions), ['SuccessCriteriaMet:CompletionsReached', 'Complete:CompletionsReached']);
  t.like(status(actions), { succeeded: 2, failed: 0, active: 0, completionTime: '2026-01-01T00:10:00Z' });
});

test('failures beyond backoffLimit fail the Job and stop its running pods; Failed waits until they are gone', (t) => {
  const pods = [failed('a'), failed('b'), failed('c'), running('d')];
  const first = planJob(job({ backoffLimit: 2, parallelism: 1 }), pods, now);
  t.deepEqual(
    describe(first.actions).filter((a) => a.startsWith('delete')),
    ['delete pods d'],
  );
  t.deepEqual(conditionTypes(first.actions), ['FailureTarget:BackoffLimitExceeded']);
  const next = planJob(job({ backoffLimit: 2 }, status(first.actions)), pods.slice(0, 3), now);
  t.deepEqual(conditionTypes(next.actions), ['FailureTarget:BackoffLimitExceeded', 'Failed:BackoffLimitExceeded']);
  t.false(
    next.actions.some((a) => a.kind === 'createPods'),
    'a failing Job starts nothing new',
  );
});

test('exactly backoffLimit failures still retries', (t) => {
  const plan = planJob(job({ backoffLimit: 2 }), [failed('a'), failed('b')], now);
  t.true(plan.actions.some((a) => a.kind === 'createPods'));
  t.deepEqual(conditionTypes(plan.actions), []);
});

test('with restartPolicy OnFailure, container restarts count against the backoff limit', (t) => {
  const spec = {
    backoffLimit: 1,
    template: { spec: { restartPolicy: 'OnFailure' as const, containers: [{ name: 'pi', image: 'busybox' }] } },
  };
  const plan = planJob(job(spec), [running('a', { restarts: 2 })], now);
  t.deepEqual(conditionTypes(plan.actions), ['FailureTarget:BackoffLimitExceeded']);
});

test('activeDeadlineSeconds: fails once passed, else asks to be looked at when it passes', (t) => {
  const started = { startTime: at(0), active: 1, ready: 0, succeeded: 0, failed: 0 };
  const late = planJob(job({ activeDeadlineSeconds: 300 }, started), [running('a')], now);
  t.deepEqual(conditionTypes(late.actions), ['FailureTarget:DeadlineExceeded']);
  const early = planJob(job({ activeDeadlineSeconds: 900 }, started), [running('a')], now);
  t.is(early.requeueAfterMs, 300_001);
});

test('ttlSecondsAfterFinished deletes the finished Job when due, and not before', (t) => {
  const done = {
    completionTime: at(0),
    succeeded: 1,
    conditions: [{ type: 'Complete', status: 'True' as const, lastTransitionTime: at(0) }],
  };
  t.deepEqual(describe(planJob(job({ ttlSecondsAfterFinished: 60 }, done), [], now).actions), [
    'delete jobs pi (Foreground)',
  ]);
  const wait = planJob(job({ ttlSecondsAfterFinished: 3600 }, done), [], now);
  t.deepEqual(wait.actions, []);
  t.is(wait.requeueAfterMs, 3000_001);
  t.deepEqual(planJob(job({}, done), [], now).actions, [], 'without a TTL a finished Job stays');
});

test('a suspended Job stops its pods and starts none', (t) => {
  const plan = planJob(job({ suspend: true, parallelism: 2 }), [running('a')], now);
  t.deepEqual(describe(plan.actions), ['delete pods a', 'status jobs pi', 'event Suspended']);
});

test('failed pods are retried after 10 s, doubling per failure up to 6 minutes', (t) => {
  const failedAt = (name: string, second: number) => {
    const p = failed(name);
    p.status!.containerStatuses = [
      {
        name: 'pi',
        ready: false,
        restartCount: 0,
        image: 'busybox',
        imageID: '',
        state: { terminated: { exitCode: 1, finishedAt: at(second) } },
      },
    ];
    return p;
  };
  // now is 600 s; one failure at 595 s: 10 s delay, 5 s to go.
  const early = planJob(job(), [failedAt('a', 595)], now);
  t.false(early.actions.some((a) => a.kind === 'createPods'));
  t.is(early.requeueAfterMs, 5_001);
  // Three failures, the last at 570 s: 40 s delay, ready at 610 s.
  const three = planJob(job(), [failedAt('a', 500), failedAt('b', 550), failedAt('c', 570)], now);
  t.is(three.requeueAfterMs, 10_001);
  t.true(
    planJob(job(), [failedAt('a', 500), failedAt('b', 550), failedAt('c', 560)], now).actions.some(
      (a) => a.kind === 'createPods',
    ),
  );
});

const indexKey = 'batch.kubernetes.io/job-completion-index';
const indexedPod = (name: string, index: number, phase?: 'Succeeded' | 'Failed', exitCode = 1) => {
  const p = pod(name, { owner: mine, node: 'n', labels: {}, ...(phase ? { phase } : {}) });
  p.metadata.annotations = { [indexKey]: String(index) };
  if (phase === 'Failed')
    p.status!.containerStatuses = [
      { name: 'pi', ready: false, restartCount: 0, image: 'busybox', imageID: '', state: { terminated: { exitCode } } },
    ];
  return p;
};
const indexed = (spec: Partial<Job['spec']> = {}) => ({ completionMode: 'Indexed' as const, ...spec });
const createdPods = (actions: readonly Action[]) => actions.flatMap((a) => (a.kind === 'createPods' ? a.pods : []));

test('an Indexed Job starts one pod per free index, each with its index and hostname', (t) => {
  const plan = planJob(job(indexed({ completions: 5, parallelism: 3 })), [indexedPod('pi-1', 1, 'Succeeded')], now);
  const created = createdPods(plan.actions);
  t.deepEqual(
    created.map((p) => [p.metadata.generateName, p.spec.hostname, p.metadata.annotations?.[indexKey]]),
    [
      ['pi-0-', 'pi-0', '0'],
      ['pi-2-', 'pi-2', '2'],
      ['pi-3-', 'pi-3', '3'],
    ],
  );
  t.is(created[0]!.spec.containers[0]!.env?.[0]?.name, 'JOB_COMPLETION_INDEX');
  t.like(status(plan.actions), { succeeded: 1, completedIndexes: '1' });
});

test('an Indexed Job completes when every index succeeded once, however many pods ran', (t) => {
  const pods = [
    indexedPod('a', 0, 'Succeeded'),
    indexedPod('b', 1, 'Succeeded'),
    indexedPod('c', 1, 'Succeeded'),
    indexedPod('d', 2, 'Failed'),
  ];
  const notYet = planJob(job(indexed({ completions: 3 })), pods, new Date(Date.parse('2026-01-01T01:00:00Z')));
  t.deepEqual(conditionTypes(notYet.actions), []);
  t.deepEqual(
    createdPods(notYet.actions).map((p) => p.spec.hostname),
    ['pi-2'],
  );
  t.like(status(notYet.actions), { succeeded: 2, failed: 1, completedIndexes: '0-1' });
  const done = planJob(job(indexed({ completions: 3 })), [...pods, indexedPod('e', 2, 'Succeeded')], now);
  t.deepEqual(conditionTypes(done.actions), ['SuccessCriteriaMet:CompletionsReached', 'Complete:CompletionsReached']);
  t.like(status(done.actions), { succeeded: 3, completedIndexes: '0-2' });
});

const ignore42 = { rules: [{ action: 'Ignore' as const, onExitCodes: { operator: 'In' as const, values: [42] } }] };

test('podFailurePolicy Ignore: a pod exiting 42 is replaced at once and not counted, even with backoffLimit 0', (t) => {
  const plan = planJob(job({ backoffLimit: 0, podFailurePolicy: ignore42 }), [indexedPod('a', 0, 'Failed', 42)], now);
  t.deepEqual(conditionTypes(plan.actions), []);
  t.is(createdPods(plan.actions).length, 1);
  t.like(status(plan.actions), { failed: 0 });
  const counted = planJob(job({ backoffLimit: 0, podFailurePolicy: ignore42 }), [indexedPod('a', 0, 'Failed', 1)], now);
  t.deepEqual(conditionTypes(counted.actions), ['FailureTarget:BackoffLimitExceeded', 'Failed:BackoffLimitExceeded']);
});

test('podFailurePolicy FailJob fails the Job at once with the rule in the message', (t) => {
  const policy = { rules: [{ action: 'FailJob' as const, onExitCodes: { operator: 'In' as const, values: [3] } }] };
  const plan = planJob(job({ podFailurePolicy: policy }), [indexedPod('a', 0, 'Failed', 3), running('b')], now);
  t.deepEqual(conditionTypes(plan.actions), ['FailureTarget:PodFailurePolicy']);
  t.is(
    status(plan.actions)?.conditions?.[0]?.message,
    'Container pi for pod default/a failed with exit code 3 matching FailJob rule at index 0',
  );
  t.deepEqual(
    describe(plan.actions).filter((a) => a.startsWith('delete')),
    ['delete pods b'],
  );
});

test('backoffLimitPerIndex: an index past its limit is failed, the others go on; then FailedIndexes', (t) => {
  const spec = indexed({ completions: 3, parallelism: 3, backoffLimitPerIndex: 0 });
  const later = new Date(Date.parse('2026-01-01T01:00:00Z'));
  const pods = [indexedPod('a', 0, 'Failed'), indexedPod('b', 1, 'Succeeded')];
  const plan = planJob(job(spec), pods, later);
  t.deepEqual(
    createdPods(plan.actions).map((p) => [
      p.spec.hostname,
      p.metadata.annotations?.['batch.kubernetes.io/job-index-failure-count'],
    ]),
    [['pi-2', '0']],
  );
  t.like(status(plan.actions), { failedIndexes: '0', completedIndexes: '1' });
  const end = planJob(job(spec), [...pods, indexedPod('c', 2, 'Succeeded')], later);
  t.deepEqual(conditionTypes(end.actions), ['FailureTarget:FailedIndexes', 'Failed:FailedIndexes']);
  const strict = planJob(job({ ...spec, maxFailedIndexes: 0 }), pods, later);
  t.deepEqual(conditionTypes(strict.actions), [
    'FailureTarget:MaxFailedIndexesExceeded',
    'Failed:MaxFailedIndexesExceeded',
  ]);
});

test('backoffLimitPerIndex: a retried index carries its failure count to the next pod', (t) => {
  const spec = indexed({ completions: 1, backoffLimitPerIndex: 2 });
  const first = indexedPod('a', 0, 'Failed');
  first.metadata.annotations!['batch.kubernetes.io/job-index-failure-count'] = '1';
  const plan = planJob(job(spec), [first], new Date(Date.parse('2026-01-01T01:00:00Z')));
  t.is(createdPods(plan.actions)[0]?.metadata.annotations?.['batch.kubernetes.io/job-index-failure-count'], '2');
});

test('successPolicy: the Job succeeds once a rule is met and stops the rest', (t) => {
  const spec = indexed({ completions: 5, parallelism: 5, successPolicy: { rules: [{ succeededIndexes: '0,2' }] } });
  const plan = planJob(
    job(spec),
    [indexedPod('a', 0, 'Succeeded'), indexedPod('b', 2, 'Succeeded'), indexedPod('c', 1)],
    now,
  );
  t.deepEqual(conditionTypes(plan.actions), ['SuccessCriteriaMet:SuccessPolicy']);
  t.is(status(plan.actions)?.conditions?.[0]?.message, 'Matched rules at index 0');
  t.deepEqual(
    describe(plan.actions).filter((a) => a.startsWith('delete')),
    ['delete pods c'],
  );
});

test('suspend records Suspended; resuming turns it False and starts the clock again', (t) => {
  const suspended = planJob(job({ suspend: true }, { startTime: at(0) }), [], now);
  t.deepEqual(conditionTypes(suspended.actions), ['Suspended:JobSuspended']);
  const resumed = planJob(job({ suspend: false }, status(suspended.actions)), [], now);
  const condition = status(resumed.actions)?.conditions?.[0];
  t.like(condition, { type: 'Suspended', status: 'False', reason: 'JobResumed', message: 'Job resumed' });
  t.is(status(resumed.actions)?.startTime, '2026-01-01T00:10:00Z');
});

test('podReplacementPolicy Failed waits for a terminating pod; TerminatingOrFailed does not', (t) => {
  const leaving = running('a', { deleting: true });
  const waiting = planJob(job({ podReplacementPolicy: 'Failed' }), [leaving], now);
  t.is(createdPods(waiting.actions).length, 0);
  t.like(status(waiting.actions), { terminating: 1, active: 0 });
  const eager = planJob(job({ podReplacementPolicy: 'TerminatingOrFailed' }), [leaving], now);
  t.is(createdPods(eager.actions).length, 1);
});

test('Complete waits until no pod of the Job is still terminating', (t) => {
  const pods = [succeeded('a'), running('b', { deleting: true })];
  const plan = planJob(job({ completions: 1, parallelism: 2 }), pods, now);
  t.deepEqual(conditionTypes(plan.actions), ['SuccessCriteriaMet:CompletionsReached']);
  t.like(status(plan.actions), { terminating: 1 });
  const later = planJob(job({ completions: 1 }, status(plan.actions)), [succeeded('a')], now);
  t.deepEqual(conditionTypes(later.actions), ['SuccessCriteriaMet:CompletionsReached', 'Complete:CompletionsReached']);
});

test('a suspended Job is not failed by its activeDeadlineSeconds', (t) => {
  const started = { startTime: at(0) };
  const plan = planJob(job({ suspend: true, activeDeadlineSeconds: 60 }, started), [], now);
  t.deepEqual(conditionTypes(plan.actions), ['Suspended:JobSuspended']);
});

test('the Job records events as upstream: Completed, the failure reason, Suspended and Resumed', (t) => {
  const events = (actions: readonly Action[]) =>
    actions.flatMap((a) => (a.kind === 'event' ? [`${a.type} ${a.reason}: ${a.message}`] : []));
  t.deepEqual(events(planJob(job(), [succeeded('a')], now).actions), ['Normal Completed: Job completed']);
  t.deepEqual(events(planJob(job({ backoffLimit: 0 }), [failed('a')], now).actions), [
    'Warning BackoffLimitExceeded: Job has reached the specified backoff limit',
  ]);
  const suspended = planJob(job({ suspend: true }), [], now);
  t.deepEqual(events(suspended.actions), ['Normal Suspended: Job suspended']);
  t.deepEqual(events(planJob(job({}, status(suspended.actions)), [], now).actions), ['Normal Resumed: Job resumed']);
  const done = planJob(job(), [succeeded('a')], now);
  t.deepEqual(events(planJob(job({}, status(done.actions)), [succeeded('a')], now).actions), [], 'recorded once');
});

test('backoffLimitPerIndex: each index waits out its own retry delay, the others start at once', (t) => {
  const spec = indexed({ completions: 3, parallelism: 3, backoffLimitPerIndex: 3 });
  const recent = indexedPod('a', 0, 'Failed');
  recent.status!.containerStatuses![0]!.state = { terminated: { exitCode: 1, finishedAt: at(595) } };
  const olderFailures = indexedPod('b', 1, 'Failed');
  olderFailures.metadata.annotations!['batch.kubernetes.io/job-index-failure-count'] = '1';
  olderFailures.status!.containerStatuses![0]!.state = { terminated: { exitCode: 1, finishedAt: at(570) } };
  const plan = planJob(job(spec), [recent, olderFailures], now);
  // index 0: one failure at 595 s, 10 s delay, 5 s to go; index 1: two failures, 20 s from 570 s: ready.
  t.deepEqual(
    createdPods(plan.actions).map((p) => p.spec.hostname),
    ['pi-1', 'pi-2'],
  );
  t.is(plan.requeueAfterMs, 5_001);
});
