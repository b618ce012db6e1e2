/**
 * `npm run bench -- proxy-sync [--quick]`: how fast the service proxy programs iptables and
 * nftables (`--proxy-mode nftables`).
 *
 * All rules go into network namespaces created here (never the host's). Per mode and size
 * (services x 5 endpoints, cluster IPs spread at random over 10.96.0.0/12 as the allocator does):
 *   - render_ms: building the payload (pure);
 *   - sync_ms: the proxy's whole full resync of a namespace that holds the rules;
 *   - restore_only_ms: iptables-restore (or `nft -f`) alone on the same payload, into another
 *     namespace that holds it: the same-run baseline.
 * Then at the largest size, 50 single-endpoint changes, each a partial sync (p50/p99), and (for
 * iptables) the RSS growth per service measured in a fresh child process. nftables partial syncs
 * go to the proxy's long-lived `nft -i`; its CPU per sync is read from /proc/<pid>/schedstat.
 * Writes bench/results/proxy-sync.json and proxy-sync.svg; the last line is the JSON summary.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { ProcessRunner, type CommandRunner, type LongLivedProcess } from '../netproxy/command-runner.ts';
import { backends } from '../netproxy/iptables-backend.ts';
import { IptablesApplier } from '../netproxy/iptables-applier.ts';
import { emptyMemory, renderIptables, type ProxyConfig } from '../netproxy/iptables-renderer.ts';
import { NftablesApplier, nftCommand } from '../netproxy/nftables-applier.ts';
import { emptyNftMemory, renderNftables } from '../netproxy/nftables-renderer.ts';
import type { ServicePortState } from '../netproxy/service-port.ts';
import type { Service } from '../kube/corev1.ts';
import type { EndpointSlice } from '../kube/discoveryv1.ts';
import { ServiceProxy } from '../netproxy/service-proxy.ts';
import { Lab } from '../test/netproxy/real/lab.ts';
import { drawChart } from './proxy-sync/chart.ts';

const endpointsPerService = 5;
const partialChanges = 50;

interface SizeResult {
  services: number;
  /** warm render, wall clock (median) */
  render_ms: number;
  /** warm render, CPU time of this process (the host may be busy with other work) */
  render_cpu_ms: number;
  /** a full resync of a namespace that already holds the rules (what runs every sync period), median */
  sync_ms: number;
  /** iptables-restore alone, same payload, into a namespace that already holds it, median */
  restore_only_ms: number;
  ratio: number;
  /** the very first sync into an empty namespace (reads existing chains and hooks first) */
  first_sync_ms: number;
  /** iptables-restore alone, same payload, into an empty namespace */
  first_restore_only_ms: number;
  /** CPU time of the steady-state full sync: this process plus iptables-restore (median) */
  sync_cpu_ms: number;
  /** CPU time of iptables-restore alone (median) */
  restore_only_cpu_ms: number;
  cpu_ratio: number;
  /** one canary check (runs every 500 ms by default) */
  canary_check_ms: number;
  rules: number;
  payload_kib: number;
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function objects(count: number): { services: Service[]; slices: EndpointSlice[] } {
  const random = seeded(42);
  const used = new Set<number>();
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  for (let i = 0; i < count; i++) {
    let n: number;
    do n = 1 + Math.floor(random() * 0xffffe);
    while (used.has(n));
    used.add(n);
    const name = `svc-${i}`;
    services.push({
      metadata: { name, namespace: 'bench' },
      spec: {
        type: 'ClusterIP',
        clusterIP: `10.${96 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`,
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      },
    });
    slices.push(sliceFor(name, i, 0));
  }
  return { services, slices };
}

/** Endpoint addresses of service i; `generation` moves the first one (a pod replaced). */
function sliceFor(name: string, i: number, generation: number): EndpointSlice {
  const endpoints = [];
  for (let k = 0; k < endpointsPerService; k++) {
    const n = i * endpointsPerService + k + (k === 0 ? generation * 1_000_003 : 0);
    endpoints.push({
      addresses: [`10.${244 + ((n >> 16) & 7)}.${(n >> 8) & 255}.${n & 255}`],
      nodeName: 'node-b',
      conditions: { ready: true },
    });
  }
  return {
    metadata: { name: `${name}-1`, namespace: 'bench', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints,
  };
}

/**
 * Where each partial sync's time goes: the apply tool's run (wall and its own CPU), this
 * process's CPU (render, bookkeeping, spawning), and the transaction's size.
 */
interface PartialSplit {
  applyMs: number[];
  applyCpuMs: number[];
  ownCpuMs: number[];
  payloadBytes: number[];
  /** Partial syncs applied by a long-lived process (nftables: the proxy's nft -i). */
  longLived: number;
}

/** What differs between the modes measured: the tool that applies, the render, the canary. */
interface ModeDriver {
  mode: 'iptables' | 'nftables';
  /** Whether a command applies a payload (its input is recorded and timed). */
  applies(argv: readonly string[]): boolean;
  /** The same tool run alone on a payload: the baseline. */
  alone: readonly string[];
  render(state: ReadonlyMap<string, ServicePortState>, config: ProxyConfig): void;
  canaryIntact(runner: CommandRunner): Promise<boolean>;
}

const iptablesDriver: ModeDriver = {
  mode: 'iptables',
  applies: (argv) => argv[0]!.endsWith('-restore'),
  alone: [backends.nf_tables.restore, '-w', '--noflush', '--counters'],
  render: (state, config) => void renderIptables({ state, config, changed: 'all', memory: emptyMemory }),
  canaryIntact: (runner) => new IptablesApplier(runner, backends.nf_tables).canaryIntact(),
};

const nftablesDriver: ModeDriver = {
  mode: 'nftables',
  applies: (argv) => argv[0] === nftCommand() && argv[1] === '-f',
  alone: [nftCommand(), '-f', '-'],
  render: (state, config) => void renderNftables({ state, config, changed: 'all', memory: emptyNftMemory }),
  canaryIntact: (runner) => new NftablesApplier(runner).canaryIntact(),
};

/**
 * Remembers the last iptables-restore input, so restore-alone can be timed on the very same
 * payload, and measures the restore's own CPU time with /usr/bin/time when it is there: on a
 * busy host CPU time is the figure that does not depend on what else runs.
 */
class RecordingRunner implements CommandRunner {
  readonly inner: CommandRunner;
  readonly driver: ModeDriver;
  lastRestore = '';
  /** CPU ms (user + system) of the last restore; NaN when it could not be measured. */
  lastRestoreCpuMs = Number.NaN;
  constructor(inner: CommandRunner, driver: ModeDriver) {
    this.inner = inner;
    this.driver = driver;
  }
  /** Payloads applied by a process started for them (not through a long-lived one). */
  restores = 0;
  readonly #longLived: number[] = [];
  async run(argv: readonly string[], options?: { input?: string; timeoutMs?: number }) {
    if (!this.driver.applies(argv) || options?.input === undefined) return this.inner.run(argv, options);
    this.lastRestore = options.input;
    this.restores++;
    const timed = await runTimed(this.inner, argv, options);
    this.lastRestoreCpuMs = timed.cpuMs;
    return timed.result;
  }
  start(argv: readonly string[], options?: { env?: Readonly<Record<string, string>> }): LongLivedProcess {
    const started = this.inner.start!(argv, options);
    if (started.pid !== undefined) this.#longLived.push(started.pid);
    return started;
  }
  /** CPU ms used so far by the long-lived processes still running (the scheduler's ns count). */
  longLivedCpuMs(): number {
    let ns = 0;
    for (const pid of this.#longLived) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        /* it has ended */
      }
    }
    return ns / 1e6;
  }
}

const timeTool = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

async function runTimed(
  runner: CommandRunner,
  argv: readonly string[],
  options?: { input?: string; timeoutMs?: number },
) {
  if (timeTool === undefined) return { result: await runner.run(argv, options), cpuMs: Number.NaN };
  const result = await runner.run([timeTool, '-f', '@bosun-cpu %U %S', ...argv], options);
  const m = /@bosun-cpu ([\d.]+) ([\d.]+)\s*$/.exec(result.stderr);
  if (m === null) return { result, cpuMs: Number.NaN };
  return {
    result: { ...result, stderr: result.stderr.slice(0, m.index) },
    cpuMs: (Number(m[1]) + Number(m[2])) * 1000,
  };
}

/** CPU ms of this process since `start` (from process.cpuUsage()). */
function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (x: number) => Math.round(x * 10) / 10;

const benchConfig: ProxyConfig = { clusterCIDR: '10.244.0.0/14', masqueradeBit: 14 };

function newProxy(runner: CommandRunner, mode: ModeDriver['mode'] = 'iptables'): ServiceProxy {
  return new ServiceProxy({
    nodeName: 'node-a',
    runner,
    config: benchConfig,
    backend: backends.nf_tables,
    mode,
    syncPeriodMs: 3_600_000,
  });
}

async function restoreAlone(
  lab: Lab,
  ns: string,
  payload: string,
  driver: ModeDriver,
): Promise<{ ms: number; cpuMs: number }> {
  const t0 = performance.now();
  const { result, cpuMs } = await runTimed(lab.runner(ns), driver.alone, { input: payload, timeoutMs: 600_000 });
  const ms = performance.now() - t0;
  if (result.code !== 0) throw new Error(`restore alone failed: ${result.stderr}`);
  return { ms, cpuMs };
}

async function measureSize(
  lab: Lab,
  count: number,
  rounds: number,
  keepForPartial: boolean,
  driver: ModeDriver,
): Promise<{ result: SizeResult; partial?: number[]; partialCpu?: number[]; partialSplit?: PartialSplit }> {
  const { services, slices } = objects(count);
  const tag = driver.mode === 'iptables' ? '' : 'n';
  const proxyNs = await lab.namespace(`s${tag}${count}`);
  const aloneNs = await lab.namespace(`r${tag}${count}`);
  const runner = new RecordingRunner(lab.runner(proxyNs), driver);
  const proxy = newProxy(runner, driver.mode);
  for (const s of services) proxy.onServiceUpdate(undefined, s);
  for (const s of slices) proxy.onEndpointSliceUpdate(undefined, s);
  const first = await proxy.sync();
  if (!first.ok) throw new Error(`sync of ${count} services failed: ${first.error}`);
  const firstAlone = (await restoreAlone(lab, aloneNs, runner.lastRestore, driver)).ms;
  // Steady state: forced full resyncs, each followed by restore alone of the same payload.
  const syncs: number[] = [];
  const alones: number[] = [];
  const syncCpu: number[] = [];
  const aloneCpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    proxy.requestFullSync();
    const c0 = process.cpuUsage();
    const full = await proxy.sync();
    const ownCpu = cpuSince(c0);
    if (!full.ok || !full.full) throw new Error(`full resync failed: ${full.error}`);
    syncs.push(full.totalMs);
    syncCpu.push(ownCpu + runner.lastRestoreCpuMs);
    const alone = await restoreAlone(lab, aloneNs, runner.lastRestore, driver);
    alones.push(alone.ms);
    aloneCpu.push(alone.cpuMs);
  }
  // The pure render alone, warm, on the same state.
  const renders: number[] = [];
  const renderCpu: number[] = [];
  for (let i = 0; i < 3; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    driver.render(proxy.state, benchConfig);
    renders.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    renderCpu.push((c.user + c.system) / 1000);
  }
  const canary: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    if (!(await driver.canaryIntact(lab.runner(proxyNs)))) throw new Error('canary missing after a sync');
    canary.push(performance.now() - t0);
  }
  const syncMs = percentile(syncs, 50);
  const aloneMs = percentile(alones, 50);
  const result: SizeResult = {
    services: count,
    render_ms: round(percentile(renders, 50)),
    render_cpu_ms: round(percentile(renderCpu, 50)),
    sync_ms: round(syncMs),
    restore_only_ms: round(aloneMs),
    ratio: Math.round((syncMs / aloneMs) * 1000) / 1000,
    sync_cpu_ms: round(percentile(syncCpu, 50)),
    restore_only_cpu_ms: round(percentile(aloneCpu, 50)),
    cpu_ratio: Math.round((percentile(syncCpu, 50) / percentile(aloneCpu, 50)) * 1000) / 1000,
    first_sync_ms: round(first.totalMs),
    first_restore_only_ms: round(firstAlone),
    canary_check_ms: round(percentile(canary, 50)),
    rules: proxy.metrics.totalRules.value,
    payload_kib: Math.round(runner.lastRestore.length / 1024),
  };
  process.stderr.write(`proxy-sync ${driver.mode}: ${JSON.stringify(result)}\n`);
  if (!keepForPartial) return { result };
  const partial: number[] = [];
  const partialCpu: number[] = [];
  const split: PartialSplit = { applyMs: [], applyCpuMs: [], ownCpuMs: [], payloadBytes: [], longLived: 0 };
  for (let c = 0; c < partialChanges; c++) {
    const i = Math.floor((c * 7919) % count);
    proxy.onEndpointSliceUpdate(slices[i], sliceFor(`svc-${i}`, i, c + 1));
    const restores = runner.restores;
    const longLived = runner.longLivedCpuMs();
    const c0 = process.cpuUsage();
    const r = await proxy.sync();
    const ownCpu = cpuSince(c0);
    if (!r.ok || r.full) throw new Error(`change ${c} was not a good partial sync: ${r.error ?? 'full'}`);
    const applyCpu = runner.restores > restores ? runner.lastRestoreCpuMs : runner.longLivedCpuMs() - longLived;
    if (runner.restores === restores) split.longLived++;
    partial.push(r.totalMs);
    partialCpu.push(ownCpu + applyCpu);
    split.applyMs.push(r.restoreMs);
    split.applyCpuMs.push(applyCpu);
    split.ownCpuMs.push(ownCpu);
    split.payloadBytes.push(r.payloadBytes);
  }
  return { result, partial, partialCpu, partialSplit: split };
}

/** Child mode: RSS growth of a fresh process from nothing to `count` services programmed. */
async function rssChild(ns: string, count: number): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().rss;
  const { services, slices } = objects(count);
  const proxy = newProxy(new ProcessRunner(['nsenter', `--net=/run/netns/${ns}`]));
  for (const s of services) proxy.onServiceUpdate(undefined, s);
  for (const s of slices) proxy.onEndpointSliceUpdate(undefined, s);
  const r = await proxy.sync();
  if (!r.ok) throw new Error(r.error);
  gc();
  const after = process.memoryUsage().rss;
  process.stdout.write(`${JSON.stringify({ before, after })}\n`);
}

async function rssPerService(lab: Lab, count: number): Promise<number> {
  const ns = await lab.namespace(`m${count}`);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [import.meta.filename, '--rss-child', ns, String(count)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (c: Buffer) => {
      text += c.toString();
    });
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`rss child exited ${code}`))));
  });
  const { before, after } = JSON.parse(out.trim().split('\n').at(-1)!) as { before: number; after: number };
  return Math.round(((after - before) / 1024 / count) * 100) / 100;
}

/** Every size in one mode, and the partial syncs at the largest. */
async function measureMode(lab: Lab, sizes: readonly number[], quick: boolean, driver: ModeDriver) {
  const results: SizeResult[] = [];
  let partial: number[] = [];
  let partialCpu: number[] = [];
  let partialSplit: PartialSplit | undefined;
  for (const size of sizes) {
    const m = await measureSize(lab, size, quick ? 2 : 3, size === sizes.at(-1), driver);
    results.push(m.result);
    if (m.partial) partial = m.partial;
    if (m.partialCpu) partialCpu = m.partialCpu;
    if (m.partialSplit) partialSplit = m.partialSplit;
  }
  return { results, partial, partialCpu, partialSplit };
}

/** p50/p99 of each part of a partial sync: the tool's run and CPU, ours, the transaction size. */
function partialBreakdown(split: PartialSplit) {
  const both = (values: readonly number[]) => [round(percentile(values, 50)), round(percentile(values, 99))];
  return {
    partial_apply_ms_p50_p99: both(split.applyMs),
    partial_apply_cpu_ms_p50_p99: both(split.applyCpuMs),
    partial_own_cpu_ms_p50_p99: both(split.ownCpuMs),
    partial_payload_bytes_p50_p99: both(split.payloadBytes),
    partial_through_long_lived_nft: split.longLived,
  };
}

function nftVersion(): string {
  const r = spawnSync(nftCommand(), ['--version'], { encoding: 'utf8' });
  return /v?(\d+\.\d+\.\d+)/.exec(r.stdout ?? '')?.[1] ?? 'unknown';
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--rss-child') return rssChild(args[1]!, Number(args[2]));
  const quick = args.includes('--quick');
  const sizes = quick ? [500, 1000, 2000] : [1000, 5000, 10000];
  const lab = new Lab();
  const cleanup = () => {
    void lab.destroy();
  };
  process.once('SIGINT', cleanup);
  try {
    const iptables = await measureMode(lab, sizes, quick, iptablesDriver);
    const nftables = existsSync(nftCommand()) ? await measureMode(lab, sizes, quick, nftablesDriver) : undefined;
    const { results, partial, partialCpu } = iptables;
    const largest = sizes.at(-1)!;
    const rss = await rssPerService(lab, largest);
    const summary = {
      suite: 'proxy-sync',
      quick,
      host_load_average: loadavg().map((x) => Math.round(x * 100) / 100),
      cores: availableParallelism(),
      backend: 'iptables-nft (this host)',
      endpoints_per_service: endpointsPerService,
      sizes: results.map(({ services, render_ms, sync_ms, restore_only_ms, ratio }) => ({
        services,
        render_ms,
        sync_ms,
        restore_only_ms,
        ratio,
      })),
      partial_at_services: largest,
      partial_changes: partial.length,
      partial_p50_ms: round(percentile(partial, 50)),
      partial_p99_ms: round(percentile(partial, 99)),
      partial_cpu_p50_ms: round(percentile(partialCpu, 50)),
      partial_cpu_p99_ms: round(percentile(partialCpu, 99)),
      rss_kib_per_service: rss,
      nftables:
        nftables === undefined
          ? { skipped: 'nft is not installed (Debian nftables)' }
          : {
              backend: `nft ${nftVersion()} (this host)`,
              sizes: nftables.results.map(({ services, render_ms, sync_ms, restore_only_ms, ratio }) => ({
                services,
                render_ms,
                sync_ms,
                nft_only_ms: restore_only_ms,
                ratio,
              })),
              partial_changes: nftables.partial.length,
              partial_p50_ms: round(percentile(nftables.partial, 50)),
              partial_p99_ms: round(percentile(nftables.partial, 99)),
              partial_cpu_p50_ms: round(percentile(nftables.partialCpu, 50)),
              partial_cpu_p99_ms: round(percentile(nftables.partialCpu, 99)),
              ...(nftables.partialSplit === undefined ? {} : partialBreakdown(nftables.partialSplit)),
              details: nftables.results,
              partial_ms: nftables.partial.map(round),
            },
    };
    const dir = join(import.meta.dirname, 'results');
    mkdirSync(dir, { recursive: true });
    const name = quick ? 'proxy-sync-quick' : 'proxy-sync';
    writeFileSync(
      join(dir, `${name}.json`),
      `${JSON.stringify({ ...summary, details: results, partial_ms: partial.map(round), measured_at: new Date().toISOString() }, null, 2)}\n`,
    );
    writeFileSync(join(dir, `${name}.svg`), drawChart(results));
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    process.off('SIGINT', cleanup);
    await lab.destroy();
  }
}

await main();
