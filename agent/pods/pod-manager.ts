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
import type { ShutdownKill, ShutdownPod } from '../shutdown/shutdown-plan.ts';
import { admitPod, type Admission, type AdmissionNode } from './admission.ts';
import { criLabel, managedSelector } from './cri-labels.ts';
import { podKey } from './pod-containers.ts';
import { PodWorker, type PodWorkerDeps } from './pod-worker.ts';
import { StatusWriter, type PodApi } from './status-writer.ts';

type PodManagerDeps = Omit<PodWorkerDeps, 'onStatus' | 'onTerminated'> & {
  api: PodApi;
  log: Logger;
  /** The node as admission sees it now; without it every pod is admitted. */
  admissionNode?: () => AdmissionNode | undefined;
};

/** The time a CRI stop may take beyond the grace it was given, before a shutdown phase moves on. */
const shutdownSlackSeconds = 2;

/** Phases after which the kubelet never runs a pod again. */
const finalPhases = new Set(['Succeeded', 'Failed']);

export class PodManager {
  readonly #deps: PodManagerDeps;
  readonly #workers = new Map<string, PodWorker>();
  /** Admitted pods by UID, as last seen (what admission counts as the node's load). */
  readonly #admitted = new Map<string, Pod>();
  /** Pods refused at admission: never started, their Failed status written once. */
  readonly #rejected = new Set<string>();
  /** UIDs that have sandboxes in the runtime: running pods are never admitted again. */
  #adopted = new Set<string>();
  /** loadAdopted() listed the runtime: a pod not adopted and never given a worker has nothing there. */
  #adoptedLoaded = false;
  /** UIDs whose worker went away without removing everything of its pod from the runtime. */
  readonly #leftBehind = new Set<string>();
  #closed = false;
  readonly statuses: StatusWriter;

  constructor(deps: PodManagerDeps) {
    this.#deps = deps;
    this.statuses = new StatusWriter(deps.api, deps.clock, deps.log);
  }

  get workers(): ReadonlyMap<string, PodWorker> {
    return this.#workers;
  }

  /**
   * Notes the pods the runtime already runs, so that after an agent restart they are adopted
   * without being admitted again (a running pod is never refused because the agent restarted).
   * Call it before the first pod arrives.
   */
  async loadAdopted(): Promise<void> {
    const sandboxes = await this.#deps.runtime.listPodSandbox({ labelSelector: managedSelector });
    this.#adopted = new Set(sandboxes.map((s) => s.labels[criLabel.podUid] ?? '').filter((uid) => uid !== ''));
    this.#adoptedLoaded = true;
  }

  #admit(pod: Pod): Admission {
    const node = this.#deps.admissionNode?.();
    const uid = pod.metadata.uid ?? '';
    if (node === undefined || pod.metadata.deletionTimestamp !== undefined) return { admit: true };
    if (this.#adopted.has(uid) || pod.status?.phase === 'Running') return { admit: true };
    // pods that finished (their worker terminated) no longer hold resources
    const load = [...this.#admitted.entries()]
      .filter(([other]) => other !== uid && this.#workers.get(other)?.phase !== 'terminated')
      .map(([, p]) => p);
    return admitPod(pod, node, load);
  }

  /** A pod bound to this node was added or changed. */
  upsert(pod: Pod): void {
    const uid = pod.metadata.uid ?? '';
    this.statuses.observed(pod);
    const existing = this.#workers.get(uid);
    if (existing !== undefined) {
      this.#admitted.set(uid, pod);
      return existing.update(pod);
    }
    if (this.#rejected.has(uid)) {
      // nothing runs for it: a deletion can let the object go at once
      if (pod.metadata.deletionTimestamp !== undefined) void this.#letGo(pod);
      return;
    }
    // a pod the API already shows finished is not started again (also after an agent restart)
    if (finalPhases.has(pod.status?.phase ?? '') && pod.metadata.deletionTimestamp === undefined) return;
    const verdict = this.#admit(pod);
    if (!verdict.admit) {
      this.#rejected.add(uid);
      this.#deps.log.info({ pod: podKey(pod), reason: verdict.reason }, verdict.message);
      this.statuses.set(pod, { phase: 'Failed', reason: verdict.reason, message: verdict.message });
      return;
    }
    this.#admitted.set(uid, pod);
    this.#deps.log.debug({ pod: podKey(pod) }, 'pod worker started');
    // what the runtime held at start is known, and since then each pod's sandboxes were made by its
    // worker and removed by it: a pod with neither has nothing there
    const newToRuntime = this.#adoptedLoaded && !this.#adopted.has(uid) && !this.#leftBehind.has(uid);
    const worker = new PodWorker(pod, {
      ...this.#deps,
      newToRuntime,
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
    this.#admitted.delete(uid);
    this.#rejected.delete(uid);
    if (worker === undefined) return;
    try {
      await worker.remove();
    } finally {
      if (worker.phase !== 'removed') this.#leftBehind.add(uid);
    }
    this.#workers.delete(uid);
  }

  async #letGo(pod: Pod): Promise<void> {
    // a stopped pod no longer takes the node's resources
    this.#admitted.delete(pod.metadata.uid ?? '');
    await this.statuses.flushed();
    // closed before its final status was written: the object stays for the next agent to report on
    if (this.#closed) return;
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

  /** Pods the eviction manager may choose from: running here, not terminating, not evicted. */
  evictionCandidates(): Pod[] {
    return [...this.#workers.values()]
      .filter((w) => w.phase === 'running' && !w.evicted && this.#admitted.has(w.uid))
      .map((w) => this.#admitted.get(w.uid)!)
      .filter((p) => p.metadata.deletionTimestamp === undefined);
  }

  /**
   * Evicts one pod (hard eviction threshold): killed at once, phase Failed with reason Evicted,
   * an Evicted event. Resolves once its containers stopped (or `timeoutMs` passed); false when
   * there is no such running pod.
   */
  async evict(uid: string, message: string, timeoutMs = 30_000): Promise<boolean> {
    const pod = this.#stoppable(uid);
    if (pod === undefined) return false;
    this.#deps.log.warn({ pod: podKey(pod) }, message);
    this.#deps.events?.evicted(pod, message);
    await this.#stopOnItsOwn(uid, { reason: 'Evicted', message, graceSeconds: 0 }, timeoutMs);
    return true;
  }

  /** Pods graceful node shutdown stops: every pod admitted here, with what orders its stop. */
  shutdownCandidates(): ShutdownPod[] {
    return [...this.#workers.values()]
      .filter((w) => this.#admitted.has(w.uid))
      .map((w) => {
        const pod = this.#admitted.get(w.uid)!;
        return {
          uid: w.uid,
          namespace: pod.metadata.namespace ?? 'default',
          name: pod.metadata.name ?? '',
          ...(pod.spec.priorityClassName !== undefined ? { priorityClassName: pod.spec.priorityClassName } : {}),
          ...(pod.spec.terminationGracePeriodSeconds !== undefined
            ? { terminationGracePeriodSeconds: pod.spec.terminationGracePeriodSeconds }
            : {}),
          // a pod whose worker already stopped it is done, whatever the API shows yet
          ...(w.phase !== 'running' ? { phase: 'Succeeded' } : {}),
        };
      });
  }

  /**
   * Stops a pod because the node shuts down: within `kill.gracePeriodSeconds`, ending with
   * `kill.status` (Failed, Terminated). Resolves once its containers stopped, or a little after
   * its grace ran out.
   */
  async stopForShutdown(kill: ShutdownKill): Promise<void> {
    const pod = this.#stoppable(kill.uid);
    if (pod === undefined) return;
    this.#deps.log.info(
      { pod: podKey(pod), gracePeriodSeconds: kill.gracePeriodSeconds },
      'stopping the pod: the node is shutting down',
    );
    await this.#stopOnItsOwn(
      kill.uid,
      { reason: kill.status.reason, message: kill.status.message, graceSeconds: kill.gracePeriodSeconds },
      (kill.gracePeriodSeconds + shutdownSlackSeconds) * 1000,
    );
  }

  /** The pod, when it runs here and nothing stops it yet. */
  #stoppable(uid: string): Pod | undefined {
    const worker = this.#workers.get(uid);
    const pod = this.#admitted.get(uid);
    if (worker === undefined || pod === undefined || worker.phase !== 'running' || worker.evicted) return undefined;
    return pod;
  }

  async #stopOnItsOwn(
    uid: string,
    why: { reason: string; message: string; graceSeconds: number },
    timeoutMs: number,
  ): Promise<void> {
    const worker = this.#workers.get(uid)!;
    worker.evict(why.reason, why.message, why.graceSeconds);
    // a stopped pod no longer takes the node's resources
    if ((await worker.stopped(timeoutMs)) && worker.phase === 'terminated') this.#admitted.delete(uid);
  }

  /** Stops all workers and status writes; containers keep running for the next agent to adopt. */
  close(): void {
    this.#closed = true;
    for (const worker of this.#workers.values()) worker.close();
    this.statuses.close();
  }
}
