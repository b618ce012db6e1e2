/**
 * A node whose agent stops renewing its Lease goes Unknown after the grace period, gets the
 * unreachable taints, and its pods are evicted once their toleration runs out and come back on the
 * other node. Grace and toleration are shortened (500 ms, 1 s), and time is the test's own clock,
 * moved in steps with the live nodes' Lease renewals, so a loaded machine cannot make a live node
 * look silent.
 */
import test from 'ava';
import type { Lease, Node, Pod } from '../../../kube/corev1.ts';
import { MemoryCluster } from '../../../controlplane/controllers/memory-cluster.ts';
import { startControlLoops, type RunningControlLoops } from '../../../controlplane/controllers/control-loops.ts';
import type { NodeLifecycleOptions } from '../../../controlplane/controllers/node-lifecycle.ts';
import { ManualClock } from '../../agent/manual-clock.ts';
import { node } from '../scheduler/fixtures.ts';
import { startFakeKubelet, type FakeKubelet } from './fake-kubelet.ts';

const cleanups: (() => unknown)[] = [];
test.after.always(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/**
 * The cluster's time, moved only by `step()`: each step moves the clock, then renews the Lease of
 * every node still alive at the new time, so however long the machine stalls between steps a live
 * node's Lease is never older than one step when the controller looks at it. Real time passes only
 * to let the loops react (a few ms per step); no assertion depends on how fast they do.
 */
class ClusterTime {
  readonly clock: ManualClock;
  readonly #alive: Set<string>;
  readonly #cluster: MemoryCluster;
  readonly #stepMs: number;
  constructor(clock: ManualClock, cluster: MemoryCluster, alive: readonly string[], stepMs: number) {
    this.clock = clock;
    this.#cluster = cluster;
    this.#alive = new Set(alive);
    this.#stepMs = stepMs;
  }
  kill(name: string): void {
    this.#alive.delete(name);
  }
  async renew(): Promise<void> {
    for (const name of this.#alive) {
      const renewTime = new Date(this.clock.now()).toISOString();
      const lease = this.#cluster.peek('leases', 'kube-node-lease', name) as Lease | undefined;
      if (lease === undefined) {
        await this.#cluster.create('leases', {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace: 'kube-node-lease' },
          spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime },
        });
      } else await this.#cluster.update('leases', { ...lease, spec: { ...lease.spec, renewTime } });
    }
  }
  async step(): Promise<void> {
    this.clock.advance(this.#stepMs);
    await this.renew();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  /**
   * Steps until `probe` returns a value; fails after `maxSteps` steps of cluster time (the bound
   * counts steps, not wall-clock time, so a slow machine only makes the test slower).
   */
  async until<T>(what: string, probe: () => T | undefined | false, maxSteps: number): Promise<T> {
    for (let i = 0; i < maxSteps; i++) {
      const value = probe();
      if (value !== undefined && value !== false) return value;
      await this.step();
    }
    throw new Error(`never happened within ${maxSteps} steps of ${this.#stepMs} ms of cluster time: ${what}`);
  }
}

/** Two nodes with renewing agents, a fake kubelet and the control loops with these node options, on cluster time. */
async function twoNodeCluster(
  nodeLifecycle: NodeLifecycleOptions,
  stepMs: number,
): Promise<{ cluster: MemoryCluster; time: ClusterTime }> {
  const names = ['node-a', 'node-b'];
  const clock = new ManualClock(Date.now());
  const cluster = new MemoryCluster({ clock });
  const time = new ClusterTime(clock, cluster, names, stepMs);
  for (const name of names) await cluster.create('nodes', node(name));
  await time.renew();
  const kubelet: FakeKubelet = await startFakeKubelet(cluster);
  cleanups.push(() => kubelet.stop());
  const loops: RunningControlLoops = await startControlLoops({ client: cluster, nodeLifecycle, clock: time.clock });
  cleanups.push(() => loops.stop());
  return { cluster, time };
}

test('a silent node goes Unknown, is tainted, and its pods move to the other node', async (t) => {
  const { cluster, time } = await twoNodeCluster(
    { graceMs: 500, monitorPeriodMs: 100, clusterCidr: '10.244.0.0/16' },
    100,
  );

  const cidrs = await time.until(
    'both nodes given a pod CIDR',
    () => {
      const found = (cluster.all('nodes') as Node[]).map((n) => n.spec?.podCIDR);
      return found.every(Boolean) ? found.sort() : undefined;
    },
    200,
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
  await time.until(
    '4 running pods, some on node-a',
    () => running().length === 4 && running().some((p) => p.spec.nodeName === 'node-a'),
    200,
  );

  time.kill('node-a');
  const tainted = await time.until(
    'node-a Ready=Unknown with the unreachable NoExecute taint',
    () => {
      const a = cluster.peek('nodes', undefined, 'node-a') as Node;
      const unknown = a.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown';
      return unknown &&
        a.spec?.taints?.some((x) => x.key === 'node.kubernetes.io/unreachable' && x.effect === 'NoExecute')
        ? a
        : undefined;
    },
    200,
  );
  t.truthy(tainted.spec?.taints?.find((x) => x.effect === 'NoExecute')?.timeAdded);
  t.is((cluster.peek('nodes', undefined, 'node-b') as Node).spec?.taints, undefined, 'the live node stays untainted');

  await time.until(
    'all 4 pods running on node-b after the toleration ran out',
    () => running().length === 4 && running().every((p) => p.spec.nodeName === 'node-b'),
    300,
  );
  t.true(cluster.all('events').some((e) => e.reason === 'TaintManagerEviction'));
  t.is((cluster.peek('nodes', undefined, 'node-b') as Node).spec?.taints, undefined, 'node-b was never found silent');
});

test('when every node goes silent at once, nothing is evicted', async (t) => {
  // steps of 50 ms of cluster time: the loops requeue every 50 ms of real time, so they look at
  // the nodes at least about once a step and the short-lived NoExecute taint below is seen going
  const { cluster, time } = await twoNodeCluster({ graceMs: 300, monitorPeriodMs: 50 }, 50);
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
  await time.until(
    'solo running',
    () => (cluster.peek('pods', 'default', 'solo') as Pod).status?.phase === 'Running',
    200,
  );
  time.kill('node-a');
  time.kill('node-b');
  await time.until(
    'both nodes Unknown with NoSchedule taints',
    () =>
      (cluster.all('nodes') as Node[]).every(
        (n) =>
          n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown' &&
          n.spec?.taints?.some((x) => x.effect === 'NoSchedule'),
      ),
    200,
  );
  const silentAt = time.clock.now();
  await time.until(
    'no NoExecute taint left on any node',
    () => !(cluster.all('nodes') as Node[]).some((n) => n.spec?.taints?.some((x) => x.effect === 'NoExecute')),
    40,
  );
  // Past the toleration in cluster time: had a NoExecute taint stayed, the pod would be gone by now.
  await time.until('the toleration period to pass', () => time.clock.now() >= silentAt + 2_500, 100);
  t.truthy(cluster.peek('pods', 'default', 'solo'), 'the pod was not evicted');
  t.false((cluster.all('nodes') as Node[]).some((n) => n.spec?.taints?.some((x) => x.effect === 'NoExecute')));
});
