/**
 * `npm run bench -- dns [--quick]`: queries per second and latency of the agent's node-local DNS
 * server (agent/dns/server.ts), run in a process of its own as in the agent, with a zone of
 * 1,000 Services and 100 headless ones. The load generator keeps a fixed number of A queries in
 * flight over UDP from the host's loopback (not from inside a pod: a pod here has only busybox,
 * whose nslookup starts a process per query and would measure that instead). Bounded: a fixed
 * number of queries and a time limit. Two phases: throughput with 16 queries in flight (qps), then
 * latency at a steady 5,000 queries a second (p50_ms, p99_ms). Same-run baseline: a UDP echo
 * process, the harness's own ceiling. Last line: one JSON object; also bench/results/dns.json.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';

const services = 1_000;
const headless = 100;

/** Child side: serve DNS (or echo) on 127.0.0.1, report the port, run until told to stop. */
async function serve(mode: 'dns' | 'echo'): Promise<void> {
  if (mode === 'echo') {
    const socket = createSocket('udp4');
    socket.on('message', (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
    socket.bind(0, '127.0.0.1', () => process.send!({ port: socket.address().port }));
    return;
  }
  const { DnsServer } = await import('../agent/dns/server.ts');
  const { buildZoneIndex } = await import('../agent/dns/records.ts');
  const server = new DnsServer({ address: '127.0.0.1', port: 0, upstreams: [] });
  const list = Array.from({ length: services }, (_, i) => ({
    name: `svc-${i}`,
    namespace: 'default',
    clusterIPs: [`10.96.${(i >> 8) & 255}.${i & 255}`],
    ports: [{ name: 'http', port: 80, protocol: 'TCP' as const }],
  }));
  const headlessList = Array.from({ length: headless }, (_, i) => ({
    name: `db-${i}`,
    namespace: 'default',
    clusterIPs: ['None'],
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP' as const }],
  }));
  const slices = headlessList.map((s, i) => ({
    serviceName: s.name,
    namespace: 'default',
    endpoints: [1, 2, 3].map((n) => ({ addresses: [`10.244.${i & 255}.${n}`], conditions: { ready: true } })),
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP' as const }],
  }));
  server.setZone(buildZoneIndex('cluster.local', [...list, ...headlessList], slices));
  await server.listen();
  process.send!({ port: server.port });
}

interface Run {
  queries: number;
  answered: number;
  failed: number;
  seconds: number;
  latenciesMs: number[];
}

/** Keeps `concurrency` queries in flight until `total` are answered or `limitMs` passes. */
function load(port: number, total: number, concurrency: number, limitMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const pending = new Map<number, number>();
    const latenciesMs: number[] = [];
    let sent = 0;
    let failed = 0;
    let nextId = 1;
    const started = performance.now();
    const send = () => {
      if (sent >= total || performance.now() - started > limitMs) return;
      sent++;
      const id = nextId;
      nextId = (nextId % 65_535) + 1;
      const name =
        sent % 10 === 0
          ? `db-${sent % headless}.default.svc.cluster.local`
          : `svc-${sent % services}.default.svc.cluster.local`;
      const query = dnsPacket.encode({
        type: 'query',
        id,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type: 'A', name }],
      });
      pending.set(id, performance.now());
      socket.send(query, port, '127.0.0.1');
    };
    const finish = () => {
      clearInterval(sweeper);
      socket.close();
      resolve({
        queries: sent,
        answered: latenciesMs.length,
        failed: failed + pending.size,
        seconds: (performance.now() - started) / 1000,
        latenciesMs,
      });
    };
    socket.on('message', (msg) => {
      const id = msg.readUInt16BE(0);
      const at = pending.get(id);
      if (at === undefined) return;
      pending.delete(id);
      latenciesMs.push(performance.now() - at);
      if ((msg[3]! & 0x0f) !== 0) failed++;
      if (
        latenciesMs.length + failed >= total ||
        (pending.size === 0 && (sent >= total || performance.now() - started > limitMs))
      )
        finish();
      else send();
    });
    // A lost datagram would stall its slot: after 1 s it counts as failed and the slot is reused.
    const sweeper = setInterval(() => {
      const now = performance.now();
      for (const [id, at] of pending) {
        if (now - at > 1_000) {
          pending.delete(id);
          failed++;
          send();
        }
      }
      if (pending.size === 0) finish();
    }, 250);
    socket.bind(0, '127.0.0.1', () => {
      for (let i = 0; i < concurrency; i++) send();
    });
  });
}

/** Open loop: `rate` queries a second for `seconds`, whatever the answers do (latency at that rate). */
function paced(port: number, rate: number, seconds: number): Promise<Run> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const pending = new Map<number, number>();
    const latenciesMs: number[] = [];
    const total = rate * seconds;
    let sent = 0;
    let failed = 0;
    const started = performance.now();
    const tick = () => {
      // Catch up to where the clock says we should be, in 1 ms steps.
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
      while (sent < due) {
        sent++;
        const id = (sent % 65_535) + 1;
        const name = `svc-${sent % services}.default.svc.cluster.local`;
        pending.set(id, performance.now());
        socket.send(
          dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }),
          port,
          '127.0.0.1',
        );
      }
      if (sent < total) setTimeout(tick, 1);
      else setTimeout(done, 1_000);
    };
    const done = () => {
      failed += pending.size;
      socket.close();
      resolve({
        queries: sent,
        answered: latenciesMs.length,
        failed,
        seconds: (performance.now() - started) / 1000,
        latenciesMs,
      });
    };
    socket.on('message', (msg) => {
      const id = msg.readUInt16BE(0);
      const at = pending.get(id);
      if (at === undefined) return;
      pending.delete(id);
      latenciesMs.push(performance.now() - at);
      if ((msg[3]! & 0x0f) !== 0) failed++;
    });
    socket.bind(0, '127.0.0.1', tick);
  });
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

async function start(mode: 'dns' | 'echo'): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(import.meta.filename, ['--serve', mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the ${mode} process did not report its port within 20 s`)),
      20_000,
    );
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve((m as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`the ${mode} process exited (${code}) before serving`)));
  });
  return { child, port };
}

const pacedRate = 5_000;

/** Saturation throughput (closed loop), then latency at the target rate (open loop). */
async function measure(
  mode: 'dns' | 'echo',
  total: number,
  concurrency: number,
  limitMs: number,
  pacedSeconds: number,
) {
  const { child, port } = await start(mode);
  try {
    await load(port, Math.min(2_000, total), concurrency, 5_000); // warm-up: JIT, caches
    const run = await load(port, total, concurrency, limitMs);
    const sorted = [...run.latenciesMs].sort((a, b) => a - b);
    const steady = await paced(port, pacedRate, pacedSeconds);
    const steadySorted = [...steady.latenciesMs].sort((a, b) => a - b);
    return {
      queries: run.queries + steady.queries,
      failed: run.failed + steady.failed,
      qps: Math.round(run.answered / run.seconds),
      saturated_p50_ms: round(percentile(sorted, 50)),
      saturated_p99_ms: round(percentile(sorted, 99)),
      p50_ms: round(percentile(steadySorted, 50)),
      p99_ms: round(percentile(steadySorted, 99)),
    };
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const total = quick ? 10_000 : 60_000;
  const concurrency = 16;
  const limitMs = quick ? 10_000 : 30_000;
  const pacedSeconds = quick ? 2 : 6;
  const dns = await measure('dns', total, concurrency, limitMs, pacedSeconds);
  const baseline = await measure('echo', total, concurrency, limitMs, pacedSeconds);
  const summary = {
    suite: 'dns',
    quick,
    from: 'host loopback, server in its own process (as in the agent)',
    zone: `${services} services, ${headless} headless with 3 endpoints`,
    concurrency,
    queries: dns.queries,
    failed: dns.failed,
    // qps: saturation throughput with `concurrency` queries in flight; p50/p99: at a steady 5,000/s.
    qps: dns.qps,
    p50_ms: dns.p50_ms,
    p99_ms: dns.p99_ms,
    latency_at_qps: pacedRate,
    saturated_p50_ms: dns.saturated_p50_ms,
    saturated_p99_ms: dns.saturated_p99_ms,
    target: 'qps >= 5000, p99 <= 5 ms',
    baseline_udp_echo: {
      qps: baseline.qps,
      p50_ms: baseline.p50_ms,
      p99_ms: baseline.p99_ms,
      saturated_p99_ms: baseline.saturated_p99_ms,
    },
    host_load_average: loadavg().map((x) => Math.round(x * 100) / 100),
    cores: availableParallelism(),
  };
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, quick ? 'dns-quick.json' : 'dns.json'),
    `${JSON.stringify({ ...summary, measured_at: new Date().toISOString() }, null, 2)}\n`,
  );
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) await serve(process.argv[serveAt + 1] === 'echo' ? 'echo' : 'dns');
else await main();
