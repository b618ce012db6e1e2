/**
 * API server speed: `npm run bench -- api [--quick] [--backend sqlite|etcd|both]`.
 * For each datastore, against a `bosun server` child process on loopback:
 *  - mutating and read latency: 50 concurrent clients paced to 500 writes/s in total, each doing
 *    pod create, lease update and pod get (p50/p99 per kind);
 *  - watch fan-out: 500 watchers on one collection, then a paced series of updates; the time from
 *    sending an update until each watcher has it (p99 over every delivery).
 * Same-run baseline: raw etcd put/get through the etcd3 client at the same concurrency.
 * Custom resources (sqlite): create/get/list and watch fan-out on a CustomResourceDefinition with
 * a schema and two CEL rules, against the same operations on ConfigMaps in the same server, in
 * alternating rounds (target: at most 1.5 times the ConfigMap time). `--custom-only` runs this row alone.
 * `--server-cpu-prof <dir>` profiles each server and puts a digest of it in the result.
 * Last line: one JSON object (sqlite numbers at top level, etcd's under "etcd").
 */
import { parseArgs } from 'node:util';
import { Etcd3 } from 'etcd3';
import { etcdCredentials } from '../controlplane/storage/etcd.ts';
import { KubeClient } from '../kube/client.ts';
import { refs, type ResourceRef } from '../kube/resource-ref.ts';
import type { KubeObject } from '../kube/types.ts';
import { startEtcd, type EtcdProcess } from '../test/controlplane/etcd-process.ts';
import { startServerProcess, type ServerProcess } from '../test/controlplane/server-process.ts';
import { digestOfNewest, type ProfileDigest } from './scale/profile-summary.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    backend: { type: 'string', default: 'both' },
    'custom-only': { type: 'boolean', default: false },
    /** A folder for the server's CPU profile (one per backend); its digest goes into the result. */
    'server-cpu-prof': { type: 'string' },
  },
});
const serverCpuProfDir = values['server-cpu-prof'];
/** Where each backend's server spent its CPU during the load and the fan-out. */
const profiles: ({ backend: string } & ProfileDigest)[] = [];
const quick = values.quick;
const clients = 50;
const writesPerSecond = 500;
const loadSeconds = quick ? 4 : 15;
const watcherCount = 500;
const fanoutEvents = quick ? 20 : 100;
const baselineOps = quick ? 2000 : 10000;

function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const round = (n: number) => Math.round(n * 100) / 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function clientFor(server: ServerProcess): KubeClient {
  const pki = (name: string) => readFileSync(join(server.dataDir, 'pki', name), 'utf8');
  return new KubeClient({ server: server.url, ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key') });
}

interface LoadResult {
  create: number[];
  update: number[];
  get: number[];
  errors: number;
  /** The distinct reasons the failed requests gave (a few), so a result with errors says why. */
  errorReasons: Set<string>;
  achievedWritesPerSecond: number;
}

async function mutatingLoad(client: KubeClient, namespace = 'bench'): Promise<LoadResult> {
  const result: LoadResult = {
    create: [],
    update: [],
    get: [],
    errors: 0,
    errorReasons: new Set(),
    achievedWritesPerSecond: 0,
  };
  const leases: KubeObject[] = [];
  for (let i = 0; i < clients; i++) {
    leases.push(
      await client.create(refs.leases, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: `l${i}`, namespace },
        spec: { holderIdentity: `c${i}` },
      }),
    );
  }
  // Each client does two writes (create + update) per cycle; cycles are paced on a fixed schedule.
  const cycleMs = (1000 * clients * 2) / writesPerSecond;
  const start = performance.now();
  const end = start + loadSeconds * 1000;
  let writes = 0;
  const worker = async (i: number) => {
    let lease = leases[i]!;
    for (let k = 0; ; k++) {
      const due = start + (i / clients) * cycleMs + k * cycleMs;
      if (due >= end) return;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      try {
        let t = performance.now();
        const name = `p-${i}-${k}`;
        await client.create(refs.pods, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace },
          spec: { containers: [{ name: 'c', image: 'img:1' }] },
        });
        result.create.push(performance.now() - t);
        t = performance.now();
        lease = await client.update(refs.leases, {
          ...lease,
          spec: { ...(lease.spec as object), renewTime: new Date().toISOString().replace('Z', '000Z') },
        });
        result.update.push(performance.now() - t);
        writes += 2;
        t = performance.now();
        await client.get(refs.pods, name, namespace);
        result.get.push(performance.now() - t);
      } catch (err) {
        result.errors++;
        if (result.errorReasons.size < 5) result.errorReasons.add((err as Error).message.split('\n')[0]!.slice(0, 160));
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => worker(i)));
  result.achievedWritesPerSecond = writes / ((performance.now() - start) / 1000);
  return result;
}

async function watchFanout(
  client: KubeClient,
): Promise<{ p50: number; p99: number; deliveries: number; missing: number }> {
  const target: KubeObject = await client.create<KubeObject>(refs.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'fan', namespace: 'bench' },
    data: { seq: '-1' },
  });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const received = new Array<number>(watcherCount).fill(0);
  const abort = new AbortController();
  const watchers = Array.from({ length: watcherCount }, async (_, w) => {
    try {
      for await (const event of client.watch(refs.configmaps, {
        namespace: 'bench',
        fieldSelector: 'metadata.name=fan',
        resourceVersion: target.metadata.resourceVersion!,
        signal: abort.signal,
      })) {
        const seq = (event.object.data as Record<string, string>).seq!;
        const at = sentAt.get(seq);
        if (at !== undefined) latencies.push(performance.now() - at);
        received[w]!++;
      }
    } catch {
      // ended by abort
    }
  });
  // Warm-up update: wait until every watcher has it, so all 500 watches are established.
  let current = await client.patch(refs.configmaps, 'fan', { data: { seq: 'warm' } }, { namespace: 'bench' });
  const warmDeadline = Date.now() + 60_000;
  while (received.some((n) => n < 1) && Date.now() < warmDeadline) await sleep(20);
  const established = received.filter((n) => n >= 1).length;
  latencies.length = 0;
  for (let i = 0; i < fanoutEvents; i++) {
    const seq = String(i);
    sentAt.set(seq, performance.now());
    current = await client.patch(refs.configmaps, 'fan', { data: { seq } }, { namespace: 'bench' });
    await sleep(50);
  }
  void current;
  const expected = established * fanoutEvents;
  const deadline = Date.now() + 10_000;
  while (latencies.length < expected && Date.now() < deadline) await sleep(20);
  abort.abort();
  await Promise.all(watchers);
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    deliveries: latencies.length,
    missing: watcherCount * fanoutEvents - latencies.length,
  };
}

async function etcdBaseline(
  target: EtcdProcess,
): Promise<{ put_p50: number; put_p99: number; get_p50: number; get_p99: number }> {
  const etcd = new Etcd3({
    hosts: [target.endpoint],
    ...(target.clientTls ? { credentials: etcdCredentials(target.clientTls) } : {}),
  });
  const puts: number[] = [];
  const gets: number[] = [];
  let next = 0;
  const value = JSON.stringify({ metadata: { name: 'x' }, spec: { holderIdentity: 'bench' }, pad: 'x'.repeat(600) });
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < baselineOps) {
        const i = next++;
        let t = performance.now();
        await etcd.put(`/baseline/${i}`).value(value).exec();
        puts.push(performance.now() - t);
        t = performance.now();
        await etcd.get(`/baseline/${i}`).string();
        gets.push(performance.now() - t);
      }
    }),
  );
  etcd.close();
  return {
    put_p50: round(percentile(puts, 50)),
    put_p99: round(percentile(puts, 99)),
    get_p50: round(percentile(gets, 50)),
    get_p99: round(percentile(gets, 99)),
  };
}

async function runBackend(backend: 'sqlite' | 'etcd', etcd: EtcdProcess | undefined) {
  const started = Date.now();
  const server = await startServerProcess({
    datastore: backend,
    ...(etcd ? { etcd } : {}),
    ...(serverCpuProfDir ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', serverCpuProfDir] } : {}),
  });
  const client = clientFor(server);
  try {
    await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    const load = await mutatingLoad(client);
    const mutating = [...load.create, ...load.update];
    const fan = await watchFanout(client);
    const numbers = {
      backend,
      mutating_p50_ms: round(percentile(mutating, 50)),
      mutating_p99_ms: round(percentile(mutating, 99)),
      pod_create_p50_ms: round(percentile(load.create, 50)),
      pod_create_p99_ms: round(percentile(load.create, 99)),
      lease_update_p50_ms: round(percentile(load.update, 50)),
      lease_update_p99_ms: round(percentile(load.update, 99)),
      get_p50_ms: round(percentile(load.get, 50)),
      get_p99_ms: round(percentile(load.get, 99)),
      writes_per_s: round(load.achievedWritesPerSecond),
      errors: load.errors,
      error_reasons: [...load.errorReasons],
      watch_fanout_p50_ms: round(fan.p50),
      watch_fanout_p99_ms: round(fan.p99),
      watch_deliveries: fan.deliveries,
      watch_missing: fan.missing,
    };
    process.stdout.write(
      `${backend}: ${numbers.writes_per_s} writes/s by ${clients} clients; mutating p50 ${numbers.mutating_p50_ms} ms p99 ${numbers.mutating_p99_ms} ms ` +
        `(pod create p99 ${numbers.pod_create_p99_ms}, lease update p99 ${numbers.lease_update_p99_ms}); get p50 ${numbers.get_p50_ms} p99 ${numbers.get_p99_ms}; ` +
        `watch to ${watcherCount} watchers p50 ${numbers.watch_fanout_p50_ms} ms p99 ${numbers.watch_fanout_p99_ms} ms (${fan.deliveries} deliveries, ${fan.missing} missing); errors ${load.errors}${load.errorReasons.size > 0 ? ` (${[...load.errorReasons].join('; ')})` : ''}\n`,
    );
    return numbers;
  } finally {
    client.close();
    await server.destroy();
    const digest = serverCpuProfDir ? digestOfNewest(serverCpuProfDir, started) : undefined;
    if (digest) profiles.push({ backend, ...digest });
  }
}

/**
 * What validating every object costs a write: the same load against two sqlite servers, one as
 * shipped and one with its validation module taken out by a load hook (bench/_without-validation.ts),
 * in alternating rounds so that the machine's drift falls on both. First proves that the second
 * server really stores what the first refuses.
 */
async function validationCost() {
  const shipped = await startServerProcess({ datastore: 'sqlite' });
  const unvalidated = await startServerProcess({
    datastore: 'sqlite',
    nodeArgs: ['--import', join(import.meta.dirname, '_without-validation.ts')],
  });
  const clients = { with: clientFor(shipped), without: clientFor(unvalidated) };
  try {
    const hostile = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'hostile', namespace: 'default' },
      data: { '../x': 'y' },
    };
    const refused = await clients.with.create(refs.configmaps, hostile).then(
      () => false,
      () => true,
    );
    const stored = await clients.without.create(refs.configmaps, hostile).then(
      () => true,
      () => false,
    );
    if (!refused || !stored)
      throw new Error(
        `validation cost: the comparison is void (shipped server refused: ${refused}, unvalidated server stored: ${stored})`,
      );
    const samples = { with: [] as number[], without: [] as number[] };
    const rounds = 2;
    for (let round = 0; round < rounds; round++) {
      for (const variant of round % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const)) {
        const namespace = `cost-${round}`;
        await clients[variant].create(refs.namespaces, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: namespace },
        });
        const load = await mutatingLoad(clients[variant], namespace);
        samples[variant].push(...load.create, ...load.update);
      }
    }
    const numbers = {
      with_validation_p50_ms: round(percentile(samples.with, 50)),
      with_validation_p99_ms: round(percentile(samples.with, 99)),
      without_validation_p50_ms: round(percentile(samples.without, 50)),
      without_validation_p99_ms: round(percentile(samples.without, 99)),
      validation_p99_ratio: round(percentile(samples.with, 99) / percentile(samples.without, 99)),
    };
    process.stdout.write(
      `validation cost (sqlite, ${rounds} alternating rounds each): mutating p50 ${numbers.with_validation_p50_ms} ms with validation, ${numbers.without_validation_p50_ms} ms without; ` +
        `p99 ${numbers.with_validation_p99_ms} ms with, ${numbers.without_validation_p99_ms} ms without (ratio ${numbers.validation_p99_ratio}, target ≤ 1.10)\n`,
    );
    return numbers;
  } finally {
    clients.with.close();
    clients.without.close();
    await Promise.all([shipped.destroy(), unvalidated.destroy()]);
  }
}

/** Kubernetes-style objects of one kind for the custom-resource row: a ConfigMap, or a BenchItem (custom). */
interface Kind {
  readonly ref: ResourceRef;
  object(name: string, seq: number): KubeObject;
  patch(seq: number): unknown;
  seqOf(object: KubeObject): string;
}

const benchGroup = 'bench.bosun.test';

/** A definition with a schema and two CEL rules, as the issue's row asks. */
const benchItems = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `benchitems.${benchGroup}` },
  spec: {
    group: benchGroup,
    scope: 'Namespaced',
    names: { plural: 'benchitems', singular: 'benchitem', kind: 'BenchItem' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                'x-kubernetes-validations': [
                  { rule: 'self.replicas <= self.maxReplicas', message: 'replicas may not exceed maxReplicas' },
                  { rule: "self.seq.size() > 0 && !self.seq.startsWith('-')" },
                ],
                properties: {
                  seq: { type: 'string', maxLength: 32 },
                  replicas: { type: 'integer', minimum: 0, default: 1 },
                  maxReplicas: { type: 'integer', default: 10 },
                  labels: { type: 'object', additionalProperties: { type: 'string' } },
                },
                required: ['seq'],
              },
            },
          },
        },
      },
    ],
  },
};

const configMapKind: Kind = {
  ref: refs.configmaps,
  object: (name, seq) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'crbench' },
    data: { seq: String(seq), replicas: '1', maxReplicas: '10' },
  }),
  patch: (seq) => ({ data: { seq: String(seq) } }),
  seqOf: (object) => (object.data as Record<string, string>).seq!,
};

const customKind: Kind = {
  ref: { group: benchGroup, version: 'v1', resource: 'benchitems', namespaced: true },
  object: (name, seq) => ({
    apiVersion: `${benchGroup}/v1`,
    kind: 'BenchItem',
    metadata: { name, namespace: 'crbench' },
    spec: { seq: String(seq), replicas: 1, maxReplicas: 10 },
  }),
  patch: (seq) => ({ spec: { seq: String(seq) } }),
  seqOf: (object) => (object.spec as Record<string, string>).seq!,
};

interface KindSamples {
  create: number[];
  get: number[];
  list: number[];
  fanout: number[];
}

/** One round on one kind: paced creates and gets by many clients, lists, then one update watched by many. */
async function kindRound(client: KubeClient, kind: Kind, round: number, into: KindSamples): Promise<void> {
  const perClient = quick ? 10 : 40;
  const roundClients = 20;
  await Promise.all(
    Array.from({ length: roundClients }, async (_, c) => {
      for (let i = 0; i < perClient; i++) {
        const name = `r${round}-c${c}-${i}`;
        let t = performance.now();
        await client.create(kind.ref, kind.object(name, i));
        into.create.push(performance.now() - t);
        t = performance.now();
        await client.get(kind.ref, name, 'crbench');
        into.get.push(performance.now() - t);
      }
    }),
  );
  for (let i = 0; i < (quick ? 5 : 20); i++) {
    const t = performance.now();
    await client.list(kind.ref, { namespace: 'crbench' });
    into.list.push(performance.now() - t);
  }
  const fanName = `fan-${round}`;
  const target = await client.create(kind.ref, kind.object(fanName, 0));
  const watchers = quick ? 50 : 200;
  const updates = quick ? 10 : 30;
  const sentAt = new Map<string, number>();
  const received = new Array<number>(watchers).fill(0);
  const abort = new AbortController();
  const streams = Array.from({ length: watchers }, async (_, w) => {
    try {
      for await (const event of client.watch(kind.ref, {
        namespace: 'crbench',
        fieldSelector: `metadata.name=${fanName}`,
        resourceVersion: target.metadata.resourceVersion!,
        signal: abort.signal,
      })) {
        const at = sentAt.get(kind.seqOf(event.object));
        if (at !== undefined) into.fanout.push(performance.now() - at);
        received[w]!++;
      }
    } catch {
      // ended by abort
    }
  });
  await client.patch(kind.ref, fanName, kind.patch(1_000_000), { namespace: 'crbench' });
  const warm = Date.now() + 30_000;
  while (received.some((n) => n < 1) && Date.now() < warm) await sleep(20);
  for (let i = 1; i <= updates; i++) {
    sentAt.set(String(i), performance.now());
    await client.patch(kind.ref, fanName, kind.patch(i), { namespace: 'crbench' });
    await sleep(30);
  }
  const deadline = Date.now() + 10_000;
  while (received.some((n) => n < updates + 1) && Date.now() < deadline) await sleep(20);
  abort.abort();
  await Promise.all(streams);
}

const sum = (samples: number[]) => samples.reduce((a, b) => a + b, 0);

/**
 * The custom-resource row: the same operations on ConfigMaps and on a custom resource with a
 * schema and two CEL rules, one server, alternating rounds; the ratio is the custom resource's
 * total time over the ConfigMaps' for the same operations (and per operation at p50 and p99).
 */
async function customResourceCost() {
  const server = await startServerProcess({ datastore: 'sqlite' });
  const client = clientFor(server);
  try {
    await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'crbench' } });
    const crdRef: ResourceRef = {
      group: 'apiextensions.k8s.io',
      version: 'v1',
      resource: 'customresourcedefinitions',
      namespaced: false,
    };
    await client.create(crdRef, benchItems as KubeObject);
    const established = Date.now() + 10_000;
    for (;;) {
      const crd = await client.get(crdRef, benchItems.metadata.name);
      const conditions =
        (crd.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
      if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > established) throw new Error('the bench definition was not established');
      await sleep(20);
    }
    const refused = await client
      .create(customKind.ref, {
        ...customKind.object('refused', 0),
        spec: { seq: '-1', replicas: 11, maxReplicas: 10 },
      })
      .then(
        () => false,
        () => true,
      );
    if (!refused)
      throw new Error('custom resources: the CEL rules did not refuse an invalid object; the comparison is void');
    const samples = {
      configmaps: { create: [], get: [], list: [], fanout: [] } as KindSamples,
      custom: { create: [], get: [], list: [], fanout: [] } as KindSamples,
    };
    // more rounds than the validation row: on a shared machine one round can land on a busy second
    const rounds = quick ? 2 : 4;
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (['configmaps', 'custom'] as const) : (['custom', 'configmaps'] as const);
      for (const which of order)
        await kindRound(client, which === 'custom' ? customKind : configMapKind, round, samples[which]);
    }
    const ops = ['create', 'get', 'list', 'fanout'] as const;
    const perOp = Object.fromEntries(
      ops.flatMap((op) => [
        [`cr_${op}_p50_ratio`, round(percentile(samples.custom[op], 50) / percentile(samples.configmaps[op], 50))],
        [`cr_${op}_p99_ratio`, round(percentile(samples.custom[op], 99) / percentile(samples.configmaps[op], 99))],
      ]),
    );
    const total = (s: KindSamples) => ops.reduce((t, op) => t + sum(s[op]), 0);
    const numbers = {
      cr_vs_configmap_ratio: round(total(samples.custom) / total(samples.configmaps)),
      ...perOp,
      cr_create_p50_ms: round(percentile(samples.custom.create, 50)),
      configmap_create_p50_ms: round(percentile(samples.configmaps.create, 50)),
      cr_fanout_p99_ms: round(percentile(samples.custom.fanout, 99)),
      configmap_fanout_p99_ms: round(percentile(samples.configmaps.fanout, 99)),
    };
    process.stdout.write(
      `custom resources (sqlite, schema + 2 CEL rules, ${rounds} alternating rounds): total time ${numbers.cr_vs_configmap_ratio}x ConfigMaps' (target ≤ 1.5); ` +
        ops.map((op) => `${op} p50 ${perOp[`cr_${op}_p50_ratio`]}x p99 ${perOp[`cr_${op}_p99_ratio`]}x`).join(', ') +
        `; create p50 ${numbers.cr_create_p50_ms} ms vs ${numbers.configmap_create_p50_ms} ms; fan-out p99 ${numbers.cr_fanout_p99_ms} ms vs ${numbers.configmap_fanout_p99_ms} ms\n`,
    );
    return numbers;
  } finally {
    client.close();
    await server.destroy();
  }
}

if (values['custom-only']) {
  process.stdout.write(`${JSON.stringify({ ...(await customResourceCost()), quick })}\n`);
  process.exit(0);
}

const wanted = values.backend === 'both' ? (['sqlite', 'etcd'] as const) : ([values.backend] as ('sqlite' | 'etcd')[]);
const etcd = await startEtcd();
try {
  const baseline = await etcdBaseline(etcd);
  process.stdout.write(
    `etcd baseline (raw etcd3 client, ${clients} in flight, unpaced: as fast as etcd answers): put p50 ${baseline.put_p50} ms p99 ${baseline.put_p99} ms; get p50 ${baseline.get_p50} ms p99 ${baseline.get_p99} ms\n`,
  );
  const results: Record<string, Awaited<ReturnType<typeof runBackend>>> = {};
  for (const backend of wanted) results[backend] = await runBackend(backend, backend === 'etcd' ? etcd : undefined);
  const primary = results.sqlite ?? results.etcd!;
  const cost = wanted.includes('sqlite') ? await validationCost() : undefined;
  const custom = wanted.includes('sqlite') ? await customResourceCost() : undefined;
  const summary = {
    ...primary,
    ...(cost ?? {}),
    ...(custom ?? {}),
    etcd_put_p50_ms: baseline.put_p50,
    etcd_put_p99_ms: baseline.put_p99,
    etcd_get_p50_ms: baseline.get_p50,
    quick,
    ...(results.sqlite && results.etcd ? { etcd: results.etcd } : {}),
    ...(profiles.length > 0 ? { profiles } : {}),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} finally {
  await etcd.destroy();
}
