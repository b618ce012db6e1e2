/**
 * Scheduling throughput: N pods onto 100 simulated nodes (4 CPU, 16 GiB, 110 pods each) with the
 * real scheduler core. Three measurements:
 *  - core: decide() + assume, in a tight loop (the algorithm's cost alone);
 *  - loop: the whole Scheduler against the in-memory API (informers, queue, binding calls, watch
 *    confirmations, events), from "all pods created" to "all pods bound";
 *  - rollout: a Deployment of N replicas through the controllers and the scheduler, with a fake
 *    kubelet that marks bound pods Running, from "Deployment created" to "all replicas Running";
 *  - preemption: every node full of low-priority pods (4 of 1 CPU each), then one high-priority
 *    pod of 1 CPU per node: from "high-priority pods created" to "all bound", each one having
 *    preempted a victim that the fake kubelet confirms gone at once.
 * The same-run baseline is a first-fit placement over the same state (no scoring), which shows
 * what the filters and scores cost on this machine.
 * Usage: npm run bench -- schedule [--quick] [--pods N] [--nodes N]
 * Last line: one JSON object; pods_per_s is the full loop's rate.
 */
import { parseArgs } from 'node:util';
import type { Node, Pod } from '../kube/corev1.ts';
import { ClusterState } from '../controlplane/scheduler/cluster-state.ts';
import { decide } from '../controlplane/scheduler/schedule-pod.ts';
import { firstRefusal, type PodContext } from '../controlplane/scheduler/filters.ts';
import { podRequests } from '../controlplane/scheduler/resources.ts';
import { interPodDomains } from '../controlplane/scheduler/inter-pod-affinity.ts';
import { Scheduler } from '../controlplane/scheduler/scheduler.ts';
import { MemoryCluster } from '../controlplane/controllers/memory-cluster.ts';
import { startControlLoops } from '../controlplane/controllers/control-loops.ts';
import { startFakeKubelet } from '../test/controlplane/controllers/fake-kubelet.ts';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, pods: { type: 'string' }, nodes: { type: 'string' } },
});
const podCount = Number(values.pods ?? (values.quick ? 1000 : 3000));
const nodeCount = Number(values.nodes ?? 100);

function simulatedNode(i: number): Node {
  const name = `hollow-${String(i).padStart(3, '0')}`;
  return {
    metadata: {
      name,
      uid: `node-${i}`,
      labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': `zone-${i % 3}` },
    },
    spec: {},
    status: {
      allocatable: { cpu: '4', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

/** A mix like a small cluster's: three deployments of different sizes plus some bare pods. */
function workloadPod(i: number): Pod {
  const owner = ['web', 'api', 'worker', ''][i % 4]!;
  const sizes = [
    { cpu: '50m', memory: '64Mi' },
    { cpu: '100m', memory: '128Mi' },
    { cpu: '25m', memory: '256Mi' },
    { cpu: '10m', memory: '32Mi' },
  ];
  return {
    metadata: {
      name: `pod-${i}`,
      namespace: 'bench',
      labels: { app: owner || 'bare' },
      ...(owner
        ? {
            ownerReferences: [
              { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner, uid: `rs-${owner}`, controller: true },
            ],
          }
        : {}),
    },
    spec: { containers: [{ name: 'app', image: 'busybox', resources: { requests: sizes[i % 4]! } }] },
  };
}

/** Places every pod with `choose` over a fresh state of simulated nodes; times the placing only. */
function placeAll(choose: (pod: Pod, state: ClusterState) => string | undefined): { seconds: number; placed: number } {
  const state = new ClusterState();
  for (let i = 0; i < nodeCount; i++) state.setNode(simulatedNode(i));
  const pods = Array.from({ length: podCount }, (_, i) => {
    const pod = workloadPod(i);
    pod.metadata.uid = `p-${i}`;
    return pod;
  });
  let placed = 0;
  const started = performance.now();
  for (const pod of pods) {
    const node = choose(pod, state);
    if (node !== undefined) {
      state.setPod(pod, node);
      placed++;
    }
  }
  return { seconds: (performance.now() - started) / 1000, placed };
}

function core(): { seconds: number; placed: number } {
  return placeAll((pod, state) => {
    const decision = decide(pod, state);
    return decision.kind === 'bind' ? decision.node : undefined;
  });
}

function firstFit(): { seconds: number; placed: number } {
  return placeAll((pod, state) => {
    const context: PodContext = { pod, requests: podRequests(pod), domains: interPodDomains(pod, [], false) };
    return state.schedulableNodes().find((info) => firstRefusal(context, info).length === 0)?.name;
  });
}

async function loop(): Promise<{ seconds: number; placed: number }> {
  const cluster = new MemoryCluster();
  for (let i = 0; i < nodeCount; i++) await cluster.create('nodes', simulatedNode(i));
  const scheduler = new Scheduler({ client: cluster });
  await scheduler.start();
  const deadline = Date.now() + (values.quick ? 50_000 : 300_000);
  const started = performance.now();
  try {
    for (let i = 0; i < podCount; i++) await cluster.create('pods', workloadPod(i));
    for (;;) {
      if (scheduler.stats.scheduled >= podCount) break;
      if (Date.now() > deadline)
        throw new Error(`only ${scheduler.stats.scheduled} of ${podCount} pods bound before the time limit`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return { seconds: (performance.now() - started) / 1000, placed: scheduler.stats.scheduled };
  } finally {
    await scheduler.stop();
  }
}

async function rollout(): Promise<{ seconds: number; placed: number }> {
  const cluster = new MemoryCluster();
  for (let i = 0; i < nodeCount; i++) await cluster.create('nodes', simulatedNode(i));
  const kubelet = await startFakeKubelet(cluster);
  // No leases are renewed here: a long grace keeps the node lifecycle controller from marking nodes Unknown.
  const loops = await startControlLoops({ client: cluster, nodeLifecycle: { graceMs: 3_600_000 } });
  const deadline = Date.now() + (values.quick ? 50_000 : 300_000);
  const started = performance.now();
  try {
    await cluster.create('deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'bench' },
      spec: {
        replicas: podCount,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: workloadPod(0).spec },
      },
    });
    for (;;) {
      const running = cluster.all('pods').filter((p) => (p as Pod).status?.phase === 'Running').length;
      if (running >= podCount) return { seconds: (performance.now() - started) / 1000, placed: running };
      if (Date.now() > deadline)
        throw new Error(`only ${running} of ${podCount} replicas running before the time limit`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await loops.stop();
    kubelet.stop();
  }
}

/** A pod of one CPU at `priority` (what Priority admission would have resolved from its class). */
function priorityPod(name: string, priority: number): Pod {
  return {
    metadata: { name, namespace: 'bench', labels: { app: name.replace(/-\d+$/, '') } },
    spec: {
      priority,
      containers: [{ name: 'app', image: 'busybox', resources: { requests: { cpu: '1', memory: '64Mi' } } }],
    },
  };
}

async function preemption(): Promise<{ seconds: number; placed: number; preemptions: number }> {
  const cluster = new MemoryCluster();
  for (let i = 0; i < nodeCount; i++) await cluster.create('nodes', simulatedNode(i));
  const kubelet = await startFakeKubelet(cluster);
  const scheduler = new Scheduler({ client: cluster });
  await scheduler.start();
  const deadline = Date.now() + (values.quick ? 50_000 : 300_000);
  const waitUntil = async (what: string, done: () => boolean) => {
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`${what} before the time limit`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const bound = (prefix: string) =>
    cluster.all('pods').filter((p) => p.metadata.name?.startsWith(prefix) && (p as Pod).spec.nodeName).length;
  try {
    const lowCount = nodeCount * 4;
    for (let i = 0; i < lowCount; i++) await cluster.create('pods', priorityPod(`low-${i}`, 0));
    await waitUntil('not every low-priority pod was bound', () => bound('low-') >= lowCount);
    const started = performance.now();
    for (let i = 0; i < nodeCount; i++) await cluster.create('pods', priorityPod(`high-${i}`, 1000));
    await waitUntil('not every high-priority pod was bound', () => bound('high-') >= nodeCount);
    return {
      seconds: (performance.now() - started) / 1000,
      placed: bound('high-'),
      preemptions: scheduler.stats.preemptions,
    };
  } finally {
    await scheduler.stop();
    kubelet.stop();
  }
}

const baseline = firstFit();
const measuredCore = core();
const measuredLoop = await loop();
const measuredRollout = await rollout();
const measuredPreemption = await preemption();
const rate = (r: { seconds: number; placed: number }) => Math.round(r.placed / r.seconds);
process.stdout.write(`first-fit baseline: ${baseline.placed} pods in ${baseline.seconds.toFixed(3)} s\n`);
process.stdout.write(`scheduler core:     ${measuredCore.placed} pods in ${measuredCore.seconds.toFixed(3)} s\n`);
process.stdout.write(`full loop:          ${measuredLoop.placed} pods in ${measuredLoop.seconds.toFixed(3)} s\n`);
process.stdout.write(
  `deployment rollout: ${measuredRollout.placed} replicas Running in ${measuredRollout.seconds.toFixed(3)} s\n`,
);
process.stdout.write(
  `preemption:         ${measuredPreemption.placed} high-priority pods bound on ${nodeCount} full nodes in ${measuredPreemption.seconds.toFixed(3)} s (${measuredPreemption.preemptions} preemptions)\n`,
);
process.stdout.write(
  `${JSON.stringify({
    suite: 'schedule',
    pods: podCount,
    nodes: nodeCount,
    pods_per_s: rate(measuredLoop),
    core_pods_per_s: rate(measuredCore),
    baseline_first_fit_pods_per_s: rate(baseline),
    loop_seconds: Number(measuredLoop.seconds.toFixed(3)),
    deployment_to_running_s: Number(measuredRollout.seconds.toFixed(3)),
    preemption_all_bound_s: Number(measuredPreemption.seconds.toFixed(3)),
    preemptions: measuredPreemption.preemptions,
  })}\n`,
);
