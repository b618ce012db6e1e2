import test from 'ava';
import type { Pod } from '../../../kube/corev1.ts';
import { ApiError } from '../../../kube/errors.ts';
import { MemoryCluster } from '../../../controlplane/controllers/memory-cluster.ts';
import { Scheduler } from '../../../controlplane/scheduler/scheduler.ts';
import { waitFor } from '../../helpers/wait.ts';
import { node, pod } from './fixtures.ts';

function unbound(name: string, cpu: string, extra: Partial<Pod['spec']> = {}): Pod {
  const p = pod(name, { cpu });
  delete p.metadata.uid;
  delete p.status;
  p.spec = { ...p.spec, ...extra };
  return p;
}

async function start(cluster: MemoryCluster): Promise<Scheduler> {
  const scheduler = new Scheduler({ client: cluster, initialBackoffMs: 20, maxBackoffMs: 50, random: () => 0 });
  await scheduler.start();
  return scheduler;
}

function nodeOf(cluster: MemoryCluster, name: string): string | undefined {
  return (cluster.peek('pods', 'default', name) as Pod | undefined)?.spec.nodeName;
}

const schedulers: Scheduler[] = [];
test.after.always(async () => {
  await Promise.all(schedulers.map((s) => s.stop()));
});

test('binds pods through the binding call and never puts two on one slot', async (t) => {
  const cluster = new MemoryCluster();
  await cluster.create('nodes', node('node-a', { cpu: '4' }));
  const scheduler = await start(cluster);
  schedulers.push(scheduler);
  await cluster.create('pods', unbound('first', '3'));
  await cluster.create('pods', unbound('second', '3'));
  await waitFor(() => nodeOf(cluster, 'first') ?? nodeOf(cluster, 'second'), {
    what: 'one of the two pods bound',
    timeoutMs: 5000,
  });
  const loser = nodeOf(cluster, 'first') ? 'second' : 'first';
  const condition = await waitFor(
    () =>
      (cluster.peek('pods', 'default', loser) as Pod).status?.conditions?.find(
        (c) => c.type === 'PodScheduled' && c.status === 'False',
      ),
    { what: `PodScheduled=False on ${loser}`, timeoutMs: 5000 },
  );
  t.is(condition.reason, 'Unschedulable');
  t.is(condition.message, '0/1 nodes are available: 1 Insufficient cpu.');
  t.is(nodeOf(cluster, loser), undefined);
  const events = await waitFor(
    () => {
      const found = cluster.all('events').filter((e) => e.reason === 'FailedScheduling');
      return found.length > 0 ? found : undefined;
    },
    { what: 'a FailedScheduling event', timeoutMs: 5000 },
  );
  t.is(events[0]!.message, '0/1 nodes are available: 1 Insufficient cpu.');
  t.is(events[0]!.type, 'Warning');
  t.is((events[0]!.involvedObject as { name: string }).name, loser);
  t.is(cluster.writes.filter((w) => w.method === 'bind').length, 1);
  t.true(
    cluster.all('events').some((e) => e.reason === 'Scheduled'),
    'the bound pod has a Scheduled event',
  );

  // A new node is a cluster change: the parked pod is tried again and lands there.
  await cluster.create('nodes', node('node-b', { cpu: '4' }));
  t.is(
    await waitFor(() => nodeOf(cluster, loser), { what: `${loser} bound after node-b joined`, timeoutMs: 5000 }),
    'node-b',
  );
});

test('a deleted pod frees its slot for a parked one', async (t) => {
  const cluster = new MemoryCluster();
  await cluster.create('nodes', node('node-a', { cpu: '1' }));
  const scheduler = await start(cluster);
  schedulers.push(scheduler);
  await cluster.create('pods', unbound('holder', '1'));
  await waitFor(() => nodeOf(cluster, 'holder'), { what: 'holder bound', timeoutMs: 5000 });
  await cluster.create('pods', unbound('waiter', '1'));
  await waitFor(
    () =>
      (cluster.peek('pods', 'default', 'waiter') as Pod).status?.conditions?.some((c) => c.reason === 'Unschedulable'),
    {
      what: 'waiter reported unschedulable',
      timeoutMs: 5000,
    },
  );
  await cluster.delete('pods', 'default', 'holder');
  t.is(
    await waitFor(() => nodeOf(cluster, 'waiter'), { what: 'waiter bound after holder left', timeoutMs: 5000 }),
    'node-a',
  );
});

test('pods for another scheduler and pods already bound are left alone', async (t) => {
  const cluster = new MemoryCluster();
  await cluster.create('nodes', node('node-a'));
  const scheduler = await start(cluster);
  schedulers.push(scheduler);
  await cluster.create('pods', unbound('custom', '100m', { schedulerName: 'my-scheduler' }));
  await cluster.create('pods', unbound('marker', '100m'));
  await waitFor(() => nodeOf(cluster, 'marker'), { what: 'marker bound', timeoutMs: 5000 });
  t.is(nodeOf(cluster, 'custom'), undefined);
  t.is(cluster.writes.filter((w) => w.method === 'bind').length, 1);
});

test('a failed binding is forgotten and retried after a backoff', async (t) => {
  const cluster = new MemoryCluster();
  await cluster.create('nodes', node('node-a', { cpu: '1' }));
  cluster.failNext('bind', 'pods', new ApiError('InternalError', 'datastore hiccup'));
  const scheduler = await start(cluster);
  schedulers.push(scheduler);
  await cluster.create('pods', unbound('p', '1'));
  t.is(await waitFor(() => nodeOf(cluster, 'p'), { what: 'p bound on the second try', timeoutMs: 5000 }), 'node-a');
  t.is(scheduler.stats.bindFailures, 1);
  t.is(scheduler.stats.scheduled, 1);
});

test('a burst of 40 pods into 30 slots: each bound pod gets exactly one binding and no node is overcommitted', async (t) => {
  const cluster = new MemoryCluster();
  for (const name of ['node-a', 'node-b', 'node-c'])
    await cluster.create('nodes', node(name, { cpu: '1', pods: '110' }));
  const scheduler = await start(cluster);
  schedulers.push(scheduler);
  for (let i = 0; i < 40; i++) await cluster.create('pods', unbound(`p-${i}`, '100m'));
  // 3 nodes × 10 slots of 100m = 30 pods fit; 10 must stay pending.
  await waitFor(
    () =>
      cluster.all('pods').filter((p) => (p as Pod).spec.nodeName).length === 30 && scheduler.stats.unschedulable >= 10,
    {
      what: '30 pods bound and the other 10 found unschedulable',
      timeoutMs: 10_000,
    },
  );
  const perNode = new Map<string, number>();
  for (const p of cluster.all('pods') as Pod[])
    if (p.spec.nodeName) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
  t.deepEqual([...perNode.values()].sort(), [10, 10, 10]);
  t.is(cluster.writes.filter((w) => w.method === 'bind').length, 30);
});
