/**
 * A Debian 12 system container with systemd as PID 1, for the tests that run bosun's units for
 * real. The root comes from scripts/systemd-root.sh (debootstrap, cached); each machine boots it
 * through an overlay of its own, so the cached root is never written and the overlay's upper folder
 * is exactly what happened inside. Nothing touches the host's network or the host's own cgroups:
 *  - network: a namespace of the machine's own whose only route leads into a sink namespace (no
 *    packet leaves the machine), joined by `systemd-nspawn --network-namespace-path`;
 *  - cgroups: nspawn starts inside a cgroup of the machine's own in every v1 hierarchy, so the
 *    container's cgroup namespace (and the pods' kubepods tree) is a subtree of that one;
 *  - /var/lib/containerd is a folder on the host's disk: containerd's overlay snapshots cannot sit
 *    on the overlay the root is.
 * nspawn mounts the v1 controller hierarchies and /proc/sys read-only; the runtime creates pod
 * cgroups in the former and the bridge plugin turns on forwarding in the latter, so they (only
 * /proc/sys/net of /proc/sys: the machine's own network namespace) are remounted writable once the
 * machine runs. Commands run inside through nsenter into the
 * machine's PID 1. destroy() powers it off (killing it if it will not go), then removes the mounts,
 * namespaces, cgroups and folder as the test-bed janitor does: its state lives under the test-bed
 * root with a janitor record and test-bed names, so a killed run is cleaned by sandbox/janitor.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeCgroupTree, removeEmptyCgroup } from '../../agent/pods/pod-cgroups.ts';
import { recordFile, removeBedLeftovers, type BedRecord } from '../../sandbox/janitor.ts';
import { sandboxCgroupParent, sandboxCgroupRoot, sandboxRoots } from '../../sandbox/names.ts';
import { type RunResult } from '../../host/process/run.ts';
import { run } from '../helpers/run.ts';
import { waitFor } from '../helpers/wait.ts';

const repo = join(import.meta.dirname, '..', '..');
const v1Cgroups = '/sys/fs/cgroup';
// SIGRTMIN+4 (Linux numbers SIGRTMIN 34): systemd's request to power off; Node has no name for it
const sigPoweroff = 38;
const insidePath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Why no machine can boot here, or undefined when it can (the cached root must be built already). */
export function whyNoSystemdMachine(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync('/usr/bin/systemd-nspawn'))
    return 'systemd-nspawn is not installed (Debian package systemd-container; scripts/host-packages.sh test)';
  if (cachedRoot() === undefined)
    return 'no cached Debian 12 root: run scripts/systemd-root.sh (scripts/test-all does, before the suite)';
  return undefined;
}

/** The cached root scripts/systemd-root.sh built for the current package list, if it is there. */
export function cachedRoot(): string | undefined {
  const cache = process.env.BOSUN_SYSTEMD_ROOT_CACHE ?? '/var/cache/bosun/systemd-root';
  if (!existsSync(cache)) return undefined;
  const complete = readdirSync(cache).filter((name) => existsSync(join(cache, name, '.complete')));
  return complete.length === 1 ? join(cache, complete[0]!) : undefined;
}

interface MachineOptions {
  /** Short, [0-9a-z], unique on this host: it names the folder, namespaces and cgroups. */
  id: string;
  /** Address of the machine on its own link (/24); the sink end takes .1. */
  address: string;
  /** host path → path inside, read-only */
  readOnlyBinds: Record<string, string>;
}

export class SystemdMachine {
  readonly options: MachineOptions;
  /** What the janitor needs to remove it all after a killed run (test-bed names and folder). */
  readonly #record: BedRecord;
  readonly #merged: string;
  #nspawn: ChildProcess | undefined;
  #leader = 0;
  /** The leader's start time (/proc/<pid>/stat), so that a reused PID is never taken for it. */
  #leaderStart = '';

  constructor(options: MachineOptions) {
    this.options = options;
    const prefix = `bsn${options.id}`;
    this.#record = {
      id: options.id,
      ownerPid: process.pid,
      netns: [`${prefix}-n1`, `${prefix}-sink`],
      stateDir: join(sandboxRoots.tests, options.id),
    };
    this.#merged = join(this.#record.stateDir, 'merged');
  }

  get #netns(): string {
    return this.#record.netns[0]!;
  }

  get #sinkNetns(): string {
    return this.#record.netns[1]!;
  }

  /** What the machine wrote over the cached root: the overlay's upper folder. */
  get upperDir(): string {
    return join(this.#record.stateDir, 'upper');
  }

  /** Makes the overlay, the network and the cgroups (once), then boots until systemd says it runs. */
  async boot(): Promise<void> {
    const root = cachedRoot();
    if (root === undefined) throw new Error('no cached root (scripts/systemd-root.sh)');
    const { address } = this.options;
    const { stateDir } = this.#record;
    if (!existsSync(this.#merged)) {
      mkdirSync(stateDir, { recursive: true });
      writeFileSync(join(stateDir, recordFile), JSON.stringify(this.#record));
      for (const dir of ['upper', 'work', 'merged', 'containerd']) mkdirSync(join(stateDir, dir), { recursive: true });
      await must([
        'mount',
        '-t',
        'overlay',
        'overlay',
        '-o',
        `lowerdir=${root},upperdir=${this.upperDir},workdir=${join(stateDir, 'work')}`,
        this.#merged,
      ]);
      const gateway = address.replace(/\.\d+$/, '.1');
      for (const argv of [
        ['ip', 'netns', 'add', this.#netns],
        ['ip', 'netns', 'add', this.#sinkNetns],
        [
          'ip',
          '-n',
          this.#netns,
          'link',
          'add',
          'eth0',
          'type',
          'veth',
          'peer',
          'name',
          'sink0',
          'netns',
          this.#sinkNetns,
        ],
        ['ip', '-n', this.#netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0'],
        ['ip', '-n', this.#netns, 'link', 'set', 'eth0', 'up'],
        ['ip', '-n', this.#netns, 'link', 'set', 'lo', 'up'],
        ['ip', '-n', this.#sinkNetns, 'addr', 'add', `${gateway}/24`, 'dev', 'sink0'],
        ['ip', '-n', this.#sinkNetns, 'link', 'set', 'sink0', 'up'],
        ['ip', '-n', this.#netns, 'route', 'add', 'default', 'via', gateway],
      ])
        await must(argv);
      for (const hierarchy of this.#hierarchies())
        for (const dir of [sandboxCgroupParent, sandboxCgroupRoot(this.options.id)]) {
          const path = join(v1Cgroups, hierarchy, dir);
          if (existsSync(path)) continue;
          mkdirSync(path);
          // a new v1 cpuset has no CPUs until given its parent's
          if (hierarchy === 'cpuset')
            for (const file of ['cpuset.cpus', 'cpuset.mems'])
              writeFileSync(join(path, file), readFileSync(join(path, '..', file)));
        }
    }
    const binds = Object.entries(this.options.readOnlyBinds).map(([from, to]) => `--bind-ro=${from}:${to}`);
    const enter = this.#hierarchies()
      .map((h) => `echo $$ > ${join(v1Cgroups, h, sandboxCgroupRoot(this.options.id), 'cgroup.procs')}`)
      .join('; ');
    const log = openSync(join(stateDir, 'nspawn.log'), 'a');
    this.#nspawn = spawn(
      'sh',
      [
        '-c',
        `${enter}; exec "$@"`,
        'sh',
        'systemd-nspawn',
        '--boot',
        '--quiet',
        '--register=no',
        '--keep-unit',
        `--machine=bosun-${this.options.id}`,
        `--directory=${this.#merged}`,
        `--network-namespace-path=/run/netns/${this.#netns}`,
        '--capability=all',
        '--console=passive',
        `--bind=${join(stateDir, 'containerd')}:/var/lib/containerd`,
        ...binds,
      ],
      // nspawn's own seccomp filter refuses calls the runtime makes (keyctl, for one)
      { env: { ...process.env, SYSTEMD_SECCOMP: '0' }, stdio: ['ignore', log, log] },
    );
    const nspawn = this.#nspawn;
    await waitFor(
      async () => {
        if (nspawn.exitCode !== null)
          throw new Error(`systemd-nspawn exited ${nspawn.exitCode}: ${tail(join(stateDir, 'nspawn.log'))}`);
        const children = readFileSync(`/proc/${nspawn.pid}/task/${nspawn.pid}/children`, 'utf8').trim();
        this.#leader = Number(children.split(' ')[0] ?? 0);
        if (this.#leader === 0) return false;
        this.#leaderStart = startTime(this.#leader) ?? '';
        const state = await this.run('systemctl is-system-running --wait', { timeoutMs: 60_000 }).catch(
          () => undefined,
        );
        return state !== undefined && /running|degraded/.test(state.stdout);
      },
      { what: 'systemd in the machine running', timeoutMs: 90_000, intervalMs: 200 },
    );
    // the machine's own network namespace: its sysctls (ip_forward for the bridge plugin) are its own
    await this.must(
      'for c in /sys/fs/cgroup/*/; do mount -o remount,bind,rw "$c"; done; mount --bind /proc/sys/net /proc/sys/net && mount -o remount,bind,rw /proc/sys/net',
    );
  }

  /** A shell command inside the machine, as root, with a clean environment. */
  run(script: string, options: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    if (this.#leader === 0) throw new Error('the machine is not running');
    return run(
      [
        'nsenter',
        '-t',
        String(this.#leader),
        '-a',
        'env',
        '-i',
        `PATH=${insidePath}`,
        'HOME=/root',
        'bash',
        '-c',
        script,
      ],
      { timeoutMs: options.timeoutMs ?? 60_000, ...(options.input !== undefined ? { input: options.input } : {}) },
    );
  }

  async must(script: string, options: { timeoutMs?: number; input?: string } = {}): Promise<string> {
    const result = await this.run(script, options);
    if (result.code !== 0)
      throw new Error(`in the machine, exit ${result.code}: ${script}\n${result.stdout}\n${result.stderr}`.trim());
    return result.stdout;
  }

  /**
   * Whether the machine still runs: systemd-nspawn, or the machine's PID 1 (seen once outliving
   * nspawn after a poweroff, with the pods' processes under it).
   */
  get running(): boolean {
    const nspawn = this.#nspawn !== undefined && this.#nspawn.exitCode === null && this.#nspawn.signalCode === null;
    return nspawn || this.#leaderAlive();
  }

  #leaderAlive(): boolean {
    return this.#leader !== 0 && startTime(this.#leader) === this.#leaderStart;
  }

  /** Waits until the machine has gone (after a poweroff inside it). */
  async waitGone(timeoutMs: number): Promise<void> {
    await waitFor(async () => !this.running, { what: 'the machine powered off', timeoutMs, intervalMs: 200 });
    this.#leader = 0;
  }

  /** Reads the machine's persistent journal from the host (works after it powered off too). */
  journal(args: readonly string[]): Promise<RunResult> {
    return run(['journalctl', '-D', join(this.upperDir, 'var', 'log', 'journal'), '--no-pager', ...args], {
      timeoutMs: 30_000,
    });
  }

  async destroy(): Promise<void> {
    if (this.running) {
      // SIGRTMIN+4 asks systemd for a poweroff; a machine that will not go is killed
      if (this.#leaderAlive()) signal(this.#leader, sigPoweroff);
      await this.waitGone(30_000).catch(() => {
        this.#nspawn?.kill('SIGKILL');
        // the end of a PID namespace's first process ends every process in it
        if (this.#leaderAlive()) signal(this.#leader, 'SIGKILL');
      });
      await this.waitGone(10_000).catch(() => undefined);
    }
    // what is left (mounts, namespaces, the cgroup subtree, the folder) goes as the janitor removes it;
    // the janitor looks at the v1 hierarchies only, so the unified one's folders go here
    await removeBedLeftovers(this.#record);
    const unified = [join(v1Cgroups, 'unified')];
    await removeCgroupTree(unified, sandboxCgroupRoot(this.options.id));
    await removeEmptyCgroup(unified, sandboxCgroupParent);
  }

  /**
   * Every hierarchy of the host, the named systemd one and the unified one among them: nspawn puts
   * the machine's own cgroup ("payload") below the path it has in the unified one, in the named
   * one; left at the top there, every machine would share one.
   */
  #hierarchies(): string[] {
    return readdirSync(v1Cgroups).filter((name) => existsSync(join(v1Cgroups, name, 'cgroup.procs')));
  }
}

/** A process's start time in clock ticks (field 22 of /proc/<pid>/stat), or undefined once it is gone. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The last lines of a log, for an error message (the folder goes when the machine does). */
function tail(file: string): string {
  return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ');
}

function signal(pid: number, sig: number | NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

async function must(argv: string[]): Promise<void> {
  const result = await run(argv);
  if (result.code !== 0) throw new Error(`${argv.join(' ')}: ${result.stderr.trim()}`);
}

export { repo };
