/**
 * The agent's footprint: `npm run bench -- agent-footprint [--quick] [--pods N]`.
 *
 * One sandbox node with `bosun server` (sandbox relays) and `bosun agent` as a process in the
 * node's namespace, with its default settings (iptables proxy on). Measured from /proc of the
 * agent's PID:
 *   idle       after a warm-up, over a window: RSS at the end, CPU % of one core, and the API
 *              writes per minute;
 *   with pods  `pods` pods (110; 20 with --quick) created through the API, all Ready, then the
 *              same three numbers over a second window.
 * Writes are counted at the server's side of the API: a watch on every collection the agent
 * writes (Nodes, Leases, Pods, Events) sees one event per write that changed an object. The
 * targets of the issue: idle RSS <= 60 MiB, 110 pods <= 100 MiB (issue 22), idle CPU <= 1 %, idle writes
 * <= 7 per minute. `--executable` runs the agent from the single executable install.sh installs
 * (built here first) instead of the source tree. The result also says what each package the agent
 * loads costs in memory on its own (agent-footprint/dependency-cost.ts), and which sections of the
 * Node or single-executable binary its file pages are (agent-footprint/file-pages.ts). Last line:
 * one JSON object.
 */
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox } from '../sandbox/sandbox.ts';
import { sandboxRoots } from '../sandbox/names.ts';
import { KubeClient } from '../kube/client.ts';
import { loadKubeconfig } from '../kube/kubeconfig.ts';
import { refs } from '../kube/resource-ref.ts';
import type { ResourceRef } from '../kube/resource-ref.ts';
import type { Pod } from '../kube/corev1.ts';
import { AgentProcess } from '../test/agent/agent-process.ts';
import { bedImages } from '../test/bed/index.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { dependencyCosts } from './agent-footprint/dependency-cost.ts';
import { residentExecutablePages } from './agent-footprint/file-pages.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    pods: { type: 'string' },
    executable: { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const podCount = Number(values.pods ?? (quick ? 20 : 110));
const warmupMs = quick ? 3_000 : 15_000;
const windowMs = quick ? 12_000 : 60_000;
const ticksPerSecond = 100;
const round = (n: number) => Math.round(n * 100) / 100;

function rssMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return round(Number(match?.[1] ?? 0) / 1024);
}

/**
 * RSS split by what backs it: anonymous memory (the heap, V8's code, buffers) and file pages (the
 * Node or single-executable binary's pages in use, which the kernel can drop and re-read; a copy
 * of the binary is not shared with other Node processes as the system's node is).
 */
function rssParts(pid: number): { anonymousMiB: number; filePagesMiB: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(rollup)?.[1] ?? 0);
  return { anonymousMiB: round(kib('Anonymous') / 1024), filePagesMiB: round((kib('Rss') - kib('Anonymous')) / 1024) };
}

/** utime + stime of the process, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Counts watch events (writes) on the collections the agent writes, until stopped. */
function countWrites(client: KubeClient): { stop: () => Promise<Record<string, number>> } {
  const abort = new AbortController();
  const counts: Record<string, number> = {};
  // the node's lease only: the API server renews a lease of its own (its identity, which the
  // kubernetes Endpoints of several servers are made from) every 10 s, which is not the agent's
  const watched: [string, ResourceRef, string | undefined][] = [
    ['nodes', refs.nodes, undefined],
    ['leases', refs.leases, 'kube-node-lease'],
    ['pods', refs.pods, undefined],
    ['events', refs.events, undefined],
  ];
  const loops = watched.map(async ([name, ref, namespace]) => {
    counts[name] = 0;
    const scope = namespace === undefined ? {} : { namespace };
    const list = await client.list(ref, scope);
    try {
      for await (const event of client.watch(ref, {
        ...scope,
        resourceVersion: list.metadata.resourceVersion ?? '',
        signal: abort.signal,
      })) {
        if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED') counts[name]! += 1;
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
  });
  return {
    stop: async () => {
      abort.abort();
      await Promise.all(loops);
      return counts;
    },
  };
}

async function measure(
  client: KubeClient,
  pid: number,
): Promise<{
  rssMiB: number;
  rssParts: { anonymousMiB: number; filePagesMiB: number };
  /** The executable's resident file pages by ELF section: which part of the binary the file pages are. */
  executablePagesMiB: Record<string, number>;
  cpuPct: number;
  writesPerMin: number;
  writes: Record<string, number>;
}> {
  const writes = countWrites(client);
  const ticks = cpuTicks(pid);
  const started = performance.now();
  // the measurement window itself: a fixed length is the point here, nothing is awaited by it
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const elapsedS = (performance.now() - started) / 1000;
  const cpuPct = round(((cpuTicks(pid) - ticks) / ticksPerSecond / elapsedS) * 100);
  const counts = await writes.stop();
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    rssMiB: rssMiB(pid),
    rssParts: rssParts(pid),
    executablePagesMiB: residentExecutablePages(pid),
    cpuPct,
    writesPerMin: round(total / (elapsedS / 60)),
    writes: counts,
  };
}

function benchPod(i: number): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `idle-${i}`, namespace: 'default' },
    spec: {
      nodeName: 'node-1',
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'app',
          image: bedImages.busybox,
          command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 5; done'],
        },
      ],
    },
  };
}

const buildDir = values.executable ? mkdtempSync(join(tmpdir(), 'bosun-bench-footprint-')) : undefined;
const executable = buildDir === undefined ? undefined : join(buildDir, 'bosun');
if (executable !== undefined) {
  const root = join(import.meta.dirname, '..');
  const built = spawnSync(process.execPath, [join(root, 'scripts', 'build-executable.ts'), '--out', executable], {
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`the executable did not build: ${built.stderr}`);
}
const costs = dependencyCosts();
process.stderr.write(`what each package costs alone (RSS, heap MiB): ${JSON.stringify(costs)}\n`);

const id = `bfp${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
const sandbox = await Sandbox.create(
  {
    name: id,
    id,
    stateDir: join(sandboxRoots.tests, id),
    ownerPid: process.pid,
    images: ['pause', 'busybox'],
    imageCacheDir: join(import.meta.dirname, '..', '.cache', 'images'),
  },
  1,
);
let agent: AgentProcess | undefined;
let client: KubeClient | undefined;
try {
  const plane = await sandbox.startControlPlane();
  client = new KubeClient(loadKubeconfig(plane.kubeconfig).client);
  agent = new AgentProcess(sandbox.node('node-1'), plane.nodeKubeconfig, [], executable ? { executable } : {});
  const { pid } = agent.start();
  await agent.ready();
  process.stderr.write(
    `agent ready (pid ${pid}); warming up ${warmupMs / 1000} s, then measuring ${windowMs / 1000} s idle\n`,
  );
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  const idle = await measure(client, pid);
  process.stderr.write(`idle: ${JSON.stringify(idle)}\n`);

  const createdAt = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < podCount) await client!.create<Pod>(refs.pods, benchPod(next++));
    }),
  );
  await waitFor(
    async () => {
      const list = await client!.list<Pod>(refs.pods, { namespace: 'default' });
      return (
        list.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
          .length === podCount
      );
    },
    { what: `${podCount} pods Ready`, timeoutMs: 600_000, intervalMs: 1_000 },
  );
  const startAllS = round((performance.now() - createdAt) / 1000);
  process.stderr.write(
    `${podCount} pods Ready after ${startAllS} s; settling ${warmupMs / 1000} s, then measuring ${windowMs / 1000} s\n`,
  );
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  const loaded = await measure(client, pid);
  process.stderr.write(`with ${podCount} pods: ${JSON.stringify(loaded)}\n`);

  const result = {
    suite: 'agent-footprint',
    quick,
    agent: executable ? 'single executable' : 'source tree',
    pods: podCount,
    window_s: windowMs / 1000,
    idle_rss_mib: idle.rssMiB,
    idle_rss_parts_mib: idle.rssParts,
    idle_executable_pages_mib: idle.executablePagesMiB,
    idle_cpu_pct: idle.cpuPct,
    idle_writes_per_min: idle.writesPerMin,
    idle_writes: idle.writes,
    // named for 110 pods; `pods` says how many were really running
    rss_110_pods_mib: loaded.rssMiB,
    pods_rss_parts_mib: loaded.rssParts,
    pods_executable_pages_mib: loaded.executablePagesMiB,
    pods_cpu_pct: loaded.cpuPct,
    pods_writes_per_min: loaded.writesPerMin,
    pods_start_all_s: startAllS,
    dependency_cost_mib: costs,
    targets: { idle_rss_mib: 60, rss_110_pods_mib: 100, idle_cpu_pct: 1, idle_writes_per_min: 7 },
  };
  const resultsDir = join(import.meta.dirname, 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    join(resultsDir, `agent-footprint${executable ? '-executable' : ''}${quick ? '-quick' : ''}.json`),
    `${JSON.stringify(result, null, 2)}\n`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  if (agent?.running) await agent.stop(5_000);
  agent?.close();
  client?.close();
  await sandbox.destroy();
  if (buildDir !== undefined) rmSync(buildDir, { recursive: true, force: true });
}
