import test from 'ava';
import { ApiError } from '../../../kube/errors.ts';
import type { KubeObject, WatchEvent } from '../../../kube/types.ts';
import { WorkQueue } from '../../../controlplane/controllers/work-queue.ts';
import { Expectations, expectationTimeoutMs } from '../../../controlplane/controllers/expectations.ts';
import { clusterInformer, listClaimable } from '../../../controlplane/controllers/informer.ts';
import { MemoryCluster } from '../../../controlplane/controllers/memory-cluster.ts';
import { execute } from '../../../controlplane/controllers/execute.ts';
import { PlanFailed } from '../../../controlplane/errors.ts';
import type {
  ClusterClient,
  ListResult,
  ResourceName,
  WatchSubscription,
} from '../../../controlplane/controllers/client.ts';
import type { Pod } from '../../../kube/corev1.ts';
import { waitFor } from '../../helpers/wait.ts';

test('work queue: a key is queued once, and a key added while in progress comes back once after', async (t) => {
  const queue = new WorkQueue();
  queue.add('a');
  queue.add('a');
  queue.add('b');
  t.is(queue.length, 2);
  const first = await queue.next();
  t.is(first, 'a');
  queue.add('a');
  t.is(queue.length, 1, 'a is in progress: not queued again yet');
  t.is(await queue.next(), 'b');
  queue.done('a');
  t.is(await queue.next(), 'a');
  queue.close();
  t.is(await queue.next(), undefined);
});

test('work queue: failures back off per key and forget resets', async (t) => {
  const queue = new WorkQueue({ initialBackoffMs: 20, maxBackoffMs: 1000 });
  const started = Date.now();
  queue.addRateLimited('a');
  t.is(await queue.next(), 'a');
  queue.done('a');
  const firstWait = Date.now() - started;
  queue.addRateLimited('a');
  const again = Date.now();
  t.is(await queue.next(), 'a');
  const secondWait = Date.now() - again;
  t.true(firstWait >= 15 && secondWait >= 35, `waited ${firstWait} then ${secondWait} ms`);
  queue.close();
});

test('expectations: satisfied once every create and delete is seen, or after the timeout', (t) => {
  let now = 0;
  const expectations = new Expectations({ now: () => now });
  expectations.expect('rs', 2, ['default/p1']);
  t.false(expectations.satisfied('rs'));
  expectations.observedAdd('rs');
  expectations.observedAdd('rs');
  t.false(expectations.satisfied('rs'));
  expectations.observedDelete('rs', 'default/p1');
  t.true(expectations.satisfied('rs'));
  expectations.expect('rs', 1, []);
  now += expectationTimeoutMs + 1;
  t.true(expectations.satisfied('rs'), 'a lost event does not wedge the owner');
  t.true(expectations.satisfied('never-expected'));
});

test('executor: pod creations stop at the first failing batch, and failures are reported together', async (t) => {
  const cluster = new MemoryCluster();
  const pods: Pod[] = Array.from({ length: 10 }, (_, i) => ({
    metadata: { name: `p${i}`, namespace: 'default' },
    spec: { containers: [] },
  }));
  cluster.failNext('create', 'pods', new ApiError('Forbidden', 'quota'));
  const expectations = new Expectations({ now: () => 0 });
  const error = await t.throwsAsync(
    execute({ client: cluster, events: { record: async () => {} }, expectations, ownerUid: 'rs' }, [
      { kind: 'createPods', pods },
    ]),
    { instanceOf: PlanFailed },
  );
  t.is(error?.causes.length, 1);
  t.is(cluster.all('pods').length, 0, 'the first batch (one pod) failed: nothing more was sent');
  t.true(expectations.satisfied('rs'), 'pods never sent are not waited for');
  await execute({ client: cluster, events: { record: async () => {} } }, [{ kind: 'createPods', pods }]);
  t.is(cluster.all('pods').length, 10);
  await t.notThrowsAsync(
    execute({ client: cluster, events: { record: async () => {} } }, [
      { kind: 'delete', resource: 'pods', namespace: 'default', name: 'nope' },
    ]),
    'deleting something already gone is fine',
  );
});

test('executor: a delete guarded by ifAbsent does not happen while the owner still exists', async (t) => {
  const cluster = new MemoryCluster();
  const owner = await cluster.create('replicasets', { metadata: { name: 'web', namespace: 'default' } });
  await cluster.create('pods', { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [] } });
  const guard = [
    { resource: 'replicasets' as ResourceName, namespace: 'default', name: 'web', uid: owner.metadata.uid! },
  ];
  await execute({ client: cluster, events: { record: async () => {} } }, [
    { kind: 'delete', resource: 'pods', namespace: 'default', name: 'p', ifAbsent: guard },
  ]);
  t.truthy(cluster.peek('pods', 'default', 'p'));
  await cluster.delete('replicasets', 'default', 'web');
  await execute({ client: cluster, events: { record: async () => {} } }, [
    { kind: 'delete', resource: 'pods', namespace: 'default', name: 'p', ifAbsent: guard },
  ]);
  t.is(cluster.peek('pods', 'default', 'p'), undefined);
});

/** A client whose watch breaks on demand, to see the informer list again. */
class BreakableClient extends MemoryCluster {
  breakWatch: ((err: unknown) => void) | undefined;
  lists = 0;
  override async list(resource: ResourceName): Promise<ListResult> {
    this.lists++;
    return super.list(resource);
  }
  override async watch(
    resource: ResourceName,
    rv: string,
    onEvent: (e: WatchEvent) => void,
    onError: (err: unknown) => void,
  ): Promise<WatchSubscription> {
    const inner = await super.watch(resource, rv, onEvent, onError);
    let stopped = false;
    this.breakWatch = (err) => {
      if (stopped) return;
      stopped = true;
      inner.stop();
      onError(err);
    };
    return { stop: () => ((stopped = true), inner.stop()) };
  }
}

test('informer: after a broken watch it lists again and reports what changed meanwhile', async (t) => {
  const client = new BreakableClient();
  await client.create('configmaps', { metadata: { name: 'kept', namespace: 'default' } });
  await client.create('configmaps', { metadata: { name: 'removed', namespace: 'default' } });
  const informer = clusterInformer<KubeObject>(client as ClusterClient, 'configmaps', { relistDelayMs: 10 });
  const seen: string[] = [];
  informer.addHandlers({
    onAdd: (o) => seen.push(`+${o.metadata.name}`),
    onDelete: (o) => seen.push(`-${o.metadata.name}`),
  });
  informer.addHandlers({
    onAdd: () => {
      throw new Error('a broken handler');
    },
  });
  await informer.start();
  client.breakWatch!(new ApiError('Expired', 'too old resource version'));
  await client.delete('configmaps', 'default', 'removed');
  await client.create('configmaps', { metadata: { name: 'new', namespace: 'default' } });
  await waitFor(() => seen.includes('+new') && seen.includes('-removed'), {
    what: 'the relist to report +new and -removed',
    timeoutMs: 2000,
  });
  informer.stop();
  t.deepEqual(seen.sort(), ['+kept', '+new', '+removed', '-removed']);
  t.is(client.lists, 2);
  t.deepEqual(
    informer
      .list()
      .map((o) => o.metadata.name)
      .sort(),
    ['kept', 'new'],
  );
});

test("informer: what an owner may claim is its own objects and its namespace's orphans, kept current as ownership changes", async (t) => {
  const client = new MemoryCluster();
  const controller = (uid: string) => [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: uid, uid, controller: true }];
  await client.create('pods', { metadata: { name: 'mine', namespace: 'a', ownerReferences: controller('rs-1') } });
  await client.create('pods', { metadata: { name: 'theirs', namespace: 'a', ownerReferences: controller('rs-2') } });
  await client.create('pods', { metadata: { name: 'orphan', namespace: 'a' } });
  await client.create('pods', { metadata: { name: 'orphan-elsewhere', namespace: 'b' } });
  const informer = clusterInformer<KubeObject>(client, 'pods');
  await informer.start();
  const claimable = () =>
    listClaimable(informer, 'a', 'rs-1')
      .map((o) => o.metadata.name)
      .sort();
  t.deepEqual(claimable(), ['mine', 'orphan']);
  // the orphan is adopted by rs-2, and rs-2's pod is released: both move
  const orphan = informer.get('a/orphan')!;
  await client.update('pods', { ...orphan, metadata: { ...orphan.metadata, ownerReferences: controller('rs-2') } });
  const theirs = informer.get('a/theirs')!;
  await client.update('pods', { ...theirs, metadata: { ...theirs.metadata, ownerReferences: [] } });
  await waitFor(() => claimable().join() === 'mine,theirs', {
    what: 'the adoption and the release to reach the index',
    timeoutMs: 2000,
  });
  await client.delete('pods', 'a', 'mine');
  await waitFor(() => claimable().join() === 'theirs', { what: 'the deletion to reach the index', timeoutMs: 2000 });
  t.deepEqual(
    listClaimable(informer, 'b', 'rs-1').map((o) => o.metadata.name),
    ['orphan-elsewhere'],
  );
  informer.stop();
});

test('informer: cached objects carry no managedFields, and the objects they were read from keep theirs', async (t) => {
  const client = new MemoryCluster();
  const owners = [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} }];
  await client.create('pods', { metadata: { name: 'listed', namespace: 'a', managedFields: owners } });
  const informer = clusterInformer<KubeObject>(client, 'pods');
  await informer.start();
  await client.create('pods', { metadata: { name: 'watched', namespace: 'a', managedFields: owners } });
  await waitFor(() => informer.get('a/watched') !== undefined, {
    what: 'the watched pod in the cache',
    timeoutMs: 2000,
  });
  informer.stop();
  for (const name of ['listed', 'watched']) {
    const cached = informer.get(`a/${name}`)!;
    t.is(cached.metadata.managedFields, undefined, `${name}: dropped from the cache`);
    t.is(cached.metadata.name, name);
    t.deepEqual(client.peek('pods', 'a', name)?.metadata.managedFields, owners, `${name}: the source is untouched`);
  }
});

test('informer: two informers of one resource in a process hold one object per version, and each follows every change', async (t) => {
  const client = new MemoryCluster({ versionScope: 'one-api' });
  await client.create('pods', { metadata: { name: 'listed', namespace: 'a', labels: { v: '1' } } });
  const scheduler = clusterInformer<KubeObject>(client, 'pods');
  const controllers = clusterInformer<KubeObject>(client, 'pods');
  await Promise.all([scheduler.start(), controllers.start()]);
  await client.create('pods', { metadata: { name: 'watched', namespace: 'a', labels: { v: '1' } } });
  const both = (key: string, v: string) =>
    [scheduler, controllers].every((informer) => informer.get(key)?.metadata.labels?.v === v);
  await waitFor(() => both('a/watched', '1'), { what: 'the new pod in both caches', timeoutMs: 2000 });
  for (const key of ['a/listed', 'a/watched']) t.is(scheduler.get(key), controllers.get(key), `${key}: one object`);
  // a new version: both move to it, again one object, equal to what the source holds
  const listed = controllers.get('a/listed')!;
  await client.update('pods', { ...listed, metadata: { ...listed.metadata, labels: { v: '2' } } });
  await waitFor(() => both('a/listed', '2'), { what: 'the update in both caches', timeoutMs: 2000 });
  t.is(scheduler.get('a/listed'), controllers.get('a/listed'));
  t.deepEqual(scheduler.get('a/listed'), client.peek('pods', 'a', 'listed'));
  t.is(listed.metadata.labels?.v, '1', 'the version read before is as it was');
  scheduler.stop();
  controllers.stop();
});
