/**
 * HTTP/2 against HTTP/1.1 through KubeClient: `npm run bench -- http2 [--quick]`.
 * One `bosun server` child process (sqlite); N clients, each with an identity of its own as nodes
 * have (one certificate per client), each holding one watch and keeping 4 GETs in flight for a
 * fixed time. The same load runs once with `protocol: 'http/1.1'` (the same-run baseline) and once
 * with HTTP/2 negotiated, in alternating order over two rounds; reported per protocol: requests/s,
 * GET p50/p99, and the client connections the server held during the load (its /metrics).
 * `--server-cpu-prof <dir>` (a full run passes it) profiles the server over all rounds of both
 * protocols and puts a digest of it in the result, so that a miss can say where the server's time went.
 * Last line: one JSON object.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeClient, type ClientConfig } from '../kube/client.ts';
import { refs } from '../kube/resource-ref.ts';
import { digestOfNewest } from './scale/profile-summary.ts';
import {
  adminIdentity,
  call,
  startServerProcess,
  userIdentity,
  type ServerProcess,
} from '../test/controlplane/server-process.ts';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, 'server-cpu-prof': { type: 'string' } },
});
const quick = values.quick;
const serverCpuProfDir = values['server-cpu-prof'];
const clientCount = quick ? 50 : 200;
const inFlightPerClient = 4;
const loadSeconds = quick ? 4 : 10;
const rounds = 2;
const namespace = 'bench-http2';

type Protocol = 'http/1.1' | 'h2';

interface RoundResult {
  requests: number;
  errors: number;
  latencies: number[];
  seconds: number;
  connections: number;
}

function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const round2 = (n: number) => Math.round(n * 100) / 100;

/** Open client connections by protocol, as the server counts them. */
async function openConnections(server: ServerProcess): Promise<Record<string, number>> {
  const reply = await call(server, 'GET', '/metrics', adminIdentity(server.dataDir));
  const open: Record<string, number> = {};
  for (const match of String(reply.body).matchAll(/^bosun_apiserver_open_connections\{protocol="([^"]+)"\} (\d+)$/gm))
    open[match[1]!] = Number(match[2]);
  return open;
}

async function runRound(
  server: ServerProcess,
  configs: readonly ClientConfig[],
  protocol: Protocol,
): Promise<RoundResult> {
  const clients = configs.map(
    (config) => new KubeClient({ ...config, ...(protocol === 'http/1.1' ? { protocol: 'http/1.1' as const } : {}) }),
  );
  const stop = new AbortController();
  const watches = clients.map(async (client) => {
    try {
      for await (const _ of client.watch(refs.configmaps, { namespace, signal: stop.signal })) {
        // events are only kept flowing
      }
    } catch {
      // ended by the abort
    }
  });
  const result: RoundResult = { requests: 0, errors: 0, latencies: [], seconds: loadSeconds, connections: 0 };
  const started = performance.now();
  const end = started + loadSeconds * 1000;
  const worker = async (client: KubeClient, i: number) => {
    while (performance.now() < end) {
      const sent = performance.now();
      try {
        await client.get(refs.configmaps, `cm-${i % 10}`, namespace);
        result.latencies.push(performance.now() - sent);
        result.requests++;
      } catch {
        result.errors++;
      }
    }
  };
  const load = clients.flatMap((client, i) =>
    Array.from({ length: inFlightPerClient }, (_, j) => worker(client, i * inFlightPerClient + j)),
  );
  // halfway through, every client has opened what it needs: count at the server then
  await new Promise((resolve) => setTimeout(resolve, (loadSeconds * 1000) / 2));
  const open = await openConnections(server);
  result.connections = open[protocol] ?? 0;
  await Promise.all(load);
  result.seconds = (performance.now() - started) / 1000;
  stop.abort();
  await Promise.all(watches);
  for (const client of clients) client.close();
  return result;
}

function summary(results: readonly RoundResult[]) {
  const latencies = results.flatMap((r) => r.latencies);
  const requests = results.reduce((n, r) => n + r.requests, 0);
  const seconds = results.reduce((n, r) => n + r.seconds, 0);
  return {
    requestsPerSecond: Math.round(requests / seconds),
    getP50Ms: round2(percentile(latencies, 50)),
    getP99Ms: round2(percentile(latencies, 99)),
    connectionsHeld: Math.max(...results.map((r) => r.connections)),
    errors: results.reduce((n, r) => n + r.errors, 0),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const server = await startServerProcess({
    datastore: 'sqlite',
    ...(serverCpuProfDir ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', serverCpuProfDir] } : {}),
  });
  let result: Record<string, unknown>;
  try {
    const ca = readFileSync(join(server.dataDir, 'pki/ca.crt'), 'utf8');
    const adminPki = adminIdentity(server.dataDir);
    const admin = new KubeClient({ server: server.url, ca, cert: adminPki.cert!, key: adminPki.key! });
    await admin.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    for (let i = 0; i < 10; i++)
      await admin.create(refs.configmaps, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `cm-${i}`, namespace },
        data: { key: 'value'.repeat(20) },
      });
    admin.close();
    const configs = Array.from({ length: clientCount }, (_, i) => {
      const identity = userIdentity(server.dataDir, `bench-client-${i}`, ['system:masters']);
      return { server: server.url, ca, cert: identity.cert!, key: identity.key! };
    });
    const results: Record<Protocol, RoundResult[]> = { 'http/1.1': [], h2: [] };
    for (let r = 0; r < rounds; r++) {
      const order: Protocol[] = r % 2 === 0 ? ['http/1.1', 'h2'] : ['h2', 'http/1.1'];
      for (const protocol of order) {
        const result = await runRound(server, configs, protocol);
        results[protocol].push(result);
        process.stdout.write(
          `round ${r + 1} ${protocol}: ${Math.round(result.requests / result.seconds)} req/s, p99 ${round2(percentile(result.latencies, 99))} ms, ${result.connections} connections, ${result.errors} errors\n`,
        );
      }
    }
    const http1 = summary(results['http/1.1']);
    const h2 = summary(results.h2);
    result = {
      clients: clientCount,
      inFlightPerClient,
      loadSeconds,
      http1,
      h2,
      // the server's own clients (one session) are counted with the bench's
      h2ConnectionsPerClient: round2((h2.connectionsHeld - 1) / clientCount),
      throughputRatio: round2(h2.requestsPerSecond / http1.requestsPerSecond),
      p99Ratio: round2(h2.getP99Ms / http1.getP99Ms),
    };
  } finally {
    await server.destroy();
  }
  // the server writes its profile as it exits
  const digest = serverCpuProfDir ? digestOfNewest(serverCpuProfDir, started) : undefined;
  const profiles = digest ? [{ title: "the API server over both protocols' rounds", ...digest }] : [];
  process.stdout.write(`${JSON.stringify({ ...result, ...(profiles.length > 0 ? { profiles } : {}) })}\n`);
}

await main();
