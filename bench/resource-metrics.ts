/**
 * The resource metrics API under a cluster's worth of kubelets:
 * `npm run bench -- resource-metrics [--quick] [--nodes N] [--pods-per-node M]`.
 * A `bosun server` child process (--metric-resolution 10s) and, in another (resource-metrics/stand-in-kubelets.ts),
 * a stand-in kubelet port per node (TLS, client certificates, /metrics/resource with plausible numbers: a few hundred
 * millicores and MiB per container). Measured:
 *  - a scrape round: how long the server takes to ask every kubelet once (spread of the requests
 *    the kubelets saw in one round), and the time from the nodes becoming reachable until every
 *    node and pod is in the API (two rounds, as metrics-server needs);
 *  - the API while it scrapes: p50/p99 of a node GET from 10 clients, against the same load in the
 *    same run before any kubelet was reachable (the baseline: the server's loops run, with nothing
 *    to scrape);
 *  - what `kubectl top pods -A` and `top nodes` cost: list latency of all PodMetrics and NodeMetrics.
 * Last line: one JSON object.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { KubeClient } from '../kube/client.ts';
import { refs } from '../kube/resource-ref.ts';
import { startServerProcess } from '../test/controlplane/server-process.ts';
import { spawn, type ChildProcess } from 'node:child_process';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    nodes: { type: 'string' },
    'pods-per-node': { type: 'string' },
    /** A folder for the server's CPU profile (node --cpu-prof), to see where scraping spends. */
    'cpu-prof': { type: 'string' },
  },
});
const quick = values.quick;
const nodeCount = Number(values.nodes ?? (quick ? 200 : 1000));
const podsPerNode = Number(values['pods-per-node'] ?? (quick ? 5 : 10));
const resolutionSeconds = 10;
const loadSeconds = quick ? 10 : 25;
const loadClients = 10;

const round = (n: number) => Math.round(n * 100) / 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const log = (text: string) => process.stderr.write(`[resource-metrics] ${text}\n`);

/** p50/p99 of a node GET from `loadClients` clients for `loadSeconds`. */
async function apiLatency(client: KubeClient): Promise<{ p50: number; p99: number; requests: number }> {
  const samples: number[] = [];
  const end = performance.now() + loadSeconds * 1000;
  await Promise.all(
    Array.from({ length: loadClients }, async (_, c) => {
      for (let i = c; performance.now() < end; i += loadClients) {
        const t = performance.now();
        await client.get(refs.nodes, `node-${String(i % nodeCount).padStart(4, '0')}`);
        samples.push(performance.now() - t);
        await sleep(10);
      }
    }),
  );
  return { p50: round(percentile(samples, 50)), p99: round(percentile(samples, 99)), requests: samples.length };
}

/** How long each list takes, `times` times. */
async function listLatency(client: KubeClient, path: string, times: number): Promise<{ p50: number; items: number }> {
  const samples: number[] = [];
  let items = 0;
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    items = (await client.getPath<{ items: unknown[] }>(path)).items.length;
    samples.push(performance.now() - t);
  }
  return { p50: round(percentile(samples, 50)), items };
}

/**
 * How long the last complete round took: from the first to the last kubelet asked, the k-th
 * request of each kubelet being round k (each is asked once per round).
 */
function lastRoundSpreadMs(scrapedAt: readonly (readonly number[])[]): number {
  const rounds = Math.min(...scrapedAt.map((times) => times.length));
  if (rounds === 0) return Number.NaN;
  const last = scrapedAt.map((times) => times[rounds - 1]!);
  return Math.max(...last) - Math.min(...last);
}

/** The stand-in kubelets (resource-metrics/stand-in-kubelets.ts) in a child process; their ports, and a way to stop them. */
async function startKubelets(dataDir: string): Promise<{ ports: Record<string, number>; stop(): Promise<number[][]> }> {
  // at the lowest priority: on a real cluster kubelets run on other machines, and their TLS work
  // here must not be counted as the server's
  const child: ChildProcess = spawn(
    'nice',
    [
      '-n',
      '19',
      process.execPath,
      join(import.meta.dirname, 'resource-metrics', 'stand-in-kubelets.ts'),
      dataDir,
      String(nodeCount),
      String(podsPerNode),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  process.once('exit', () => child.kill('SIGKILL'));
  let out = '';
  const lines: unknown[] = [];
  let waiting: (() => void) | undefined;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    let end = out.indexOf('\n');
    while (end >= 0) {
      lines.push(JSON.parse(out.slice(0, end)));
      out = out.slice(end + 1);
      end = out.indexOf('\n');
      waiting?.();
    }
  });
  const next = async () => {
    while (lines.length === 0) await new Promise<void>((resolve) => (waiting = resolve));
    return lines.shift() as Record<string, unknown>;
  };
  const { ports } = (await next()) as { ports: Record<string, number> };
  return {
    ports,
    stop: async () => {
      child.stdin!.end();
      return ((await next()) as { scrapedAt: number[][] }).scrapedAt;
    },
  };
}

async function main(): Promise<void> {
  const server = await startServerProcess({
    datastore: 'sqlite',
    serverArgs: ['--metric-resolution', `${resolutionSeconds}s`],
    ...(values['cpu-prof'] ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] } : {}),
  });
  let kubelets: Awaited<ReturnType<typeof startKubelets>> | undefined;
  const pki = (name: string) => readFileSync(join(server.dataDir, 'pki', name), 'utf8');
  const client = new KubeClient({
    server: server.url,
    ca: pki('ca.crt'),
    cert: pki('admin.crt'),
    key: pki('admin.key'),
    maxConnections: 64,
  });
  try {
    log(`${nodeCount} nodes, ${podsPerNode} pods each`);
    kubelets = await startKubelets(server.dataDir);
    const names = Object.keys(kubelets.ports);
    // nodes without an address first: nothing to scrape yet (the baseline)
    await Promise.all(
      names.map((name) => client.create(refs.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name } })),
    );
    for (let i = 0; i < names.length; i += 50)
      await Promise.all(
        names.slice(i, i + 50).flatMap((node) =>
          Array.from({ length: podsPerNode }, (_, p) =>
            client.create(refs.pods, {
              apiVersion: 'v1',
              kind: 'Pod',
              metadata: { name: `${node}-pod-${p}`, namespace: 'default' },
              spec: { nodeName: node, containers: [{ name: 'app', image: 'img:1' }] },
            }),
          ),
        ),
      );
    log('baseline: API latency with nothing to scrape');
    const baseline = await apiLatency(client);

    const reachable = performance.now();
    await Promise.all(
      names.map((name) =>
        client.updateStatus(refs.nodes, {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name },
          status: {
            addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
            daemonEndpoints: { kubeletEndpoint: { Port: kubelets!.ports[name] } },
            conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ready' }],
            allocatable: { cpu: '4', memory: '16Gi', pods: '110' },
          },
        }),
      ),
    );
    log('waiting for every node and pod in metrics.k8s.io');
    const deadline = Date.now() + 180_000;
    let complete = false;
    while (!complete && Date.now() < deadline) {
      await sleep(500);
      const nodes = await client.getPath<{ items: unknown[] }>('/apis/metrics.k8s.io/v1beta1/nodes');
      const pods = await client.getPath<{ items: unknown[] }>('/apis/metrics.k8s.io/v1beta1/pods');
      complete = nodes.items.length === nodeCount && pods.items.length === nodeCount * podsPerNode;
    }
    const firstFullMs = performance.now() - reachable;
    log(`all in ${Math.round(firstFullMs)} ms; API latency while scraping`);
    const scraping = await apiLatency(client);
    const pods = await listLatency(client, '/apis/metrics.k8s.io/v1beta1/pods', 5);
    const nodes = await listLatency(client, '/apis/metrics.k8s.io/v1beta1/nodes', 5);
    const roundMs = lastRoundSpreadMs(await kubelets.stop());
    kubelets = undefined;
    const result = {
      load_average: round(loadavg()[0]!),
      nodes: nodeCount,
      pods: nodeCount * podsPerNode,
      resolution_s: resolutionSeconds,
      complete,
      first_full_metrics_ms: Math.round(firstFullMs),
      scrape_round_ms: roundMs,
      get_p50_ms: scraping.p50,
      get_p99_ms: scraping.p99,
      baseline_get_p50_ms: baseline.p50,
      baseline_get_p99_ms: baseline.p99,
      requests_while_scraping: scraping.requests,
      list_podmetrics_p50_ms: pods.p50,
      podmetrics: pods.items,
      list_nodemetrics_p50_ms: nodes.p50,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    client.close();
    await kubelets?.stop();
    await server.destroy();
  }
}

await main();
