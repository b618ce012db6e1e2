import test from 'ava';
import {
  budgetStatus,
  planDisruptionBudget,
  type PodDisruptionBudget,
  type ScaleOf,
} from '../../../controlplane/controllers/disruption.ts';
import { at, now, ownerRef, pod } from './fixtures.ts';

const budget = (spec: PodDisruptionBudget['spec'], status?: PodDisruptionBudget['status']): PodDisruptionBudget => ({
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  metadata: { name: 'web', namespace: 'default', uid: 'uid-pdb', generation: 3, resourceVersion: '7' },
  spec: { selector: { matchLabels: { app: 'web' } }, ...spec },
  ...(status ? { status } : {}),
});
const rs = ownerRef('ReplicaSet', 'web-1');
/** web-1 is a ReplicaSet of Deployment web scaled to `replicas`. */
const deploymentOf =
  (replicas: number): ScaleOf =>
  (_ns, kind, name) =>
    kind === 'ReplicaSet' && name.startsWith('web-') ? { owner: 'uid-web', replicas } : undefined;
const ready = (name: string, extra: Parameters<typeof pod>[1] = {}) =>
  pod(name, { owner: rs, node: 'n1', ready: true, ...extra });

test('minAvailable as a number counts healthy pods against it', (t) => {
  const pods = [ready('a'), ready('b'), ready('c'), pod('d', { owner: rs, node: 'n1', ready: false })];
  const { status } = budgetStatus(budget({ minAvailable: 2 }), pods, deploymentOf(4), now);
  t.like(status, {
    currentHealthy: 3,
    desiredHealthy: 2,
    expectedPods: 4,
    disruptionsAllowed: 1,
    observedGeneration: 3,
  });
  t.like(status.conditions?.[0], { type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods' });
});

test('maxUnavailable and percentages count against the controller scale, not the pods found', (t) => {
  // Deployment of 5 with only 3 pods, all ready: 2 are already missing
  const pods = [ready('a'), ready('b'), ready('c')];
  const max = budgetStatus(budget({ maxUnavailable: 1 }), pods, deploymentOf(5), now).status;
  t.like(max, { expectedPods: 5, desiredHealthy: 4, currentHealthy: 3, disruptionsAllowed: 0 });
  t.like(max.conditions?.[0], { status: 'False', reason: 'InsufficientPods', message: '' });
  // 50% of 5 rounds up to 3 that must stay: one may go
  const percent = budgetStatus(budget({ minAvailable: '50%' }), pods, deploymentOf(5), now).status;
  t.like(percent, { expectedPods: 5, desiredHealthy: 3, disruptionsAllowed: 0 });
  const more = budgetStatus(budget({ minAvailable: '50%' }), [...pods, ready('d')], deploymentOf(5), now).status;
  t.is(more.disruptionsAllowed, 1);
  // maxUnavailable 40% of 5 rounds up to 2 unavailable: 3 must stay
  t.like(budgetStatus(budget({ maxUnavailable: '40%' }), [...pods, ready('d')], deploymentOf(5), now).status, {
    desiredHealthy: 3,
    disruptionsAllowed: 1,
  });
});

test('a pod whose controller is missing fails safe: nothing allowed, SyncFailed', (t) => {
  const { status } = budgetStatus(
    budget({ maxUnavailable: 1 }),
    [ready('a'), ready('orphan', { owner: ownerRef('StatefulSet', 'gone') })],
    deploymentOf(2),
    now,
  );
  t.is(status.disruptionsAllowed, 0);
  t.like(status.conditions?.[0], {
    status: 'False',
    reason: 'SyncFailed',
    message: 'found no controllers for pod "orphan"',
  });
});

test('evicted pods in disruptedPods are not healthy until seen going or two minutes pass', (t) => {
  const pods = [ready('a'), ready('b'), ready('c')];
  const noted = budget(
    { minAvailable: 1 },
    {
      disruptedPods: { a: at(590), gone: at(590), old: at(400) },
      disruptionsAllowed: 1,
      currentHealthy: 2,
      desiredHealthy: 1,
      expectedPods: 3,
    },
  );
  const { status, recheckAt } = budgetStatus(noted, [...pods, ready('old')], deploymentOf(4), now);
  // `gone` has no pod, `old` ran out: only `a` stays noted
  t.deepEqual(status.disruptedPods, { a: at(590) });
  t.like(status, { currentHealthy: 3, disruptionsAllowed: 2 });
  t.is(recheckAt, Date.parse(at(590)) + 120_000);
  const plan = planDisruptionBudget(noted, pods, deploymentOf(3), now);
  t.is(plan.actions[0]?.kind, 'updateStatus');
  t.true(plan.actions[0]?.kind === 'updateStatus' && plan.actions[0].strict === true);
  t.is(plan.requeueAfterMs, 110_001);
});

test('a budget whose status is current plans nothing; one without a selector covers no pod', (t) => {
  const pods = [ready('a'), ready('b')];
  const first = budgetStatus(budget({ minAvailable: 1 }), pods, deploymentOf(2), now).status;
  t.deepEqual(planDisruptionBudget(budget({ minAvailable: 1 }, first), pods, deploymentOf(2), now).actions, []);
  const none: PodDisruptionBudget = { ...budget({ minAvailable: 1 }), spec: { minAvailable: 1 } };
  t.like(budgetStatus(none, pods, deploymentOf(2), now).status, {
    currentHealthy: 0,
    expectedPods: 0,
    disruptionsAllowed: 0,
  });
});
