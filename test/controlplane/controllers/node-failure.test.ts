/**
 * A node whose agent stops renewing its Lease goes Unknown after the grace period, gets the
 * unreachable taints, and its pods are evicted once their toleration runs out and come back on the
 * other node. Grace and toleration are shortened (500 ms, 1 s) so the test runs in seconds.
 */
import test from 'ava';
import type { Lease, Node, Pod } from '../../../kube/corev1.ts';
import { MemoryCluster } from '../../../controlplane/controllers/memory-cluster.ts';
import { startControlLoops, type RunningControlLoops } from '../../../controlplane/controllers/control-loops.ts';
import type { NodeLifecycleOptions } from '../../../controlplane/controllers/node-lifecycle.ts';
import { waitFor } from '../../helpers/wait.ts';
import { node } from '../scheduler/fixtures.ts';
import { startFakeKubelet, type FakeKubelet } from './fake-kubelet.ts';

const cleanups: (() => unknown)[] = [];
test.after.always(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Renews each named node's Lease and heartbeat every 100 ms until told to stop for one node. */
async function startAgents(cluster: MemoryCluster, names: string[]): Promise<{ kill(name: string): void }> {
  const alive = new Set(names);
  for (const name of names) {
    await cluster.create('leases', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new Date().toISOString() },
    });
  }
  const timer = setInterval(() => {
    for (const name of alive) {
      const lease = cluster.peek('leases', 'kube-node-lease', name) as Lease;
      void cluster
        .update('leases', { ...lease, spec: { ...lease.spec, renewTime: new Date().toISOString() } })
        .catch(() => {});
    }
  }, 100);
  cleanups.push(() => clearInterval(timer));
  return { kill: (name) => alive.delete(name) };
}

/** Two nodes with renewing agents, a fake kubelet and the control loops with these node options. */
async function twoNodeCluster(
  nodeLifecycle: NodeLifecycleOptions,
): Promise<{ cluster: MemoryCluster; agents: { kill(name: string): void } }> {
  const cluster = new MemoryCluster();
  for (const name of ['node-a', 'node-b']) await cluster.create('nodes', node(name));
  const agents = await startAgents(cluster, ['node-a', 'node-b']);
  const kubelet: FakeKubelet = await startFakeKubelet(cluster);
  cleanups.push(() => kubelet.stop());
  const loops: RunningControlLoops = await startControlLoops({ client: cluster, nodeLifecycle });
  cleanups.push(() => loops.stop());
  return { cluster, agents };
}

test('a silent node goes Unknown, is tainted, and its pods move to the other node', async (t) => {
  const { cluster, agents } = await twoNodeCluster({
    graceMs: 500,
    monitorPeriodMs: 100,
    clusterCidr: '10.244.0.0/16',
  });

  const cidrs = await waitFor(
    () => {
      const found = (cluster.all('nodes') as Node[]).map((n) => n.spec?.podCIDR);
      return found.every(Boolean) ? found.sort() : undefined;
    },
    { what: 'both nodes given a pod CIDR', timeoutMs: 5000 },
  );
  t.deepEqual(cidrs, ['10.244.0.0/24', '10.244.1.0/24']);
  t.deepEqual(
    (cluster.all('nodes') as Node[]).map((n) => n.metadata.annotations?.['bosun.io/cluster-cidr']),
    ['10.244.0.0/16', '10.244.0.0/16'],
    'agents learn the cluster CIDR from their Node',
  );

  await cluster.create('replicasets', {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [{ name: 'app', image: 'web' }],
          tolerations: [
            { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1 },
          ],
        },
      },
    },
  });
  const running = () =>
    (cluster.all('pods') as Pod[]).filter((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
  await waitFor(() => running().length === 4 && running().some((p) => p.spec.nodeName === 'node-a'), {
    what: '4 running pods, some on node-a',
    timeoutMs: 5000,
  });

  agents.kill('node-a');
  const tainted = await waitFor(
    () => {
      const a = cluster.peek('nodes', undefined, 'node-a') as Node;
      const unknown = a.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown';
      return unknown &&
        a.spec?.taints?.some((x) => x.key === 'node.kubernetes.io/unreachable' && x.effect === 'NoExecute')
        ? a
        : undefined;
    },
    { what: 'node-a Ready=Unknown with the unreachable NoExecute taint', timeoutMs: 5000 },
  );
  t.truthy(tainted.spec?.taints?.find((x) => x.effect === 'NoExecute')?.timeAdded);
  t.is((cluster.peek('nodes', undefined, 'node-b') as Node).spec?.taints, undefined, 'the live node stays untainted');

  await waitFor(() => running().length === 4 && running().every((p) => p.spec.nodeName === 'node-b'), {
    what: 'all 4 pods running on node-b after the toleration ran out',
    timeoutMs: 10_000,
  });
  t.true(cluster.all('events').some((e) => e.reason === 'TaintManagerEviction'));
});

test('when every node goes silent at once, nothing is evicted', async (t) => {
  const { cluster, agents } = await twoNodeCluster({ graceMs: 300, monitorPeriodMs: 50 });
  // Real pods carry the default 300 s tolerations (admission); 2 s stands in for them here. Nodes
  // are noticed one by one, so the first one may get a NoExecute taint for a moment.
  await cluster.create('pods', {
    metadata: { name: 'solo', namespace: 'default' },
    spec: {
      containers: [{ name: 'a', image: 'x' }],
      tolerations: [
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 },
      ],
    },
  });
  await waitFor(() => (cluster.peek('pods', 'default', 'solo') as Pod).status?.phase === 'Running', {
    what: 'solo running',
    timeoutMs: 5000,
  });
  agents.kill('node-a');
  agents.kill('node-b');
  await waitFor(
    () =>
      (cluster.all('nodes') as Node[]).every(
        (n) =>
          n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown' &&
          n.spec?.taints?.some((x) => x.effect === 'NoSchedule'),
      ),
    { what: 'both nodes Unknown with NoSchedule taints', timeoutMs: 5000 },
  );
  await waitFor(
    () => !(cluster.all('nodes') as Node[]).some((n) => n.spec?.taints?.some((x) => x.effect === 'NoExecute')),
    {
      what: 'no NoExecute taint left on any node',
      timeoutMs: 2000,
    },
  );
  // Past the toleration: had a NoExecute taint stayed, the pod would be gone by now.
  const past = Date.now() + 2500;
  await waitFor(() => Date.now() >= past || cluster.peek('pods', 'default', 'solo') === undefined, {
    what: 'the toleration period to pass',
    timeoutMs: 4000,
    intervalMs: 50,
  });
  t.truthy(cluster.peek('pods', 'default', 'solo'), 'the pod was not evicted');
  t.false((cluster.all('nodes') as Node[]).some((n) => n.spec?.taints?.some((x) => x.effect === 'NoExecute')));
});
