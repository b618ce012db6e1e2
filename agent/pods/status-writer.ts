/**
 * Writes pod statuses to the API: one slot per pod (the latest status wins, older ones are never
 * written after it), at most one write in flight per pod, and a failed write retried with backoff
 * (200 ms doubling to 7 s) unless a newer status replaced it meanwhile.
 *
 * It also keeps the API's copy true: every 10 s (the kubelet's syncBatch period) it compares each
 * pod's status as the API last showed it with the status it last wrote, and writes its own again
 * where someone else's write replaced it (a partition's MarkPodsNotReady, a restored snapshot, a
 * hand-made patch). Only its latest status is ever written, so it never undoes a newer one of its own.
 */
import type { Logger } from 'pino';
import type { Pod, PodStatus } from '../../kube/corev1.ts';
import { ChangeSignal } from '../../kube/change-signal.ts';
import { pause, type Clock, type TimerHandle } from '../../kube/clock.ts';
import { podKey } from './pod-containers.ts';
import { statusNeedsReconcile } from './status-reconcile.ts';

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
  /** The status as the API last showed it (informer), once seen. */
  apiStatus?: PodStatus | undefined;
  /** The API showed the pod at least once since the slot was made. */
  apiSeen: boolean;
}

const firstRetryMs = 200;
const maxRetryMs = 7_000;
/** How often the API's copies are compared with what was written (the kubelet's syncBatch period). */
const reconcilePeriodMs = 10_000;

export class StatusWriter {
  readonly #api: PodApi;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #slots = new Map<string, Slot>();
  readonly #stop = new AbortController();
  /** Told when a write ends, a slot goes or the writer closes: what flushed() waits on. */
  readonly #changes = new ChangeSignal();
  #versions = 0;
  #reconcileTimer: TimerHandle | undefined;
  /** Writes done (for tests and metrics). */
  writes = 0;
  /** Writes made because the API's copy had drifted (for tests and metrics). */
  reconciles = 0;

  constructor(api: PodApi, clock: Clock, log: Logger) {
    this.#api = api;
    this.#clock = clock;
    this.#log = log;
  }

  set(pod: Pod, status: PodStatus): void {
    const uid = pod.metadata.uid ?? '';
    const slot = this.#slots.get(uid) ?? {
      pod,
      status,
      version: 0,
      writtenVersion: 0,
      writing: false,
      retryMs: firstRetryMs,
      apiSeen: false,
    };
    slot.pod = pod;
    slot.status = status;
    slot.version = ++this.#versions;
    this.#slots.set(uid, slot);
    if (!slot.writing && !this.#stop.signal.aborted) void this.#write(uid, slot);
  }

  /** The API showed this pod (an informer event): its status is what the next reconcile compares. */
  observed(pod: Pod): void {
    const slot = this.#slots.get(pod.metadata.uid ?? '');
    if (slot === undefined) return;
    slot.apiStatus = pod.status;
    slot.apiSeen = true;
  }

  /** Compares the API's copies with what was written every `periodMs`, until close(). */
  startReconciling(periodMs = reconcilePeriodMs): void {
    if (this.#reconcileTimer !== undefined || this.#stop.signal.aborted) return;
    const tick = () => {
      this.reconcile();
      if (!this.#stop.signal.aborted) this.#reconcileTimer = this.#clock.after(periodMs, tick);
    };
    this.#reconcileTimer = this.#clock.after(periodMs, tick);
  }

  /**
   * Writes again each status whose API copy lacks or contradicts it. A pod with a write pending or
   * in flight is skipped: that write brings the API up to date anyway.
   */
  reconcile(): void {
    for (const [uid, slot] of this.#slots) {
      if (!slot.apiSeen || slot.writing || slot.writtenVersion < slot.version) continue;
      if (!statusNeedsReconcile(slot.status, slot.apiStatus)) continue;
      this.#log.info(
        { pod: podKey(slot.pod) },
        'the API holds another status than the one last written; writing it again',
      );
      this.reconciles += 1;
      slot.version = ++this.#versions;
      if (!this.#stop.signal.aborted) void this.#write(uid, slot);
    }
  }

  /**
   * Stops writing and retrying (the agent is stopping): a failed write no longer waits and tries
   * again for ever, keeping the process alive; the next agent reports what it finds.
   */
  close(): void {
    this.#stop.abort();
    this.#reconcileTimer?.cancel();
    this.#changes.changed();
  }

  forget(uid: string): void {
    this.#slots.delete(uid);
    this.#changes.changed();
  }

  /**
   * Resolves when nothing is waiting to be written, or once the writer is closed (what is left
   * then is never written: waiting for it would never end).
   */
  async flushed(): Promise<void> {
    await this.#changes.until(
      () =>
        this.#stop.signal.aborted || ![...this.#slots.values()].some((s) => s.writing || s.writtenVersion < s.version),
    );
  }

  async #write(uid: string, slot: Slot): Promise<void> {
    slot.writing = true;
    while (this.#slots.get(uid) === slot && slot.writtenVersion < slot.version && !this.#stop.signal.aborted) {
      const version = slot.version;
      try {
        await this.#api.writeStatus(slot.pod, slot.status);
        this.writes += 1;
        this.#log.debug({ pod: podKey(slot.pod), phase: slot.status.phase }, 'pod status written');
        slot.writtenVersion = version;
        slot.retryMs = firstRetryMs;
        // the API's copy seen so far predates this write: compare again once its echo arrives
        slot.apiSeen = false;
      } catch (err) {
        this.#log.warn(
          { pod: podKey(slot.pod), err: (err as Error).message, retryMs: slot.retryMs },
          'pod status write failed',
        );
        const wait = slot.retryMs;
        slot.retryMs = Math.min(slot.retryMs * 2, maxRetryMs);
        await pause(this.#clock, wait, this.#stop.signal);
      }
    }
    slot.writing = false;
    this.#changes.changed();
  }
}
