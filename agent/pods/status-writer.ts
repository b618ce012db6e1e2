/**
 * Writes pod statuses to the API: one slot per pod (the latest status wins, older ones are never
 * written after it), at most one write in flight per pod, and a failed write retried with backoff
 * (200 ms doubling to 7 s) unless a newer status replaced it meanwhile.
 */
import type { Logger } from 'pino';
import type { Pod, PodStatus } from '../../kube/corev1.ts';
import { pause, type Clock } from '../clock.ts';
import { podKey } from './pod-containers.ts';

/** The API calls the pod machinery makes; KubeClient provides them in production. */
export interface PodApi {
  /** Writes the pod's status through the status subresource. */
  writeStatus(pod: Pod, status: PodStatus): Promise<void>;
  /** Deletes the pod object for good (grace 0, only this UID). */
  deletePod(pod: Pod): Promise<void>;
}

interface Slot {
  pod: Pod;
  status: PodStatus;
  version: number;
  writtenVersion: number;
  writing: boolean;
  retryMs: number;
}

const firstRetryMs = 200;
const maxRetryMs = 7_000;

export class StatusWriter {
  readonly #api: PodApi;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #slots = new Map<string, Slot>();
  readonly #stop = new AbortController();
  #versions = 0;
  /** Writes done (for tests and metrics). */
  writes = 0;

  constructor(api: PodApi, clock: Clock, log: Logger) {
    this.#api = api;
    this.#clock = clock;
    this.#log = log;
  }

  set(pod: Pod, status: PodStatus): void {
    const uid = pod.metadata.uid ?? '';
    const slot = this.#slots.get(uid) ?? { pod, status, version: 0, writtenVersion: 0, writing: false, retryMs: firstRetryMs };
    slot.pod = pod;
    slot.status = status;
    slot.version = ++this.#versions;
    this.#slots.set(uid, slot);
    if (!slot.writing && !this.#stop.signal.aborted) void this.#write(uid, slot);
  }

  /**
   * Stops writing and retrying (the agent is stopping): a failed write no longer waits and tries
   * again for ever, keeping the process alive; the next agent reports what it finds.
   */
  close(): void {
    this.#stop.abort();
  }

  forget(uid: string): void {
    this.#slots.delete(uid);
  }

  /** Resolves when nothing is waiting to be written (tests). */
  async flushed(): Promise<void> {
    while ([...this.#slots.values()].some((s) => s.writing || s.writtenVersion < s.version)) {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async #write(uid: string, slot: Slot): Promise<void> {
    slot.writing = true;
    while (this.#slots.get(uid) === slot && slot.writtenVersion < slot.version && !this.#stop.signal.aborted) {
      const version = slot.version;
      try {
        await this.#api.writeStatus(slot.pod, slot.status);
        this.writes += 1;
        slot.writtenVersion = version;
        slot.retryMs = firstRetryMs;
      } catch (err) {
        this.#log.warn({ pod: podKey(slot.pod), err: (err as Error).message, retryMs: slot.retryMs }, 'pod status write failed');
        const wait = slot.retryMs;
        slot.retryMs = Math.min(slot.retryMs * 2, maxRetryMs);
        await pause(this.#clock, wait, this.#stop.signal);
      }
    }
    slot.writing = false;
  }
}
