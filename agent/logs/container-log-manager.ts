/**
 * Keeps every running container's CRI log file within --container-log-max-size and
 * --container-log-max-files (rotation-plan.ts decides, this file does it).
 *
 * The kubelet checks every 10 s, which lets a fast writer run far over budget (k/k#110630). Here
 * a check is one stat per running container every second (cheap), and the list of running
 * containers and their log paths is refreshed from the runtime every 10 s (one ListContainers
 * call; ContainerStatus only for containers not seen before). A rotation renames the live file,
 * asks the runtime to reopen it (CRI ReopenContainerLog) and, if that fails, renames it back so no
 * line is lost.
 *
 * Lifecycle: the constructor does nothing; run(signal) loops until the signal aborts.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Logger } from 'pino';
import type { CriRuntime } from '../../cri/runtime.ts';
import type { Clock } from '../clock.ts';
import { planRotation, tmpSuffix, type RotationStep } from './rotation-plan.ts';

export interface ContainerLogManagerOptions {
  runtime: CriRuntime;
  clock: Clock;
  log: Logger;
  maxSizeBytes: number;
  maxFiles: number;
  /** How often log sizes are checked (default 1 s). */
  checkIntervalMs?: number;
  /** How often the list of running containers is refreshed (default 10 s). */
  listIntervalMs?: number;
}

/** What --container-log-max-size and --container-log-max-files accept; a one-line error otherwise. */
export function validateLogPolicy(maxSizeBytes: number, maxFiles: number): string | undefined {
  if (!Number.isInteger(maxFiles) || maxFiles < 2) return `--container-log-max-files ${maxFiles} must be a whole number of at least 2`;
  if (!(maxSizeBytes > 0)) return '--container-log-max-size must be larger than 0';
  return undefined;
}

export class ContainerLogManager {
  readonly #o: ContainerLogManagerOptions;
  /** Running containers: id -> live log path ('' when the runtime keeps no log for it). */
  #containers = new Map<string, string>();
  #listedAt = -Infinity;
  /** Rotations done, for tests and metrics. */
  rotations = 0;

  constructor(options: ContainerLogManagerOptions) {
    this.#o = options;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.checkOnce();
      } catch (err) {
        this.#o.log.warn({ err: (err as Error).message }, 'container log check failed');
      }
      await new Promise<void>((resolve) => {
        const onAbort = () => { timer.cancel(); resolve(); };
        const timer = this.#o.clock.after(this.#o.checkIntervalMs ?? 1_000, () => { signal.removeEventListener('abort', onAbort); resolve(); });
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  /** One round: refresh the container list when due, then rotate every log over its size. */
  async checkOnce(): Promise<void> {
    const now = this.#o.clock.now();
    if (now - this.#listedAt >= (this.#o.listIntervalMs ?? 10_000)) {
      await this.#refresh();
      this.#listedAt = now;
    }
    for (const [id, logPath] of this.#containers) {
      if (logPath === '') continue;
      const size = await stat(logPath).then((s) => s.size, () => -1);
      if (size < this.#o.maxSizeBytes) continue;
      try {
        await this.rotate(id, logPath, size);
      } catch (err) {
        this.#o.log.warn({ container: id, log: logPath, err: (err as Error).message }, 'could not rotate a container log');
      }
    }
  }

  async #refresh(): Promise<void> {
    const running = await this.#o.runtime.listContainers({ state: { state: 'CONTAINER_RUNNING' } });
    const next = new Map<string, string>();
    for (const c of running) {
      let path = this.#containers.get(c.id);
      if (path === undefined) {
        path = await this.#o.runtime.containerStatus(c.id).then((s) => s.status?.logPath ?? '', () => undefined);
        if (path === undefined) continue; // gone meanwhile
      }
      next.set(c.id, path);
    }
    this.#containers = next;
  }

  async rotate(containerId: string, logPath: string, sizeBytes: number): Promise<void> {
    const dir = dirname(logPath);
    const prefix = `${basename(logPath)}.`;
    const rotated = (await readdir(dir)).filter((n) => n.startsWith(prefix)).map((n) => join(dir, n));
    const steps = planRotation({ logPath, sizeBytes, rotated, maxSizeBytes: this.#o.maxSizeBytes, maxFiles: this.#o.maxFiles, now: this.#o.clock.now() });
    for (const step of steps) await this.#do(containerId, step);
  }

  async #do(containerId: string, step: RotationStep): Promise<void> {
    switch (step.kind) {
      case 'remove':
        return rm(step.path, { force: true });
      case 'compress':
        return compress(step.path, step.to);
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
