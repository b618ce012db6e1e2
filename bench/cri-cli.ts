/**
 * `bosun cri ps` against a node with many containers: `npm run bench -- cri-cli [--quick]`.
 *
 * On one test-bed node (real containerd 1.6), `containers` running containers are created (10
 * per pod), then in the same run:
 *  - ps:        wall time of the whole `bin/bosun cri ps` process, start-up included, as a user
 *               runs it (checked to list every container);
 *  - ps with compile cache: the same with NODE_COMPILE_CACHE set, which Node uses to skip
 *               recompiling (and re-stripping the types of) every module on each start;
 *  - raw list:  one ListContainers call from an already warm process (the floor: what the
 *               runtime and the wire cost);
 *  - node:      `node -e ''`, and `bosun --version` (the CLI framework without any cri code);
 *               ps minus that is what the cri code itself adds.
 *  - executable: `bosun cri ps` and `bosun --version` from the single executable install.sh puts
 *               in /usr/local/bin (built here first with scripts/build-executable.ts).
 *  - profile: after the timed runs, `profiledRuns` more of the executable's `cri ps` under V8's
 *               sampling profiler (NODE_OPTIONS, which the executable honours), digested into
 *               the result's `profiles` so that the report says where a run's CPU went.
 * Medians over `runs` runs. Last line: one JSON object. `--realtime` runs the measured processes
 * under SCHED_FIFO (chrt) to approximate an idle host when others load it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBed, bedImages } from '../test/bed/index.ts';
import { CriClient } from '../cri/client.ts';
import { digestProfiles } from './scale/profile-summary.ts';
import type { PodSandboxConfig } from '../cri/types.ts';
import { busyShare, parseCpuTimes, waitForQuietHost } from './host-quiet.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    // Runs only the measured processes under SCHED_FIFO, so that other work on a busy host does not
    // stretch their wall time: an approximation of an idle machine, reported as such.
    realtime: { type: 'boolean', default: false },
  },
});
const containers = values.quick ? 20 : 100;
const runs = values.quick ? 7 : 15;
const perPod = 10;
const profiledRuns = values.quick ? 3 : 10;
/** Finer than V8's default 1 ms: a run is about 100 ms of CPU. */
const profileIntervalUs = 250;
const root = join(import.meta.dirname, '..');
const bosun = join(root, 'bin', 'bosun');

const median = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const round = (n: number) => Math.round(n * 10) / 10;

interface Timing {
  wallMs: number;
  /** user + system CPU of the process: less disturbed than wall time when the host is busy. */
  cpuMs: number;
}

/**
 * Wall and CPU time of one process run, the CPU from bash's `time` in milliseconds (GNU time
 * rounds to 10 ms, which is half of `node -e ''`); fails loudly if it does not succeed.
 */
function timeProcess(argv: string[], env: NodeJS.ProcessEnv, check?: (stdout: string) => void): Timing {
  const started = performance.now();
  const command = values.realtime ? ['chrt', '-f', '50', ...argv] : argv;
  const result = spawnSync('bash', ['-c', 'TIMEFORMAT="cpu %3U %3S"; time "$@"', 'bash', ...command], {
    env,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const wallMs = performance.now() - started;
  if (result.status !== 0) throw new Error(`${argv.join(' ')} failed (${result.status}): ${result.stderr}`);
  check?.(result.stdout);
  const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(result.stderr);
  if (!cpu) throw new Error(`no CPU times from bash's time: ${result.stderr}`);
  return { wallMs, cpuMs: (Number(cpu[1]) + Number(cpu[2])) * 1000 };
}

const bed = await createBed();
const cacheDir = mkdtempSync(join(tmpdir(), `bosun-bench-cri-cli-${process.pid}-`));
const executable = join(cacheDir, 'bosun');
try {
  const built = spawnSync(process.execPath, [join(root, 'scripts', 'build-executable.ts'), '--out', executable], {
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`the executable did not build: ${built.stderr}`);
  const node = bed.nodes[0]!;
  const cri = new CriClient(node.criEndpoint);
  const setupStarted = performance.now();
  for (let p = 0; p < containers / perPod; p += 1) {
    const config: PodSandboxConfig = {
      metadata: { name: `bench-${p}`, namespace: 'bench', uid: `bench-${p}-${process.pid}`, attempt: 0 },
      logDirectory: join(node.podLogDir, `bench_${p}`),
    };
    const pod = await cri.runPodSandbox(config);
    await Promise.all(
      Array.from({ length: perPod }, async (_, c) => {
        const id = await cri.createContainer(
          pod,
          {
            metadata: { name: `c${c}` },
            image: { image: bedImages.busybox },
            command: ['sleep', '3600'],
            logPath: `c${c}.log`,
          },
          config,
        );
        await cri.startContainer(id);
      }),
    );
  }
  process.stdout.write(`created ${containers} containers in ${Math.round(performance.now() - setupStarted)} ms\n`);

  // The build and the 100 container starts just before leave the runtime and the kernel busy for a
  // while; the timed runs measure a command on a settled node, so they wait for that to pass.
  const hostAfterSetup = await waitForQuietHost({ limitMs: 60_000 });
  process.stdout.write(
    `host after setup: ${hostAfterSetup.quiet ? 'quiet' : 'still busy'} after ${hostAfterSetup.waited_s} s (${hostAfterSetup.busy_pct} % busy)\n`,
  );

  const env: NodeJS.ProcessEnv = { ...process.env, CONTAINER_RUNTIME_ENDPOINT: node.criEndpoint };
  delete env.NODE_COMPILE_CACHE;
  const listsAll = (stdout: string) => {
    const rows = stdout.trimEnd().split('\n').length - 1;
    if (rows !== containers) throw new Error(`bosun cri ps listed ${rows} containers, expected ${containers}`);
  };
  const readCpu = () => parseCpuTimes(readFileSync('/proc/stat', 'utf8'));
  /** Jiffies of all CPUs stolen by the hypervisor (the 8th field of /proc/stat's cpu line) and in total. */
  const readSteal = () => {
    const fields = /^cpu\s+(.*)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]!.split(/\s+/).map(Number);
    return { steal: fields[7] ?? 0, total: fields.slice(0, 8).reduce((sum, v) => sum + v, 0) };
  };
  const series = (argv: string[], runEnv: NodeJS.ProcessEnv, check?: (stdout: string) => void) => {
    timeProcess(argv, runEnv, check); // warm the page cache
    const before = readCpu();
    const stealBefore = readSteal();
    const timings = Array.from({ length: runs }, () => timeProcess(argv, runEnv, check));
    // the host's busy share while the series ran, the measured processes included: far above their
    // own CPU over their wall time means something else shared the cores
    const hostBusyPct = round(busyShare(before, readCpu()) * 100);
    // time the hypervisor did not run this VM's CPUs: a wall time far above the CPU time with a
    // quiet guest is either this or a wait inside the guest
    const stealAfter = readSteal();
    const stolen = stealAfter.steal - stealBefore.steal;
    const elapsed = stealAfter.total - stealBefore.total;
    const stealPct = elapsed > 0 ? round((stolen / elapsed) * 100) : 0;
    return { wall: timings.map((t) => t.wallMs), cpu: timings.map((t) => t.cpuMs), hostBusyPct, stealPct };
  };
  const nodeStart = series([process.execPath, '-e', ''], env);
  const versionRuns = series([bosun, '--version'], env);
  const psRuns = series([bosun, 'cri', 'ps'], env, listsAll);
  const cachedRuns = series([bosun, 'cri', 'ps'], { ...env, NODE_COMPILE_CACHE: cacheDir }, listsAll);
  const executableVersion = series([executable, '--version'], env);
  const executablePs = series([executable, 'cri', 'ps'], env, listsAll);
  const [nodeBaseline, versionBaseline, ps, cached] = [nodeStart.wall, versionRuns.wall, psRuns.wall, cachedRuns.wall];
  // after the timed runs (the sampler would slow them): where a run of the executable's `cri ps` spends its CPU
  const profileDir = join(cacheDir, 'profiles');
  const profileEnv = {
    ...env,
    NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir} --cpu-prof-interval=${profileIntervalUs}`,
  };
  for (let i = 0; i < profiledRuns; i += 1) timeProcess([executable, 'cri', 'ps'], profileEnv, listsAll);
  const profileFiles = readdirSync(profileDir).map((name) => join(profileDir, name));
  const psProfile = {
    title: `the executable's \`cri ps\`, ${profileFiles.length} runs sampled every ${profileIntervalUs} µs`,
    ...digestProfiles(profileFiles),
  };

  for (let i = 0; i < 3; i += 1) await cri.listContainers();
  const raw: number[] = [];
  for (let i = 0; i < runs * 2; i += 1) {
    const started = performance.now();
    const list = await cri.listContainers();
    raw.push(performance.now() - started);
    if (list.length !== containers) throw new Error(`ListContainers returned ${list.length}, expected ${containers}`);
  }
  cri.close();

  const result = {
    suite: 'cri-cli',
    containers,
    runs,
    ps_median_ms: round(median(ps)),
    ps_compile_cache_median_ms: round(median(cached)),
    raw_list_median_ms: round(median(raw)),
    bosun_version_median_ms: round(median(versionBaseline)),
    /** What the cri code adds on top of the CLI framework's own start (less sensitive to host load). */
    ps_over_version_ms: round(median(ps) - median(versionBaseline)),
    node_startup_median_ms: round(median(nodeBaseline)),
    executable_ps_median_ms: round(median(executablePs.wall)),
    executable_version_median_ms: round(median(executableVersion.wall)),
    /** The single executable's `cri ps` against `node -e ''` in the same run (target ≤ 3). */
    executable_ps_over_node: round(median(executablePs.wall) / median(nodeBaseline)),
    ps_cpu_median_ms: round(median(psRuns.cpu)),
    bosun_version_cpu_median_ms: round(median(versionRuns.cpu)),
    /** CPU per run (user + system): what a loaded host stretches least. */
    node_startup_cpu_median_ms: round(median(nodeStart.cpu)),
    executable_ps_cpu_median_ms: round(median(executablePs.cpu)),
    executable_version_cpu_median_ms: round(median(executableVersion.cpu)),
    executable_ps_cpu_over_node: round(median(executablePs.cpu) / median(nodeStart.cpu)),
    target_ps_ms: 250,
    target_executable_ps_ms: 120,
    target_executable_ps_over_node: 3,
    target_executable_version_ms: 60,
    realtime: values.realtime,
    host_after_setup: hostAfterSetup,
    /** Percent of all CPUs busy during each timed series (the measured processes included). */
    host_busy_pct: {
      node_startup: nodeStart.hostBusyPct,
      executable_version: executableVersion.hostBusyPct,
      executable_ps: executablePs.hostBusyPct,
    },
    /** Of that, percent of all CPUs' time stolen by the hypervisor. */
    host_steal_pct: {
      node_startup: nodeStart.stealPct,
      executable_version: executableVersion.stealPct,
      executable_ps: executablePs.stealPct,
    },
    profiles: [psProfile],
    load_average_1m: Number((await import('node:os')).loadavg()[0]!.toFixed(2)),
  };
  process.stdout.write(`bosun cri ps             median ${result.ps_median_ms} ms (${containers} containers)\n`);
  process.stdout.write(`  with NODE_COMPILE_CACHE median ${result.ps_compile_cache_median_ms} ms\n`);
  process.stdout.write(`raw ListContainers (warm) median ${result.raw_list_median_ms} ms\n`);
  process.stdout.write(
    `bosun --version          median ${result.bosun_version_median_ms} ms; node -e '' ${result.node_startup_median_ms} ms\n`,
  );
  process.stdout.write(
    `executable: cri ps median ${result.executable_ps_median_ms} ms (${result.executable_ps_over_node}× node -e ''), --version ${result.executable_version_median_ms} ms\n`,
  );
  process.stdout.write(
    `CPU (user+sys) medians: bosun cri ps ${result.ps_cpu_median_ms} ms, bosun --version ${result.bosun_version_cpu_median_ms} ms; executable cri ps ${result.executable_ps_cpu_median_ms} ms (${result.executable_ps_cpu_over_node}× node -e ''), --version ${result.executable_version_cpu_median_ms} ms; node -e '' ${result.node_startup_cpu_median_ms} ms\n`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
  await bed.destroy();
}
