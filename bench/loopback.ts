/**
 * How the server's own scheduler and controllers reach its API (`--controllers-loopback`):
 * in process against loopback HTTPS, in the same run, two ways.
 *  - transport: one server in this process, the admin's client both ways; sequential GETs, creates
 *    and the events of one watch, timed per request, with this process's CPU per request (the
 *    server's and the client's side together, as both sides of a server's own loops run in it);
 *  - rollout: `bosun server` (sqlite) with hollow nodes joined, then Deployments of `pods-per-node`
 *    pods per node, once per mode on a fresh server: time until every replica is ready, the
 *    server's CPU over the rollout, and the server's mutating and GET p99 over it (its own
 *    apiserver_request_duration_seconds, every client's calls).
 * The same-run baseline is tcp, the way the loops went before.
 * Usage: npm run bench -- loopback [--quick] [--nodes 100] [--pods-per-node 30] [--requests 2000]
 * Last line: one JSON object.
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../kube/client.ts';
import { loadKubeconfig } from '../kube/kubeconfig.ts';
import { refs } from '../kube/resource-ref.ts';
import type { KubeObject } from '../kube/types.ts';
import {
  controllersLoopbacks,
  loopbackClientConfig,
  type ControllersLoopback,
} from '../controlplane/loopback-client.ts';
import { startInProcess } from '../test/controlplane/in-process.ts';
import { adminIdentity, call, startServerProcess, type ServerProcess } from '../test/controlplane/server-process.ts';
import { parseScrape, summarize, windowOf, type Scrape } from './scale/api-latency.ts';
import { HollowProcess } from './scale/hollow-process.ts';
import { joinArgs } from './scale/join-args.ts';
import { loadDeployment } from './scale/load-deployment.ts';
import { ProcessWatch } from './scale/process-stats.ts';
import { Progress } from './scale/progress.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    nodes: { type: 'string' },
    'pods-per-node': { type: 'string' },
    requests: { type: 'string' },
  },
});
const quick = values.quick;
const nodeCount = Number(values.nodes ?? (quick ? 20 : 100));
const podsPerNode = Number(values['pods-per-node'] ?? (quick ? 5 : 30));
const requestCount = Number(values.requests ?? (quick ? 500 : 2000));
/** The most a rollout may take before its numbers are reported as they stand. */
const rolloutBudgetMs = quick ? 90_000 : 300_000;
const progress = new Progress();
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

interface TransportResult {
  get_us: number;
  create_us: number;
  watch_event_us: number;
  cpu_us_per_request: number;
}

/** Sequential requests of one client: the time and this process's CPU per request. */
async function timed(count: number, work: (i: number) => Promise<unknown>): Promise<{ us: number; cpuUs: number }> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i++) await work(i);
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { us: round((elapsed * 1000) / count), cpuUs: round((cpu.user + cpu.system) / count) };
}

async function transport(): Promise<Record<ControllersLoopback, TransportResult>> {
  const server = await startInProcess();
  const results = {} as Record<ControllersLoopback, TransportResult>;
  try {
    const identity = { ...server.admin, cert: server.admin.cert!, key: server.admin.key! };
    for (const mode of ['tcp', 'in-process', 'tcp', 'in-process'] as const) {
      const client = new KubeClient(loopbackClientConfig(mode, server.server.api, identity));
      try {
        const prefix = `${mode}-${Math.random().toString(36).slice(2, 7)}`;
        // warm: the first connection (a TLS handshake over tcp) is not what a long-lived loop pays
        await client.get(refs.namespaces, 'default');
        const gets = await timed(requestCount, () => client.get(refs.namespaces, 'default'));
        const creates = await timed(requestCount / 4, (i) =>
          client.create(refs.configmaps, {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `${prefix}-${i}`, namespace: 'default' },
            data: { key: 'x'.repeat(512) },
          } as KubeObject),
        );
        // a watch's initial events: the configmaps just created, streamed in one response
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        let events = 0;
        const abort = new AbortController();
        for await (const event of client.watch(refs.configmaps, { namespace: 'default', signal: abort.signal })) {
          if (event.type === 'ADDED' && ++events >= requestCount / 4) break;
        }
        abort.abort();
        const cpu = process.cpuUsage(cpuBefore);
        const watchUs = round(((performance.now() - started) * 1000) / events);
        const all = {
          get_us: gets.us,
          create_us: creates.us,
          watch_event_us: watchUs,
          cpu_us_per_request: round(
            (gets.cpuUs * requestCount + creates.cpuUs * (requestCount / 4) + (cpu.user + cpu.system)) /
              (requestCount + requestCount / 4 + events),
          ),
        };
        // the second round of each mode counts (the first warms the JIT for both)
        results[mode] = all;
        for (let i = 0; i < requestCount / 4; i++)
          await client.delete(refs.configmaps, `${prefix}-${i}`, { namespace: 'default' });
      } finally {
        client.close();
      }
    }
  } finally {
    await server.destroy();
  }
  return results;
}

async function scrape(server: ServerProcess): Promise<Scrape> {
  const reply = await call(server, 'GET', '/metrics', adminIdentity(server.dataDir));
  if (reply.status !== 200) throw new Error(`GET /metrics answered ${reply.status}`);
  return parseScrape(String(reply.body));
}

interface RolloutResult {
  nodes_ready: number;
  pods_target: number;
  pods_ready: number;
  rollout_s: number;
  server_cpu_s: number;
  server_cpu_pct: number;
  server_peak_rss_mib: number;
  mutating_p99_ms: number;
  read_p99_ms: number;
}

async function rollout(mode: ControllersLoopback): Promise<RolloutResult> {
  const server = await startServerProcess({
    datastore: 'sqlite',
    controllers: true,
    serverArgs: ['--cluster-cidr', '10.64.0.0/12', '--controllers-loopback', mode],
  });
  const hollow = new HollowProcess({
    server: server.url,
    joinArgs: await joinArgs(server),
    nodes: nodeCount,
    firstIndex: 0,
    namePrefix: `hollow-${mode}`,
    joinConcurrency: 24,
  });
  const admin = new KubeClient({ ...loadKubeconfig(server.kubeconfig).client, timeoutMs: 30_000 });
  try {
    await admin.create(refs.namespaces, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'load' },
    } as KubeObject);
    const joinDeadline = Date.now() + 180_000;
    while ((hollow.latest?.ready ?? 0) < nodeCount && Date.now() < joinDeadline) {
      if (hollow.exitReason) throw new Error(`the hollow process ${hollow.exitReason}`);
      progress.update(`[${mode}] ${hollow.latest?.ready ?? 0}/${nodeCount} nodes ready`);
      await sleep(1_000);
    }
    const nodesReady = hollow.latest?.ready ?? 0;
    // a quiet moment between the join and the rollout, so that the window holds the rollout alone
    await sleep(3_000);
    const before = await scrape(server);
    const watch = new ProcessWatch(() => [server.pid]);
    watch.start();
    const started = performance.now();
    const target = nodeCount * podsPerNode;
    for (let created = 0, i = 0; created < target; i++) {
      const replicas = Math.min(300, target - created);
      await admin.create(refs.deployments, loadDeployment('load', i, replicas));
      created += replicas;
    }
    let ready = 0;
    const deadline = Date.now() + rolloutBudgetMs;
    while (ready < target && Date.now() < deadline) {
      await sleep(1_000);
      watch.sample();
      const list = await admin.list<KubeObject & { status?: { readyReplicas?: number } }>(refs.deployments, {
        namespace: 'load',
      });
      ready = list.items.reduce((sum, d) => sum + (d.status?.readyReplicas ?? 0), 0);
      progress.update(
        `[${mode}] ${ready}/${target} replicas ready, ${Math.round((performance.now() - started) / 1000)} s`,
      );
    }
    const rolloutSeconds = (performance.now() - started) / 1000;
    const cpu = watch.cpu();
    const latency = summarize(windowOf(before, await scrape(server)));
    const result = {
      nodes_ready: nodesReady,
      pods_target: target,
      pods_ready: ready,
      rollout_s: round(rolloutSeconds),
      server_cpu_s: cpu.seconds,
      server_cpu_pct: cpu.pct,
      server_peak_rss_mib: Math.round(watch.peakRssBytes / 1048576),
      mutating_p99_ms: latency.mutating.p99_ms,
      read_p99_ms: latency.read.p99_ms,
    };
    progress.note(`[${mode}] ${JSON.stringify(result)}`);
    return result;
  } finally {
    admin.close();
    await hollow.stop();
    await server.destroy();
  }
}

const startedAt = Date.now();
const transportResults = await transport();
progress.note(`transport: ${JSON.stringify(transportResults)}`);
const rollouts = {} as Record<ControllersLoopback, RolloutResult>;
for (const mode of controllersLoopbacks.toReversed()) rollouts[mode] = await rollout(mode);
const ratio = (a: number, b: number) => (b > 0 ? round(a / b, 2) : null);
const summary = {
  suite: 'loopback',
  quick,
  nodes: nodeCount,
  pods: nodeCount * podsPerNode,
  transport: transportResults,
  rollout: rollouts,
  in_process_vs_tcp: {
    get_latency: ratio(transportResults['in-process'].get_us, transportResults.tcp.get_us),
    cpu_per_request: ratio(transportResults['in-process'].cpu_us_per_request, transportResults.tcp.cpu_us_per_request),
    rollout_time: ratio(rollouts['in-process'].rollout_s, rollouts.tcp.rollout_s),
    rollout_server_cpu: ratio(rollouts['in-process'].server_cpu_s, rollouts.tcp.server_cpu_s),
    rollout_mutating_p99: ratio(rollouts['in-process'].mutating_p99_ms, rollouts.tcp.mutating_p99_ms),
  },
  elapsed_s: Math.round((Date.now() - startedAt) / 1000),
  host: { cores: availableParallelism(), load_average: loadavg().map((x) => round(x, 2)) },
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
