import test from 'ava';
import { planEviction } from '../../controlplane/api/eviction-plan.ts';
import type { PodDisruptionBudget } from '../../controlplane/controllers/disruption.ts';
import type { KubeObject } from '../../kube/types.ts';

const now = new Date('2026-01-01T00:10:00Z');

function pod(name: string, phase = 'Running', ready = true): KubeObject {
  return {
    metadata: { name, namespace: 'default', labels: { app: 'web' }, resourceVersion: '5' },
    status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

function budget(status: Partial<NonNullable<PodDisruptionBudget['status']>>, generation = 2): PodDisruptionBudget {
  return {
    metadata: { name: 'web', namespace: 'default', generation, resourceVersion: '9' },
    spec: { selector: { matchLabels: { app: 'web' } }, minAvailable: 2 },
    status: {
      observedGeneration: 2,
      disruptionsAllowed: 1,
      currentHealthy: 3,
      desiredHealthy: 2,
      expectedPods: 3,
      ...status,
    },
  };
}

test('a budget that allows spends one disruption and notes the pod', (t) => {
  const step = planEviction(pod('a'), [budget({})], now);
  if (step.kind !== 'spend') return t.fail(step.kind);
  t.is(step.status.disruptionsAllowed, 0);
  t.deepEqual(step.status.disruptedPods, { a: '2026-01-01T00:10:00Z' });
  t.like(step.status.conditions?.[0], { type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods' });
});

test('refusals: nothing allowed (429), status behind the spec (429, retry in 10 s), negative or overfull (403)', (t) => {
  const none = planEviction(pod('a'), [budget({ disruptionsAllowed: 0, currentHealthy: 2 })], now);
  t.true(none.kind === 'refuse' && none.error.code === 429 && none.error.details?.retryAfterSeconds === undefined);
  t.deepEqual(none.kind === 'refuse' ? none.error.details?.causes : undefined, [
    { reason: 'DisruptionBudget', message: 'The disruption budget web needs 2 healthy pods and has 2 currently' },
  ]);
  const behind = planEviction(pod('a'), [budget({}, 3)], now);
  t.true(behind.kind === 'refuse' && behind.error.code === 429 && behind.error.details?.retryAfterSeconds === 10);
  t.deepEqual(
    behind.kind === 'refuse' ? behind.error.details?.causes?.[0]?.message : undefined,
    'The disruption budget web is still being processed by the server.',
  );
  const negative = planEviction(pod('a'), [budget({ disruptionsAllowed: -1 })], now);
  t.true(negative.kind === 'refuse' && negative.error.code === 403);
  t.is(
    negative.kind === 'refuse' ? negative.error.message : '',
    'poddisruptionbudget.policy "web" is forbidden: pdb disruptions allowed is negative',
  );
  const notes = Object.fromEntries(Array.from({ length: 2001 }, (_, i) => [`p${i}`, '2026-01-01T00:09:00Z']));
  const overfull = planEviction(pod('a'), [budget({ disruptedPods: notes })], now);
  t.true(overfull.kind === 'refuse' && overfull.error.code === 403);
});

test('pods not running, finished or going are deleted without asking; unready ones by policy', (t) => {
  const blocked = [budget({ disruptionsAllowed: 0 })];
  for (const phase of ['Pending', 'Succeeded', 'Failed'])
    t.is(planEviction(pod('a', phase), blocked, now).kind, 'delete');
  const going = pod('a');
  going.metadata.deletionTimestamp = '2026-01-01T00:09:00Z';
  t.is(planEviction(going, blocked, now).kind, 'delete');
  // unready: healthy enough without it (3 >= 2)
  t.is(planEviction(pod('a', 'Running', false), [budget({ disruptionsAllowed: 0 })], now).kind, 'deleteUnready');
  // unready but the application is short: guarded
  t.is(
    planEviction(pod('a', 'Running', false), [budget({ disruptionsAllowed: 0, currentHealthy: 1 })], now).kind,
    'refuse',
  );
  const always = budget({ disruptionsAllowed: 0, currentHealthy: 1 });
  always.spec = { ...always.spec, unhealthyPodEvictionPolicy: 'AlwaysAllow' };
  t.is(planEviction(pod('a', 'Running', false), [always], now).kind, 'deleteUnready');
  t.is(planEviction(pod('a'), [], now).kind, 'delete');
  t.is(planEviction(pod('a'), [budget({}), budget({})], now).kind, 'severalBudgets');
});
