/**
 * The image garbage collector: every 5 minutes (the kubelet's ImageGCPeriod) it notes which
 * images containers use, and when the image filesystem (CRI ImageFsInfo's mount, measured with
 * statfs) is over the high threshold it removes unused images as image-gc-plan.ts chooses. The
 * eviction manager also calls deleteUnused() to reclaim disk before it evicts a pod.
 *
 * The sandbox image is pinned by name (and by the runtime's own `pinned` flag where it sets it):
 * it is never removed (k/k#106037).
 */
import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { CriRuntime } from '../../cri/runtime.ts';
import { pause, type Clock } from '../../kube/clock.ts';
import { bytesToFree, chooseImagesToDelete, type GcPolicy, type ImageRecord } from './image-gc-plan.ts';

interface ImageGcOptions {
  runtime: CriRuntime;
  clock: Clock;
  log: Logger;
  policy: GcPolicy;
  /** Image names never removed (the pod infra image). */
  pinnedNames: readonly string[];
  /** Default 5 min. */
  periodMs?: number;
}

export interface Filesystem {
  mount: string;
  capacityBytes: number;
  availableBytes: number;
  inodes: number;
  inodesFree: number;
}

/** The image filesystem: the mount CRI ImageFsInfo names, measured with statfs; undefined when unknown. */
export async function imageFilesystem(runtime: CriRuntime): Promise<Filesystem | undefined> {
  const info = await runtime.imageFsInfo({ timeoutMs: 5_000 }).catch(() => undefined);
  const mount = info?.imageFilesystems[0]?.fsId?.mountpoint;
  if (mount === undefined || mount === '') return undefined;
  try {
    const fs = await statfs(mount);
    return {
      mount,
      capacityBytes: fs.blocks * fs.bsize,
      availableBytes: fs.bavail * fs.bsize,
      inodes: fs.files,
      inodesFree: fs.ffree,
    };
  } catch {
    return undefined;
  }
}

export class ImageGc {
  readonly #o: ImageGcOptions;
  readonly #seen = new Map<string, { firstDetected: number; lastUsed: number }>();
  /** Images removed, for tests and metrics. */
  removed = 0;

  constructor(options: ImageGcOptions) {
    this.#o = options;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.collectOnce();
      } catch (err) {
        this.#o.log.warn({ err: (err as Error).message }, 'image garbage collection failed');
      }
      await pause(this.#o.clock, this.#o.periodMs ?? 300_000, signal);
    }
  }

  /** One round: over the high threshold, free down to the low one. Returns the bytes freed. */
  async collectOnce(): Promise<number> {
    const images = await this.detect();
    const fs = await imageFilesystem(this.#o.runtime);
    if (fs === undefined) return 0;
    const want = bytesToFree(fs.capacityBytes, fs.availableBytes, this.#o.policy);
    if (want === 0) return 0;
    const freed = await this.#remove(chooseImagesToDelete(images, want, this.#o.clock.now(), this.#o.policy.minAgeMs));
    if (freed < want)
      this.#o.log.warn(
        { mount: fs.mount, wantBytes: want, freedBytes: freed },
        'image filesystem is over the high threshold and unused images could not free enough',
      );
    return freed;
  }

  /** Removes every unused image old enough (the eviction manager's disk reclaim). Returns the bytes freed. */
  async deleteUnused(): Promise<number> {
    const images = await this.detect();
    return this.#remove(chooseImagesToDelete(images, Infinity, this.#o.clock.now(), this.#o.policy.minAgeMs));
  }

  /** Lists images and containers (all states) and updates first-detected / last-used times. */
  async detect(): Promise<ImageRecord[]> {
    const { runtime } = this.#o;
    const now = this.#o.clock.now();
    const [images, containers] = await Promise.all([runtime.listImages(), runtime.listContainers()]);
    const used = new Set<string>();
    for (const c of containers) {
      used.add(c.imageRef);
      if (c.imageId) used.add(c.imageId);
      if (c.image?.image) used.add(c.image.image);
    }
    const pinned = new Set(this.#o.pinnedNames);
    const records: ImageRecord[] = [];
    const present = new Set<string>();
    for (const image of images) {
      present.add(image.id);
      const names = [...image.repoTags, ...image.repoDigests];
      const inUse = used.has(image.id) || names.some((n) => used.has(n));
      const seen = this.#seen.get(image.id) ?? { firstDetected: now, lastUsed: 0 };
      if (inUse) seen.lastUsed = now;
      this.#seen.set(image.id, seen);
      records.push({
        id: image.id,
        names,
        sizeBytes: image.size,
        firstDetected: seen.firstDetected,
        lastUsed: seen.lastUsed,
        inUse,
        pinned: image.pinned || names.some((n) => pinned.has(n)),
      });
    }
    for (const id of this.#seen.keys()) if (!present.has(id)) this.#seen.delete(id);
    return records;
  }

  async #remove(images: readonly ImageRecord[]): Promise<number> {
    let freed = 0;
    for (const image of images) {
      try {
        await this.#o.runtime.removeImage(image.id);
        freed += image.sizeBytes;
        this.removed++;
        this.#seen.delete(image.id);
        this.#o.log.info({ image: image.names[0] ?? image.id, sizeBytes: image.sizeBytes }, 'removed an unused image');
      } catch (err) {
        this.#o.log.warn(
          { image: image.names[0] ?? image.id, err: (err as Error).message },
          'could not remove an unused image',
        );
      }
    }
    return freed;
  }
}
