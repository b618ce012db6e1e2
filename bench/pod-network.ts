/**
 * `npm run bench -- pod-network [--quick]`: the agents' pod network on sandbox nodes.
 *
 *  - TCP throughput pod → pod across two nodes, against the same transfer node IP → node IP in
 *    the same run (same sender and receiver, bench/pod-network/tcp-stream.ts, run in the pods' or
 *    the nodes' network namespaces): host-gw on a flat sandbox (targets ratio ≥ 0.8), VXLAN on a
 *    routed one, where the two nodes sit on segments joined by a router (target ≥ 0.6). Median of
 *    a few transfers each.
 *  - From a new node Ready to its pod subnet routed on every other node, and to a pod on it
 *    answering pods on every other node (target ≤ 2 s for the routes): a third node joins the
 *    flat sandbox.
 *  - What a sync costs through the real executor with many peers (pod-network/sync-cost.ts): the
 *    first (everything added) and one that finds everything in place.
 *
 * Bounded: fixed transfer sizes and counts, every wait with a deadline; namespaces only. Prints one
 * JSON object as its last line and writes bench/results/pod-network(-quick).json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Sandbox } from '../sandbox/sandbox.ts';
import { run } from '../host/process/run.ts';
import { inNetns } from '../host/process/process.ts';
import { sandboxImages, type SandboxTopology } from '../sandbox/names.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { createTestSandbox } from '../test/bed/test-sandbox.ts';
import { writeResult } from './report/write-result.ts';
import { measureSyncCost } from './pod-network/sync-cost.ts';
import { podNetnsFile } from '../test/e2e/pod-network-scenarios.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const transferMiB = values.quick ? 64 : 256;
const transfers = values.quick ? 5 : 9;
const streamTool = join(import.meta.dirname, 'pod-network', 'tcp-stream.ts');
const port = 5201;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

let current: Sandbox | undefined;
const children: ChildProcess[] = [];
const stop = () =>
  void Promise.resolve()
    .then(() => children.forEach((c) => c.kill('SIGKILL')))
    .then(() => current?.destroy())
    .finally(() => process.exit(1));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

async function sandboxWith(topology: SandboxTopology, nodes: number, backend: string): Promise<Sandbox> {
  current = await createTestSandbox('bpn', nodes, { topology });
  await current.startControlPlane();
  await current.joinAgents([`--pod-network-backend=${backend}`]);
  return current;
}

function kubectl(sandbox: Sandbox, ...args: string[]) {
  return run(['kubectl', '--kubeconfig', sandbox.record.controlPlane!.kubeconfig, ...args], { timeoutMs: 60_000 });
}

/** A sleeping busybox pod pinned to `node`; resolves with its IP once it runs. */
async function podOn(sandbox: Sandbox, name: string, node: string): Promise<string> {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image: sandboxImages.busybox, command: ['sh', '-c', 'exec sleep 3600'] }],
    },
  };
  const created = await run(['kubectl', '--kubeconfig', sandbox.record.controlPlane!.kubeconfig, 'create', '-f', '-'], {
    input: JSON.stringify(pod),
    timeoutMs: 60_000,
  });
  if (created.code !== 0) throw new Error(`creating pod ${name}: ${created.stderr}`);
  return waitFor(
    async () => {
      const out = (await kubectl(sandbox, 'get', 'pod', name, '-o', 'jsonpath={.status.phase} {.status.podIP}')).stdout;
      const [phase, ip] = out.split(' ');
      return phase === 'Running' && ip ? ip : undefined;
    },
    { what: `pod ${name} running`, timeoutMs: 120_000, intervalMs: 100 },
  );
}

/** A receiver in a namespace (`prefix`: nsenter into it), until the returned stop is called. */
async function receiver(prefix: string[], address: string, port: number): Promise<() => void> {
  const server = spawn(prefix[0]!, [...prefix.slice(1), process.execPath, streamTool, 'serve', address, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(server);
  await new Promise<void>((resolve, reject) => {
    server.stdout!.on('data', (b: Buffer) => b.toString().includes('LISTENING') && resolve());
    server.once('exit', () => reject(new Error('the receiver exited')));
  });
  return () => server.kill('SIGKILL');
}

async function transfer(prefix: string[], address: string, port: number): Promise<number> {
  const sent = await run(
    [...prefix, process.execPath, streamTool, 'send', address, String(port), String(transferMiB)],
    {
      timeoutMs: 90_000,
    },
  );
  if (sent.code !== 0) throw new Error(`transfer to ${address}: ${sent.stderr.trim()}`);
  return JSON.parse(sent.stdout.trim()).mbitPerSecond;
}

/**
 * Median throughput (Mbit/s) node → node and pod → pod, the two interleaved transfer by transfer
 * so that both see the same load of this shared machine.
 */
async function throughputs(
  nodes: { from: string[]; to: string[]; address: string },
  pods: { from: string[]; to: string[]; address: string },
): Promise<{ node: number; pod: number }> {
  const stops = [await receiver(nodes.to, nodes.address, port), await receiver(pods.to, pods.address, port + 1)];
  try {
    const node: number[] = [];
    const pod: number[] = [];
    for (let i = 0; i < transfers; i++) {
      node.push(await transfer(nodes.from, nodes.address, port));
      pod.push(await transfer(pods.from, pods.address, port + 1));
    }
    return { node: median(node), pod: median(pod) };
  } finally {
    for (const stop of stops) stop();
  }
}

async function measureThroughput(topology: SandboxTopology, backend: string) {
  const sandbox = await sandboxWith(topology, 2, backend);
  try {
    const [a, b] = [sandbox.node('node-1'), sandbox.node('node-2')];
    const [ipA, ipB] = await Promise.all([podOn(sandbox, 'client', a.name), podOn(sandbox, 'server', b.name)]);
    const [nsA, nsB] = await Promise.all([podNetnsFile(a, ipA), podNetnsFile(b, ipB)]);
    const measured = await throughputs(
      { from: inNetns(a.netns, []), to: inNetns(b.netns, []), address: b.ip },
      { from: ['nsenter', `--net=${nsA}`], to: ['nsenter', `--net=${nsB}`], address: ipB },
    );
    const route = (await a.run(['ip', 'route', 'get', ipB])).stdout.trim().split('\n')[0];
    return {
      node_mbit_s: round(measured.node),
      pod_mbit_s: round(measured.pod),
      ratio: round(measured.pod / measured.node, 2),
      route,
    };
  } finally {
    await sandbox.destroy();
    current = undefined;
  }
}

/** A third node joins a flat sandbox: from its Node Ready to its subnet routed everywhere and its pod reachable. */
async function measureNewNode() {
  const sandbox = await sandboxWith('flat', 2, 'auto');
  try {
    const others = sandbox.nodes;
    const probes = await Promise.all(others.map((n) => podOn(sandbox, `probe-${n.name}`, n.name)));
    const probeNs = await Promise.all(others.map((n, i) => podNetnsFile(n, probes[i]!)));
    await sandbox.addNode();
    const joining = sandbox.joinAgents(['--pod-network-backend=auto']);
    const ready = await waitFor(
      async () => {
        const out = await kubectl(
          sandbox,
          'get',
          'node',
          'node-3',
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.podCIDR}',
        );
        const [status, cidr] = out.stdout.split(' ');
        return status === 'True' && cidr ? { at: performance.now(), cidr } : undefined;
      },
      { what: 'node-3 Ready', timeoutMs: 120_000, intervalMs: 20 },
    );
    const routedAt = await waitFor(
      async () => {
        for (const n of others)
          if (!(await n.run(['ip', 'route', 'show', ready.cidr])).stdout.includes('proto 98')) return undefined;
        return performance.now();
      },
      { what: "node-3's subnet routed on every other node", timeoutMs: 30_000, intervalMs: 20 },
    );
    await joining;
    const podIP = await podOn(sandbox, 'web', 'node-3');
    const podRunningAt = performance.now();
    const answeredAt = await waitFor(
      async () => {
        for (const ns of probeNs) {
          const r = await run(['nsenter', `--net=${ns}`, '/bin/busybox', 'ping', '-c', '1', '-W', '1', podIP], {
            timeoutMs: 5_000,
          });
          if (r.code !== 0) return undefined;
        }
        return performance.now();
      },
      { what: 'the pod on node-3 answering pods on every other node', timeoutMs: 30_000, intervalMs: 20 },
    );
    return {
      ready_to_routed_ms: round(Math.max(0, routedAt - ready.at)),
      ready_to_pod_reachable_ms: round(answeredAt - ready.at),
      pod_running_to_reachable_ms: round(answeredAt - podRunningAt),
    };
  } finally {
    await sandbox.destroy();
    current = undefined;
  }
}

const syncCost = await measureSyncCost(values.quick ? 100 : 250, values.quick ? 5 : 9);
const hostGw = await measureThroughput('flat', 'host-gw');
const vxlan = await measureThroughput('routed', 'vxlan');
const newNode = await measureNewNode();
const result = {
  suite: 'pod-network',
  quick: values.quick,
  transfer_mib: transferMiB,
  transfers,
  host_gw: { ...hostGw, target_ratio: 0.8 },
  vxlan: { ...vxlan, target_ratio: 0.6 },
  new_node: { ...newNode, target_ms: 2_000 },
  sync: { peers: syncCost.peers, first_ms: Math.round(syncCost.firstMs), noop_ms: Math.round(syncCost.noopMs) },
  loadavg: loadavg().map((x) => round(x, 2)),
};
writeResult('pod-network', values.quick, result);
