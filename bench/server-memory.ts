/**
 * What `bosun server` holds per object: `npm run bench -- server-memory [--quick] [--pods 30000]
 * [--nodes 1000] [--api-only]`.
 *
 * One server in this process (sqlite, with its scheduler and controllers, as `bosun server` runs)
 * is loaded with `pods` pods shaped like the scale bench's replicas: bound round-robin to `nodes`
 * node names, each with the status a node's agent writes (Running, Ready, a container status).
 * The same-run baseline is the empty server just started. After a forced garbage collection it
 * reports the heap and RSS the pods added, per pod, and how reads fare with that many objects:
 * single GETs, one node's pods (a field-selected list, what every agent lists), every pod (a full
 * list), and a watch's delay (a label patch until the node's pod watch sees it). The last line is
 * the JSON summary; bench/results/server-memory.json keeps it. `--api-only` leaves the scheduler and
 * controllers out, so the difference between two runs is what their caches hold.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../kube/client.ts';
import { refs } from '../kube/resource-ref.ts';
import type { KubeObject } from '../kube/types.ts';
import { startInProcess } from '../test/controlplane/in-process.ts';
import { percentile } from './soak/report.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    pods: { type: 'string' },
    nodes: { type: 'string' },
    'api-only': { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const podCount = Number(values.pods ?? (quick ? 3_000 : 30_000));
const nodeCount = Number(values.nodes ?? (quick ? 100 : 1_000));
/** Writes in flight at once: enough to keep the server's group commit busy. */
const concurrency = 64;
const namespace = 'scale';
/** Without the scheduler and controllers: what the API server alone holds (their caches are the rest). */
const apiOnly = values['api-only'];

// a forced collection before each reading: otherwise the numbers say when V8 last collected
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
const ms = (n: number) => Math.round(n * 100) / 100;

interface Reading {
  heapUsed: number;
  heapTotal: number;
  rss: number;
  /** Of the RSS: anonymous memory (heaps, buffers) and file pages mapped in (the datastore's included). */
  rssAnon: number;
  rssFile: number;
  external: number;
}

/** A field of /proc/self/status in bytes (Linux). */
function statusBytes(field: string): number {
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return Number(kib ?? 0) * 1024;
}

async function settled(): Promise<Reading> {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(100);
  }
  const { heapUsed, heapTotal, rss, external } = process.memoryUsage();
  return { heapUsed, heapTotal, rss, rssAnon: statusBytes('RssAnon'), rssFile: statusBytes('RssFile'), external };
}

function nodeName(index: number): string {
  return `hollow-${index % nodeCount}`;
}

/** A replica like the scale bench's Deployments make (its template, a generated name, an owner-less pod). */
function pod(index: number): KubeObject {
  const app = `load-${Math.floor(index / 300)}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${app}-5d8f7c9b4-${index.toString(36).padStart(5, '0')}`,
      namespace,
      labels: { app, 'pod-template-hash': '5d8f7c9b4' },
    },
    spec: {
      nodeName: nodeName(index),
      containers: [
        { name: 'app', image: 'registry.local/scale/app:1', resources: { requests: { cpu: '5m', memory: '8Mi' } } },
      ],
    },
  } as KubeObject;
}

/** The status a node's agent writes once the pod runs. */
function runningStatus(index: number, now: string): Record<string, unknown> {
  const ip = `10.${64 + Math.floor(index / 65536)}.${Math.floor(index / 256) % 256}.${index % 256}`;
  const condition = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now });
  return {
    phase: 'Running',
    conditions: ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map(condition),
    hostIP: '172.31.0.10',
    hostIPs: [{ ip: '172.31.0.10' }],
    podIP: ip,
    podIPs: [{ ip }],
    startTime: now,
    qosClass: 'Burstable',
    containerStatuses: [
      {
        name: 'app',
        image: 'registry.local/scale/app:1',
        imageID: `registry.local/scale/app@sha256:${'ab'.repeat(32)}`,
        containerID: `containerd://${index.toString(16).padStart(64, '0')}`,
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: now } },
      },
    ],
  };
}

/** Runs `work(i)` for i in [0, count), `concurrency` at a time. */
async function inParallel(count: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** p50/p99 of `rounds` timed calls of `work`, one at a time, in milliseconds. */
async function timed(
  rounds: number,
  work: (i: number) => Promise<unknown>,
): Promise<{ p50_ms: number; p99_ms: number }> {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await work(i);
    samples.push(performance.now() - start);
  }
  return { p50_ms: ms(percentile(samples, 50)), p99_ms: ms(percentile(samples, 99)) };
}

/** How long a label patch takes to reach a watch of the pod's node, p50/p99 over `rounds` patches. */
async function watchDelay(client: KubeClient, rounds: number): Promise<{ p50_ms: number; p99_ms: number }> {
  const node = nodeName(0);
  const stop = new AbortController();
  const seen = new Map<string, (at: number) => void>();
  const start = await client.list(refs.pods, { namespace, fieldSelector: `spec.nodeName=${node}` });
  const names = start.items.map((p) => p.metadata.name ?? '');
  const watching = (async () => {
    for await (const event of client.watch(refs.pods, {
      namespace,
      fieldSelector: `spec.nodeName=${node}`,
      resourceVersion: start.metadata.resourceVersion ?? '0',
      signal: stop.signal,
    })) {
      const round = event.object.metadata.labels?.['bench-round'];
      if (round !== undefined) seen.get(round)?.(performance.now());
    }
  })().catch(() => undefined);
  const samples: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const arrived = new Promise<number>((resolve) => seen.set(String(i), resolve));
      const sent = performance.now();
      await client.patch(
        refs.pods,
        names[i % names.length]!,
        { metadata: { labels: { 'bench-round': String(i) } } },
        { namespace },
      );
      samples.push((await arrived) - sent);
    }
    return { p50_ms: ms(percentile(samples, 50)), p99_ms: ms(percentile(samples, 99)) };
  } finally {
    stop.abort();
    await watching;
  }
}

const startedAt = Date.now();
const server = await startInProcess(apiOnly ? {} : { controlLoops: {} });
const client = new KubeClient({ ...server.admin, maxConnections: concurrency });
try {
  await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  // pods are admitted only once the namespace's default service account exists (the controllers make it)
  if (apiOnly)
    await client.create(refs.serviceaccounts, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace },
    });
  for (let i = 0; ; i++) {
    const found = await client.get(refs.serviceaccounts, 'default', namespace).catch(() => undefined);
    if (found !== undefined) break;
    if (i > 300) throw new Error('the default service account did not appear within 30 s');
    await sleep(100);
  }
  const empty = await settled();
  process.stderr.write(`empty server: heap ${mib(empty.heapUsed)} MiB, rss ${mib(empty.rss)} MiB\n`);

  const loadStart = performance.now();
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await inParallel(podCount, async (i) => {
    const created = await client.create(refs.pods, pod(i));
    await client.updateStatus(refs.pods, { ...created, status: runningStatus(i, now) });
    if ((i + 1) % 5_000 === 0) process.stderr.write(`${i + 1} pods written\n`);
  });
  const loadSeconds = (performance.now() - loadStart) / 1000;
  // the controllers' caches have every pod once the last write has gone through their watches
  await sleep(2_000);
  const loaded = await settled();
  process.stderr.write(`${podCount} pods: heap ${mib(loaded.heapUsed)} MiB, rss ${mib(loaded.rss)} MiB\n`);

  const rounds = quick ? 100 : 300;
  const get = await timed(rounds, (i) => client.get(refs.pods, pod((i * 7919) % podCount).metadata.name!, namespace));
  const nodeList = await timed(rounds, (i) =>
    client.list(refs.pods, { fieldSelector: `spec.nodeName=${nodeName(i)}` }),
  );
  const fullList = await timed(quick ? 5 : 3, () => client.list(refs.pods, { namespace }));
  const watch = await watchDelay(client, quick ? 50 : 100);

  const summary = {
    suite: 'server-memory',
    quick,
    api_only: apiOnly,
    pods: podCount,
    nodes: nodeCount,
    load_s: Math.round(loadSeconds * 10) / 10,
    baseline: { heap_mib: mib(empty.heapUsed), rss_mib: mib(empty.rss) },
    loaded: {
      heap_mib: mib(loaded.heapUsed),
      heap_total_mib: mib(loaded.heapTotal),
      rss_mib: mib(loaded.rss),
      rss_anon_mib: mib(loaded.rssAnon),
      rss_file_mib: mib(loaded.rssFile),
      external_mib: mib(loaded.external),
    },
    heap_kib_per_pod: Math.round(((loaded.heapUsed - empty.heapUsed) / podCount / 1024) * 100) / 100,
    rss_kib_per_pod: Math.round(((loaded.rss - empty.rss) / podCount / 1024) * 100) / 100,
    get,
    node_list: nodeList,
    full_list: fullList,
    watch_delay: watch,
    elapsed_s: Math.round((Date.now() - startedAt) / 1000),
    host: { cores: availableParallelism(), load_average: loadavg().map((x) => Math.round(x * 100) / 100) },
  };
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, quick ? 'server-memory-quick.json' : 'server-memory.json'),
    `${JSON.stringify({ ...summary, measured_at: new Date().toISOString() }, null, 2)}\n`,
  );
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} finally {
  client.close();
  await server.destroy();
}
