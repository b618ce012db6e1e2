/**
 * Pod-level cgroups, as the kubelet lays them out with cgroups-per-QoS (its default):
 *
 *   <cgroup-root>/kubepods/pod<uid>              Guaranteed
 *   <cgroup-root>/kubepods/burstable/pod<uid>    Burstable
 *   <cgroup-root>/kubepods/besteffort/pod<uid>   BestEffort
 *
 * The sandbox config names the pod folder as the cgroup parent and runc creates it when the pause
 * container starts; runc removes each container's own cgroup when the container is deleted, but
 * never the pod folder above it. The kubelet removes that itself once the pod is gone, and so does
 * the agent: a sweep removes the pod folders of pods that have no sandbox left in the runtime.
 *
 * Only the cgroupfs driver: with the systemd driver the pod level is a slice unit that systemd owns.
 */
import { readFile, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CriRuntime } from '../../cri/runtime.ts';
import { sandboxPodUids } from './cri-labels.ts';
import { pause, type Clock } from '../../kube/clock.ts';

/** The QoS tiers under the pod root ('' is Guaranteed, whose pods sit right under it). */
const qosTiers = ['', 'burstable', 'besteffort'] as const;

/** The pod root for a driver and `--cgroup-root` ('/' or '' means the top of each hierarchy). */
export function podCgroupRoot(driver: 'cgroupfs' | 'systemd', cgroupRoot: string): string {
  const root = cgroupRoot.replace(/\/+$/, '');
  if (driver === 'systemd') {
    const slice = root
      .replace(/^\/+/, '')
      .replace(/\.slice$/, '')
      .replaceAll('/', '-');
    return slice === '' ? 'kubepods.slice' : `${slice}-kubepods.slice`;
  }
  return `${root}/kubepods`;
}

/**
 * Why a `--cgroup-root` cannot be used, or undefined when it can. It is joined below every mount
 * under /sys/fs/cgroup, so it must be absolute and must not climb out of the hierarchy ('..') or
 * name a folder twice ('.', '//'), which would make two spellings of one root look different.
 */
export function cgroupRootProblem(cgroupRoot: string): string | undefined {
  if (!cgroupRoot.startsWith('/')) return 'must be an absolute cgroup path such as / or /bosun';
  if (/[\0\n]/.test(cgroupRoot)) return 'must not hold NUL or newline characters';
  const segments = cgroupRoot.replace(/\/+$/, '').split('/').slice(1);
  if (segments.some((segment) => segment === '..' || segment === '.' || segment === ''))
    return "must not hold '.', '..' or empty segments";
  return undefined;
}

/**
 * Where the cgroup hierarchies are mounted, read from a mountinfo text: every cgroup (v1) mount,
 * or the one cgroup2 mount on a unified host. On a hybrid host (v1 controllers plus a cgroup2 mount
 * for systemd's own tracking) runc creates pod folders in the v1 hierarchies only, so the cgroup2
 * mount counts only when there is no v1 mount at all.
 */
export function cgroupMounts(mountinfo: string): string[] {
  const v1: string[] = [];
  const v2: string[] = [];
  for (const line of mountinfo.split('\n')) {
    // fields: id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const [before, after] = line.split(' - ');
    if (before === undefined || after === undefined) continue;
    const mountPoint = before.split(' ')[4];
    const fsType = after.split(' ')[0];
    if (mountPoint === undefined) continue;
    if (fsType === 'cgroup') v1.push(unescapeMountPoint(mountPoint));
    else if (fsType === 'cgroup2') v2.push(unescapeMountPoint(mountPoint));
  }
  return v1.length > 0 ? v1 : v2;
}

/** mountinfo writes space, tab, newline and backslash as octal escapes. */
function unescapeMountPoint(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** A pod folder found under the pod root of one hierarchy. */
interface PodCgroupDir {
  uid: string;
  path: string;
}

/** The pod folders under `podRoot` in each hierarchy (missing folders are simply empty). */
export async function listPodCgroups(mounts: readonly string[], podRoot: string): Promise<PodCgroupDir[]> {
  const found: PodCgroupDir[] = [];
  for (const mount of mounts) {
    for (const tier of qosTiers) {
      const dir = join(mount, podRoot, tier);
      let entries: string[];
      try {
        entries = await readdir(dir);
      } catch {
        continue;
      }
      for (const entry of entries) {
        if (entry.startsWith('pod') && entry.length > 3) found.push({ uid: entry.slice(3), path: join(dir, entry) });
      }
    }
  }
  return found;
}

/**
 * Removes the pod folders of pods not in `live`. A folder that still holds a cgroup (a container
 * that is starting or not yet removed) is refused by the kernel and kept for the next sweep.
 */
export async function sweepPodCgroups(
  mounts: readonly string[],
  podRoot: string,
  live: ReadonlySet<string>,
): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of await listPodCgroups(mounts, podRoot)) {
    if (live.has(dir.uid)) continue;
    try {
      await rmdir(dir.path);
      removed.push(dir.path);
    } catch {
      // busy or already gone: the next sweep decides again
    }
  }
  return removed;
}

/** What removing a cgroup subtree did: folders removed, folders left, and busy folders tried again. */
interface CgroupTreeRemoval {
  removed: string[];
  left: string[];
  busyRetries: number;
}

/**
 * Removes a whole cgroup subtree (deepest folders first) in every hierarchy: what a test bed or
 * `bosun reset` does with the pod root it gave its agent. A folder still busy is tried again until
 * `waitMs` has passed (a process that was just killed can take a moment to leave its cgroup);
 * after that, folders that hold processes stay and are reported in `left`.
 */
export async function removeCgroupTree(
  mounts: readonly string[],
  relative: string,
  waitMs = 0,
): Promise<CgroupTreeRemoval> {
  const until = performance.now() + waitMs;
  const outcome: CgroupTreeRemoval = { removed: [], left: [], busyRetries: 0 };
  for (const mount of mounts) await removeDepthFirst(join(mount, relative), until, outcome);
  return outcome;
}

/** Removes one cgroup folder in every hierarchy if nothing is left in it (a shared parent). */
export async function removeEmptyCgroup(mounts: readonly string[], relative: string): Promise<void> {
  for (const mount of mounts) await rmdir(join(mount, relative)).catch(() => undefined);
}

async function removeDepthFirst(dir: string, until: number, outcome: CgroupTreeRemoval): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (entry.isDirectory()) await removeDepthFirst(join(dir, entry.name), until, outcome);
  }
  for (;;) {
    try {
      await rmdir(dir);
      outcome.removed.push(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || performance.now() >= until) {
        outcome.left.push(dir);
        return;
      }
      outcome.busyRetries++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export async function hostCgroupMounts(): Promise<string[]> {
  return cgroupMounts(await readFile('/proc/self/mountinfo', 'utf8').catch(() => ''));
}

/** How often empty pod cgroups of removed pods are swept (the kubelet checks about once a minute). */
const podCgroupSweepMs = 30_000;

/** Removes the pod-level cgroups of pods with no sandbox left, now and then every `everyMs`. */
export async function sweepPodCgroupsEvery(
  runtime: Pick<CriRuntime, 'listPodSandbox'>,
  podRoot: string,
  signal: AbortSignal,
  clock: Clock,
  log: Logger,
  everyMs = podCgroupSweepMs,
): Promise<void> {
  const mounts = await hostCgroupMounts();
  while (!signal.aborted) {
    try {
      const removed = await sweepPodCgroups(mounts, podRoot, await sandboxPodUids(runtime));
      if (removed.length > 0) log.debug({ removed: removed.length }, 'removed cgroups of pods that are gone');
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'pod cgroup sweep skipped');
    }
    await pause(clock, everyMs, signal);
  }
}
