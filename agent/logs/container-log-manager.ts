/**
 * Keeps every running container's CRI log file within --container-log-max-size and
 * --container-log-max-files (rotation-plan.ts decides, this file does it).
 *
 * The kubelet checks every 10 s, which lets a fast writer run far over budget (k/k#110630). Here
 * a check is one stat per running container every second (cheap), and the list of running
 * containers and their log paths is refreshed from the runtime every 10 s (one ListContainers
 * call; ContainerStatus only for containers not seen before) — and at once when the check finds a
 * log file over the size that it does not know yet: a container that started a moment ago can
 * write megabytes before the next refresh was due. Between two such rounds, a check woken by the
 * watch stats only the logs written since the last check: a log nobody wrote to has not grown, and
 * a burst of container starts (each one creates a log) would otherwise stat every log of the node
 * for each of them. A rotation renames the live file,
 * asks the runtime to reopen it (CRI ReopenContainerLog) and, if that fails, renames it back so no
 * line is lost.
 *
 * Lifecycle: the constructor does nothing; run(signal) loops until the signal aborts.
 */
import { createReadStream, createWriteStream, watch, type FSWatcher } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Logger } from 'pino';
import type { CriRuntime } from '../../cri/runtime.ts';
import type { Clock } from '../../kube/clock.ts';
import { planRotation, tmpSuffix, type RotationStep } from './rotation-plan.ts';

/** The least time between two checks while logs are being written (bounds the overshoot). */
const changeCheckGapMs = 50;

interface ContainerLogManagerOptions {
  runtime: CriRuntime;
  clock: Clock;
  log: Logger;
  maxSizeBytes: number;
  maxFiles: number;
  /** How often log sizes are checked (default 1 s). */
  checkIntervalMs?: number;
  /** How often the list of running containers is refreshed (default 10 s). */
  listIntervalMs?: number;
  /** The pod log folder (<ns>_<pod>_<uid>/<container>/<n>.log), scanned for logs not known yet. */
  podLogDir?: string;
  /** A log file's size in bytes, -1 when it cannot be read (tests count the reads). */
  sizeOf?: (path: string) => Promise<number>;
}

const statSize = (path: string): Promise<number> =>
  stat(path).then(
    (s) => s.size,
    () => -1,
  );

/** What --container-log-max-size and --container-log-max-files accept; a one-line error otherwise. */
export function validateLogPolicy(maxSizeBytes: number, maxFiles: number): string | undefined {
  if (!Number.isInteger(maxFiles) || maxFiles < 2)
    return `--container-log-max-files ${maxFiles} must be a whole number of at least 2`;
  if (!(maxSizeBytes > 0)) return '--container-log-max-size must be larger than 0';
  return undefined;
}

export class ContainerLogManager {
  readonly #o: ContainerLogManagerOptions;
  /** Running containers: id -> live log path ('' when the runtime keeps no log for it). */
  #containers = new Map<string, string>();
  /** The live log paths of #containers. */
  #knownPaths = new Set<string>();
  #listedAt = -Infinity;
  /** Rotated files being compressed in the background. */
  readonly #compressing = new Set<string>();
  /** A live log was written since the last check began. */
  #changed = false;
  /** Whether the pod log folder is watched (else new logs are found by scanning it). */
  #watching = false;
  /** Live logs written to that belong to no container listed yet (from the watch). */
  readonly #unknownWritten = new Set<string>();
  /** Live logs of listed containers written to since the last check began (from the watch). */
  #knownWritten = new Set<string>();
  #wake: (() => void) | undefined;
  /** Rotations done, for tests and metrics. */
  rotations = 0;

  constructor(options: ContainerLogManagerOptions) {
    this.#o = options;
  }

  async run(signal: AbortSignal): Promise<void> {
    const watcher = this.#watchLogs();
    const everyLogEveryMs = this.#o.checkIntervalMs ?? 1_000;
    let everyLogAt = -Infinity;
    try {
      while (!signal.aborted) {
        this.#changed = false;
        const written = this.#knownWritten;
        this.#knownWritten = new Set();
        // every log once per check interval (and always while nothing is watched); in between,
        // what the watch saw written
        const now = this.#o.clock.now();
        const everyLog = !this.#watching || now - everyLogAt >= everyLogEveryMs;
        if (everyLog) everyLogAt = now;
        try {
          await this.checkOnce(everyLog ? undefined : written);
        } catch (err) {
          this.#o.log.warn({ err: (err as Error).message }, 'container log check failed');
        }
        await this.#sleep(signal);
      }
    } finally {
      watcher?.close();
    }
  }

  /**
   * A write to any live log under the pod log folder wakes the loop (inotify through a recursive
   * fs.watch), so a writer doing tens of MB/s is caught within `changeCheckGapMs`, not after a
   * whole check interval. Without the folder (or when watching fails) the loop only polls.
   */
  #watchLogs(): FSWatcher | undefined {
    const root = this.#o.podLogDir;
    if (root === undefined) return undefined;
    try {
      const watcher = watch(root, { recursive: true, persistent: false }, (_event, name) => {
        if (name === null || !/\d+\.log$/.test(name)) return;
        const path = join(root, name);
        if (this.#knownPaths.has(path)) this.#knownWritten.add(path);
        else this.#unknownWritten.add(path);
        this.#onChange();
      });
      watcher.on('error', (err) => {
        this.#watching = false;
        this.#o.log.debug({ err: err.message }, 'watching the pod log folder stopped; polling only');
      });
      this.#watching = true;
      return watcher;
    } catch (err) {
      this.#o.log.debug({ err: (err as Error).message, root }, 'cannot watch the pod log folder; polling only');
      return undefined;
    }
  }

  #onChange(): void {
    this.#changed = true;
    this.#wake?.();
  }

  /** Until the check interval passes, or `changeCheckGapMs` after a log changed. */
  #sleep(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.#wake = undefined;
        timer.cancel();
        signal.removeEventListener('abort', done);
        resolve();
      };
      let timer = this.#o.clock.after(this.#o.checkIntervalMs ?? 1_000, done);
      this.#wake = () => {
        this.#wake = undefined;
        timer.cancel();
        timer = this.#o.clock.after(changeCheckGapMs, done);
      };
      signal.addEventListener('abort', done, { once: true });
      if (this.#changed) this.#wake();
    });
  }

  /**
   * One round: refresh the container list when due, then rotate every log over its size (or only
   * those of `written`, unless the list was refreshed).
   */
  async checkOnce(written?: ReadonlySet<string>): Promise<void> {
    const now = this.#o.clock.now();
    let only = written;
    if (now - this.#listedAt >= (this.#o.listIntervalMs ?? 10_000) || (await this.#unknownLogOverSize())) {
      await this.#refresh();
      this.#listedAt = now;
      only = undefined;
    }
    const sizeOf = this.#o.sizeOf ?? statSize;
    for (const [id, logPath] of this.#containers) {
      if (logPath === '' || (only !== undefined && !only.has(logPath))) continue;
      const size = await sizeOf(logPath);
      if (size < this.#o.maxSizeBytes) continue;
      try {
        await this.rotate(id, logPath, size);
      } catch (err) {
        this.#o.log.warn(
          { container: id, log: logPath, err: (err as Error).message },
          'could not rotate a container log',
        );
      }
    }
  }

  /**
   * Whether a live log of no known container is over the size: those the watch saw written to, or
   * (without a watch) any found by scanning the pod log folder.
   */
  async #unknownLogOverSize(): Promise<boolean> {
    const sizeOf = this.#o.sizeOf ?? statSize;
    const overSize = async (path: string) => (await sizeOf(path)) >= this.#o.maxSizeBytes;
    if (this.#watching) {
      for (const path of this.#unknownWritten) if (await overSize(path)) return true;
      return false;
    }
    const root = this.#o.podLogDir;
    if (root === undefined) return false;
    const known = this.#knownPaths;
    for (const pod of await readdir(root).catch(() => [] as string[])) {
      for (const container of await readdir(join(root, pod)).catch(() => [] as string[])) {
        const dir = join(root, pod, container);
        for (const name of await readdir(dir).catch(() => [] as string[])) {
          if (!/^\d+\.log$/.test(name) || known.has(join(dir, name))) continue;
          if (await overSize(join(dir, name))) return true;
        }
      }
    }
    return false;
  }

  async #refresh(): Promise<void> {
    const running = await this.#o.runtime.listContainers({ state: { state: 'CONTAINER_RUNNING' } });
    const next = new Map<string, string>();
    for (const c of running) {
      let path = this.#containers.get(c.id);
      if (path === undefined) {
        path = await this.#o.runtime.containerStatus(c.id).then(
          (s) => s.status?.logPath ?? '',
          () => undefined,
        );
        if (path === undefined) continue; // gone meanwhile
      }
      next.set(c.id, path);
    }
    this.#containers = next;
    this.#knownPaths = new Set(next.values());
    this.#unknownWritten.clear();
  }

  async rotate(containerId: string, logPath: string, sizeBytes: number): Promise<void> {
    const dir = dirname(logPath);
    const prefix = `${basename(logPath)}.`;
    // a file being compressed (and its .tmp) is neither a leftover nor one to count yet
    const busy = (path: string) => this.#compressing.has(path) || this.#compressing.has(path.replace(/\.gz\.tmp$/, ''));
    const rotated = (await readdir(dir))
      .filter((n) => n.startsWith(prefix))
      .map((n) => join(dir, n))
      .filter((path) => !busy(path));
    const steps = planRotation({
      logPath,
      sizeBytes,
      rotated,
      maxSizeBytes: this.#o.maxSizeBytes,
      maxFiles: this.#o.maxFiles,
      now: this.#o.clock.now(),
    });
    for (const step of steps) {
      // compressing a rotated file can take a while; the checks go on meanwhile
      if (step.kind === 'compress') this.#compressInBackground(step.path, step.to);
      else await this.#do(containerId, step);
    }
  }

  #compressInBackground(path: string, to: string): void {
    if (this.#compressing.has(path)) return;
    this.#compressing.add(path);
    void compress(path, to)
      .catch((err: Error) =>
        this.#o.log.warn({ log: path, err: err.message }, 'could not compress a rotated container log'),
      )
      .finally(() => this.#compressing.delete(path));
  }

  async #do(containerId: string, step: RotationStep): Promise<void> {
    switch (step.kind) {
      case 'remove':
        return rm(step.path, { force: true });
      case 'compress':
        return this.#compressInBackground(step.path, step.to);
      case 'rotate': {
        await rename(step.from, step.to);
        try {
          await this.#o.runtime.reopenContainerLog(containerId);
        } catch (err) {
          // the runtime still writes to the renamed file: put it back so nothing is lost
          await rename(step.to, step.from).catch(() => undefined);
          throw err;
        }
        this.rotations++;
        return;
      }
    }
  }
}

/** gzip `from` into `to` through a temporary file; a failure leaves no partial file behind. */
async function compress(from: string, to: string): Promise<void> {
  const tmp = `${to}${tmpSuffix}`;
  try {
    await pipeline(createReadStream(from), createGzip(), createWriteStream(tmp));
    await rename(tmp, to);
    await rm(from, { force: true });
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
