/**
 * The node's pods: one PodWorker per pod bound to this node, fed from the API's pod events, with
 * statuses written through the StatusWriter and deleted pods let go once their containers
 * stopped. On start it also removes what the runtime holds for pods that no longer exist
 * (garbage collection of bosun-managed sandboxes only; nothing else on the runtime is touched).
 *
 * The seam to the API is small: pod events in (upsert/remove, from an informer watching
 * `spec.nodeName=<node>`), and PodApi out.
 */
import type { Logger } from 'pino';
import type { Pod } from '../../kube/corev1.ts';
import { criLabel, managedSelector } from './cri-labels.ts';
import { podKey } from './pod-containers.ts';
import { PodWorker, type PodWorkerDeps } from './pod-worker.ts';
import { StatusWriter, type PodApi } from './status-writer.ts';

export type PodManagerDeps = Omit<PodWorkerDeps, 'onStatus' | 'onTerminated'> & { api: PodApi; log: Logger };

/** Phases after which the kubelet never runs a pod again. */
const finalPhases = new Set(['Succeeded', 'Failed']);

export class PodManager {
  readonly #deps: PodManagerDeps;
  readonly #workers = new Map<string, PodWorker>();
  readonly statuses: StatusWriter;

  constructor(deps: PodManagerDeps) {
    this.#deps = deps;
    this.statuses = new StatusWriter(deps.api, deps.clock, deps.log);
  }

  get workers(): ReadonlyMap<string, PodWorker> {
    return this.#workers;
  }

  /** A pod bound to this node was added or changed. */
  upsert(pod: Pod): void {
    const uid = pod.metadata.uid ?? '';
    const existing = this.#workers.get(uid);
    if (existing !== undefined) return existing.update(pod);
    // a pod the API already shows finished is not started again (also after an agent restart)
    if (finalPhases.has(pod.status?.phase ?? '') && pod.metadata.deletionTimestamp === undefined) return;
    const worker = new PodWorker(pod, {
      ...this.#deps,
      onStatus: (p, status) => this.statuses.set(p, status),
      onTerminated: (p) => void this.#letGo(p),
    });
    this.#workers.set(uid, worker);
    worker.start();
  }

  /** The pod is gone from the API (deleted for good, or no longer bound here). */
  async remove(pod: Pod): Promise<void> {
    const uid = pod.metadata.uid ?? '';
    const worker = this.#workers.get(uid);
    this.statuses.forget(uid);
    if (worker === undefined) return;
    await worker.remove();
    this.#workers.delete(uid);
  }

  async #letGo(pod: Pod): Promise<void> {
    await this.statuses.flushed();
    try {
      await this.#deps.api.deletePod(pod);
    } catch (err) {
      this.#deps.log.warn({ pod: podKey(pod), err: (err as Error).message }, 'could not delete the terminated pod');
    }
  }

  /**
   * Removes sandboxes (and their containers) that bosun created for pods not in `knownUids`.
   * Call it once the pod list is complete (informer synced).
   */
  async collectGarbage(knownUids: ReadonlySet<string>): Promise<string[]> {
    const { runtime } = this.#deps;
    const removed: string[] = [];
    for (const sandbox of await runtime.listPodSandbox({ labelSelector: managedSelector })) {
      const uid = sandbox.labels[criLabel.podUid] ?? '';
      if (uid === '' || knownUids.has(uid) || this.#workers.has(uid)) continue;
      await runtime.stopPodSandbox(sandbox.id).catch(() => undefined);
      await runtime.removePodSandbox(sandbox.id);
      removed.push(sandbox.id);
    }
    return removed;
  }

  /** Stops all workers; containers keep running for the next agent to adopt. */
  close(): void {
    for (const worker of this.#workers.values()) worker.close();
  }
}
