import test from 'ava';
import type { Pod } from '../../../kube/corev1.ts';
import { planStatefulSet, updateRevision } from '../../../controlplane/controllers/statefulset.ts';
import { planRevisions, type ControllerRevision } from '../../../controlplane/controllers/controller-revisions.ts';
import type { Action } from '../../../controlplane/controllers/actions.ts';
import type { StatefulSet } from '../../../controlplane/controllers/workload-types.ts';
import { describe, now, ownerRef, pod } from './fixtures.ts';

function statefulSet(replicas: number, extra: Partial<StatefulSet['spec']> = {}, image = 'db:1'): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: 'default', uid: 'uid-db', generation: 1 },
    spec: {
      replicas,
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image }] } },
      ...extra,
    },
  };
}

function member(
  ordinal: number,
  state: { ready?: boolean; image?: string; phase?: 'Running' | 'Failed' | 'Pending' } = {},
): Pod {
  const p = pod(`db-${ordinal}`, {
    owner: ownerRef('StatefulSet', 'db'),
    node: 'n',
    labels: { app: 'db' },
    ready: state.ready ?? true,
    phase: state.phase ?? 'Running',
  });
  p.metadata.labels!['controller-revision-hash'] = updateRevision(statefulSet(1, {}, state.image ?? 'db:1'));
  return p;
}

function created(actions: readonly Action[]): string[] {
  return actions.flatMap((a) => (a.kind === 'createPods' ? a.pods.map((p) => p.metadata.name ?? '?') : []));
}

function deleted(actions: readonly Action[]): string[] {
  return describe(actions)
    .filter((a) => a.startsWith('delete'))
    .map((a) => a.replace('delete pods ', ''));
}

test('OrderedReady creates one pod at a time, each after the previous is Running and Ready', (t) => {
  t.deepEqual(created(planStatefulSet(statefulSet(3), [], now).actions), ['db-0']);
  t.deepEqual(
    created(planStatefulSet(statefulSet(3), [member(0, { ready: false })], now).actions),
    [],
    'db-0 not ready yet',
  );
  t.deepEqual(created(planStatefulSet(statefulSet(3), [member(0)], now).actions), ['db-1']);
});

test('pods get stable names, ordinal labels and a DNS identity under the service', (t) => {
  const [action] = planStatefulSet(statefulSet(1), [], now).actions;
  const p = action?.kind === 'createPods' ? action.pods[0]! : undefined;
  t.is(p?.metadata.name, 'db-0');
  t.is(p?.metadata.generateName, undefined);
  t.is(p?.spec.hostname, 'db-0');
  t.is(p?.spec.subdomain, 'db');
  t.like(p?.metadata.labels, {
    'statefulset.kubernetes.io/pod-name': 'db-0',
    'apps.kubernetes.io/pod-index': '0',
    app: 'db',
  });
});

test('Parallel creates every missing pod at once and removes every surplus one', (t) => {
  t.deepEqual(created(planStatefulSet(statefulSet(3, { podManagementPolicy: 'Parallel' }), [], now).actions), [
    'db-0',
    'db-1',
    'db-2',
  ]);
  t.deepEqual(
    deleted(
      planStatefulSet(statefulSet(1, { podManagementPolicy: 'Parallel' }), [member(0), member(1), member(2)], now)
        .actions,
    ),
    ['db-2', 'db-1'],
  );
});

test('OrderedReady scales down from the highest ordinal, one at a time, only when all are healthy', (t) => {
  t.deepEqual(deleted(planStatefulSet(statefulSet(1), [member(0), member(1), member(2)], now).actions), ['db-2']);
  t.deepEqual(
    deleted(planStatefulSet(statefulSet(1), [member(0, { ready: false }), member(1), member(2)], now).actions),
    [],
  );
});

test('rolling update replaces from the highest ordinal down to the partition, one at a time', (t) => {
  const old = [member(0), member(1), member(2)];
  t.deepEqual(deleted(planStatefulSet(statefulSet(3, {}, 'db:2'), old, now).actions), ['db-2']);
  const halfway = [member(0), member(1), member(2, { image: 'db:2' })];
  t.deepEqual(deleted(planStatefulSet(statefulSet(3, {}, 'db:2'), halfway, now).actions), ['db-1']);
  const partitioned = statefulSet(
    3,
    { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } },
    'db:2',
  );
  t.deepEqual(
    deleted(planStatefulSet(partitioned, halfway, now).actions),
    [],
    'ordinals below the partition keep the old revision',
  );
  t.deepEqual(
    deleted(planStatefulSet(statefulSet(3, { updateStrategy: { type: 'OnDelete' } }, 'db:2'), old, now).actions),
    [],
  );
  t.deepEqual(
    deleted(
      planStatefulSet(statefulSet(3, {}, 'db:2'), [member(0), member(1, { ready: false }), member(2)], now).actions,
    ),
    [],
    'waits for every pod to be healthy',
  );
});

test('a failed pod is deleted to come back under the same name; status tracks revisions', (t) => {
  const plan = planStatefulSet(statefulSet(2), [member(0), member(1, { phase: 'Failed', ready: false })], now);
  t.deepEqual(deleted(plan.actions), ['db-1']);
  const rolled = planStatefulSet(statefulSet(2, {}, 'db:2'), [member(0), member(1, { image: 'db:2' })], now);
  const status = rolled.actions.find((a) => a.kind === 'updateStatus');
  t.like(status?.kind === 'updateStatus' ? status.object.status : undefined, {
    replicas: 2,
    readyReplicas: 2,
    updatedReplicas: 1,
    updateRevision: updateRevision(statefulSet(1, {}, 'db:2')),
  });
});

test('controller revisions: one per template, the current one on top, old unused ones pruned', (t) => {
  const set = statefulSet(1, { revisionHistoryLimit: 1 }, 'db:3');
  const revision = (hash: string, number: number): ControllerRevision => ({
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: `db-${hash}`,
      namespace: 'default',
      uid: `uid-rev-${hash}`,
      ownerReferences: [ownerRef('StatefulSet', 'db')],
    },
    revision: number,
  });
  const created = planRevisions({
    owner: set,
    hash: 'new',
    revisions: [revision('a', 1), revision('b', 2), revision('c', 3)],
    inUse: new Set(['db-a']),
  });
  t.deepEqual(describe(created), ['create controllerrevisions db-new', 'delete controllerrevisions db-b']);
  const first = created[0]!;
  t.is(first.kind === 'create' ? (first.object as ControllerRevision).revision : 0, 4);
  t.like(first.kind === 'create' ? (first.object as ControllerRevision).data : undefined, {
    spec: { template: { $patch: 'replace' } },
  });
  // An old template coming back (rollout undo) is renumbered to the top.
  const undo = planRevisions({
    owner: set,
    hash: 'a',
    revisions: [revision('a', 1), revision('b', 2)],
    inUse: new Set(),
  });
  t.deepEqual(describe(undo), ['update controllerrevisions db-a']);
  t.is(undo[0]!.kind === 'update' ? (undo[0]!.object as ControllerRevision).revision : 0, 3);
});
