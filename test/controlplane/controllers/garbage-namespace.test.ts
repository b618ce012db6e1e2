import test from 'ava';
import type { KubeObject } from '../../../kube/types.ts';
import { planGarbage } from '../../../controlplane/controllers/garbage-collector.ts';
import { planNamespace } from '../../../controlplane/controllers/namespace.ts';
import { planDefaultServiceAccount } from '../../../controlplane/controllers/serviceaccount.ts';
import type { Caches } from '../../../controlplane/controllers/manager.ts';
import type { ResourceName } from '../../../controlplane/controllers/client.ts';
import { MemoryCluster } from '../../../controlplane/controllers/memory-cluster.ts';
import { startControlLoops, type RunningControlLoops } from '../../../controlplane/controllers/control-loops.ts';
import { waitFor } from '../../helpers/wait.ts';
import { describe, ownerRef, pod } from './fixtures.ts';
import { node } from '../scheduler/fixtures.ts';
import { startFakeKubelet, type FakeKubelet } from './fake-kubelet.ts';

function caches(objects: Partial<Record<ResourceName, KubeObject[]>>): Caches {
  const key = (o: KubeObject) =>
    o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : (o.metadata.name ?? '');
  return {
    get: (resource, k) => (objects[resource] ?? []).find((o) => key(o) === k),
    list: (resource, namespace) =>
      (objects[resource] ?? []).filter((o) => namespace === undefined || o.metadata.namespace === namespace),
    claimable: (resource, owner) =>
      (objects[resource] ?? []).filter((o) => o.metadata.namespace === owner.metadata.namespace),
  };
}

const rs = (name: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name, namespace: 'default', uid: `uid-${name}`, ...extra },
});

test('gc: a dependent whose only owner is gone is deleted, checked against the API first', (t) => {
  const plan = planGarbage(pod('p', { owner: ownerRef('ReplicaSet', 'web') }), 'pods')(caches({}));
  t.deepEqual(describe(plan.actions), ['delete pods p']);
  const action = plan.actions[0]!;
  t.deepEqual(action.kind === 'delete' ? action.ifAbsent : undefined, [
    { resource: 'replicasets', namespace: 'default', name: 'web', uid: 'uid-web' },
  ]);
});

test('gc: an owner with the same name but another uid is a different object', (t) => {
  const plan = planGarbage(
    pod('p', { owner: ownerRef('ReplicaSet', 'web') }),
    'pods',
  )(caches({ replicasets: [rs('web', { uid: 'uid-new' })] }));
  t.deepEqual(describe(plan.actions), ['delete pods p']);
});

test('gc: a present owner keeps its dependent; unknown owner kinds count as present', (t) => {
  t.deepEqual(
    planGarbage(pod('p', { owner: ownerRef('ReplicaSet', 'web') }), 'pods')(caches({ replicasets: [rs('web')] }))
      .actions,
    [],
  );
  t.deepEqual(
    planGarbage(pod('p', { owner: { ...ownerRef('Widget', 'w', 'example.com/v1') } }), 'pods')(caches({})).actions,
    [],
  );
});

test('gc: one owner gone of two drops only the dangling reference', (t) => {
  const p = pod('p');
  p.metadata.ownerReferences = [
    ownerRef('ReplicaSet', 'web'),
    { ...ownerRef('ReplicaSet', 'gone'), controller: false },
  ];
  const plan = planGarbage(p, 'pods')(caches({ replicasets: [rs('web')] }));
  t.deepEqual(describe(plan.actions), ['update pods p']);
  t.deepEqual(
    plan.actions[0]!.kind === 'update' ? plan.actions[0]!.object.metadata.ownerReferences?.map((r) => r.name) : [],
    ['web'],
  );
});

test('gc: an owner deleting with the orphan finalizer releases; with foregroundDeletion deletes first', (t) => {
  const deleting = (finalizer: string) =>
    rs('web', { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: [finalizer] });
  const orphan = planGarbage(
    pod('p', { owner: ownerRef('ReplicaSet', 'web') }),
    'pods',
  )(caches({ replicasets: [deleting('orphan')] }));
  t.deepEqual(
    orphan.actions[0]!.kind === 'update' ? orphan.actions[0]!.object.metadata.ownerReferences : 'not an update',
    [],
  );
  const foreground = planGarbage(
    pod('p', { owner: ownerRef('ReplicaSet', 'web') }),
    'pods',
  )(caches({ replicasets: [deleting('foregroundDeletion')] }));
  t.deepEqual(describe(foreground.actions), ['delete pods p']);
});

const terminating: KubeObject = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'team', deletionTimestamp: '2026-01-01T00:00:00Z' },
  spec: { finalizers: ['kubernetes'] },
  status: { phase: 'Terminating' },
};

test('namespace: a terminating namespace empties itself, then drops its finalizer', (t) => {
  const ns = terminating;
  const full = planNamespace(
    ns,
    caches({
      pods: [pod('a', { namespace: 'team' }), pod('b', { namespace: 'other' })],
      configmaps: [{ metadata: { name: 'cfg', namespace: 'team' } }],
    }),
  );
  t.deepEqual(describe(full.actions), [
    'delete pods a (Background)',
    'delete configmaps cfg (Background)',
    'status namespaces team',
  ]);
  t.is(full.requeueAfterMs, 2000);
  const empty = planNamespace(ns, caches({}));
  t.deepEqual(describe(empty.actions), ['update namespaces team']);
  t.deepEqual(empty.actions[0]!.kind === 'update' ? empty.actions[0]!.object.spec : undefined, { finalizers: [] });
  t.deepEqual(
    planNamespace({ ...ns, metadata: { name: 'team' } }, caches({ pods: [pod('a', { namespace: 'team' })] })).actions,
    [],
    'an active namespace is left alone',
  );
});

test('namespace: its network policies go with it, as upstream deletes them', (t) => {
  const plan = planNamespace(
    terminating,
    caches({ networkpolicies: [{ metadata: { name: 'deny', namespace: 'team' }, spec: { podSelector: {} } }] }),
  );
  t.deepEqual(describe(plan.actions), ['delete networkpolicies deny (Background)', 'status namespaces team']);
});

test('serviceaccount: a default account for active namespaces only', (t) => {
  const ns: KubeObject = { metadata: { name: 'team' }, status: { phase: 'Active' } };
  t.deepEqual(describe(planDefaultServiceAccount(ns, undefined).actions), ['create serviceaccounts default']);
  t.deepEqual(planDefaultServiceAccount(ns, { metadata: { name: 'default', namespace: 'team' } }).actions, []);
  t.deepEqual(planDefaultServiceAccount({ ...ns, status: { phase: 'Terminating' } }, undefined).actions, []);
});

const stops: (RunningControlLoops | FakeKubelet)[] = [];
test.after.always(async () => {
  for (const s of stops) await s.stop();
});

test('deleting a Deployment takes its ReplicaSets and pods with it; a new namespace gets a default ServiceAccount and loses its content with it', async (t) => {
  const cluster = new MemoryCluster();
  await cluster.create('nodes', node('node-a'));
  await cluster.create('namespaces', { metadata: { name: 'team' }, status: { phase: 'Active' } });
  stops.push(await startFakeKubelet(cluster));
  stops.push(await startControlLoops({ client: cluster }));
  await waitFor(() => cluster.peek('serviceaccounts', 'team', 'default'), {
    what: 'default ServiceAccount in team',
    timeoutMs: 5000,
  });
  await cluster.create('deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'team' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'a', image: 'x' }] } },
    },
  });
  await waitFor(
    () =>
      cluster.all('pods').filter((p) => p.status && (p.status as { phase?: string }).phase === 'Running').length === 2,
    { what: '2 running pods', timeoutMs: 5000 },
  );
  await cluster.delete('deployments', 'team', 'web');
  await waitFor(() => cluster.all('replicasets').length === 0 && cluster.all('pods').length === 0, {
    what: 'ReplicaSet and pods collected after the Deployment went',
    timeoutMs: 5000,
  });
  await cluster.create('configmaps', { metadata: { name: 'cfg', namespace: 'team' }, data: { a: 'b' } });
  await cluster.delete('namespaces', undefined, 'team');
  await waitFor(() => cluster.all('configmaps').length === 0 && cluster.all('serviceaccounts').length === 0, {
    what: 'namespace content removed after the namespace went',
    timeoutMs: 5000,
  });
  t.deepEqual(cluster.all('deployments'), []);
  t.is(cluster.peek('namespaces', undefined, 'team'), undefined);
});
