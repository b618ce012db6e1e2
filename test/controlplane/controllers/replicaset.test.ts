import test from 'ava';
import { planReplicaSet } from '../../../controlplane/controllers/replicaset.ts';
import { deletionOrder, slowStartBatches } from '../../../controlplane/controllers/pods.ts';
import type { ReplicaSet } from '../../../controlplane/controllers/workload-types.ts';
import { describe, now, ownerRef, pod, replicaSet } from './fixtures.ts';

const mine = ownerRef('ReplicaSet', 'web');

test('creates the missing pods from the template, owned by the ReplicaSet', (t) => {
  const rs = replicaSet('web', 3);
  const plan = planReplicaSet(rs, [pod('web-1', { owner: mine, node: 'n1' })], now);
  t.deepEqual(describe(plan.actions), ['create 2 pod(s)', 'status replicasets web']);
  const created = plan.actions[0]!.kind === 'createPods' ? plan.actions[0]!.pods : [];
  t.is(created[0]!.metadata.generateName, 'web-');
  t.deepEqual(created[0]!.metadata.labels, { app: 'web' });
  t.deepEqual(created[0]!.metadata.ownerReferences, [mine]);
});

test('nothing to do when the count is right and status is current', (t) => {
  const rs = replicaSet('web', 1);
  rs.status = { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 };
  t.deepEqual(planReplicaSet(rs, [pod('a', { owner: mine, node: 'n', ready: true })], now).actions, []);
});

test('adopts matching orphans, releases owned pods that stopped matching, ignores others', (t) => {
  const rs = replicaSet('web', 2);
  const pods = [
    pod('orphan', { node: 'n1' }),
    pod('renamed', { owner: mine, labels: { app: 'other' } }),
    pod('foreign', { owner: ownerRef('ReplicaSet', 'api') }),
    pod('kept', { owner: mine }),
    pod('other-ns', { namespace: 'elsewhere' }),
  ];
  const plan = planReplicaSet(rs, pods, now);
  t.deepEqual(describe(plan.actions), ['update pods orphan', 'update pods renamed', 'status replicasets web']);
  const [adopt, release] = plan.actions;
  t.deepEqual(adopt!.kind === 'update' ? adopt!.object.metadata.ownerReferences : undefined, [mine]);
  t.deepEqual(release!.kind === 'update' ? release!.object.metadata.ownerReferences : undefined, []);
});

test('a ReplicaSet being deleted neither adopts nor creates', (t) => {
  const rs: ReplicaSet = {
    ...replicaSet('web', 3),
    metadata: { ...replicaSet('web', 3).metadata, deletionTimestamp: '2026-01-01T00:00:00Z' },
  };
  const plan = planReplicaSet(rs, [pod('orphan')], now);
  t.false(describe(plan.actions).some((a) => a.startsWith('create') || a.startsWith('update pods')));
});

test('finished and deleting pods do not count; they are replaced', (t) => {
  const rs = replicaSet('web', 2);
  const pods = [
    pod('done', { owner: mine, phase: 'Succeeded', node: 'n' }),
    pod('going', { owner: mine, deleting: true }),
    pod('live', { owner: mine, node: 'n' }),
  ];
  t.deepEqual(describe(planReplicaSet(rs, pods, now).actions), ['create 1 pod(s)', 'status replicasets web']);
});

test('scale down deletes unscheduled, then pending, then not ready, then the newest ready pods', (t) => {
  const pods = [
    pod('ready-old', { owner: mine, node: 'n', ready: true, readySince: 10, index: 1 }),
    pod('ready-new', { owner: mine, node: 'n', ready: true, readySince: 100, index: 2 }),
    pod('not-ready', { owner: mine, node: 'n', ready: false, index: 3 }),
    pod('pending', { owner: mine, node: 'n', phase: 'Pending', index: 4 }),
    pod('unscheduled', { owner: mine, index: 5 }),
  ];
  const table: [number, string[]][] = [
    [4, ['delete pods unscheduled']],
    [3, ['delete pods unscheduled', 'delete pods pending']],
    [2, ['delete pods unscheduled', 'delete pods pending', 'delete pods not-ready']],
    [1, ['delete pods unscheduled', 'delete pods pending', 'delete pods not-ready', 'delete pods ready-new']],
  ];
  for (const [replicas, expected] of table) {
    t.deepEqual(
      describe(planReplicaSet(replicaSet('web', replicas), pods, now).actions).filter((a) => a.startsWith('delete')),
      expected,
      `replicas ${replicas}`,
    );
  }
});

test('deletion order: among equals, more restarts first, then newer first', (t) => {
  const a = pod('a', { node: 'n', ready: false, restarts: 5, index: 1 });
  const b = pod('b', { node: 'n', ready: false, restarts: 0, index: 2 });
  const c = pod('c', { node: 'n', ready: false, restarts: 0, index: 3 });
  t.deepEqual(
    [b, c, a].sort(deletionOrder).map((p) => p.metadata.name),
    ['a', 'c', 'b'],
  );
});

test('slow start batches double and stop at the total', (t) => {
  t.deepEqual(slowStartBatches(10), [1, 2, 4, 3]);
  t.deepEqual(slowStartBatches(1), [1]);
  t.deepEqual(slowStartBatches(0), []);
});

test('status counts ready and available pods; available waits for minReadySeconds and asks to come back', (t) => {
  const rs = replicaSet('web', 2, { minReadySeconds: 60 });
  // now is minute 10 (600 s); one pod ready since 500 s (available), one since 580 s (available at 640 s).
  const pods = [
    pod('a', { owner: mine, node: 'n', ready: true, readySince: 500 }),
    pod('b', { owner: mine, node: 'n', ready: true, readySince: 580 }),
  ];
  const plan = planReplicaSet(rs, pods, now);
  const status = plan.actions.find((a) => a.kind === 'updateStatus');
  t.like(status?.kind === 'updateStatus' ? status.object.status : {}, {
    replicas: 2,
    readyReplicas: 2,
    availableReplicas: 1,
    observedGeneration: 1,
  });
  t.is(plan.requeueAfterMs, 40_001);
});
