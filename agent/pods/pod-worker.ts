/**
 * One pod's worker: keeps the pod's containers as its spec says, reports its status, and stops it
 * when it is deleted or has finished.
 *
 * Each sync observes the runtime, asks the planner what to do (planPod while the pod runs,
 * planTermination while it stops), has the executor do it, feeds every result back into what it
 * remembers (pod-memory.ts holds the failure policy), and computes the status. Updates to
 * the pod coalesce into one slot: the latest desired state wins, and a sync in progress is
 * followed by exactly one more. Besides updates, a sync happens when a probe result changes,
 * when a backoff ends, and every `resyncMs` (the runtime does not push container exits here).
 *
 * Lifecycle (one guarded transition function):
 *   running      the pod should run; containers are started and kept
 *   terminating  deleted, or finished for good: containers, sidecars and sandbox are being stopped
 *   terminated   everything is stopped; the final status is reported
 *   removed      the pod is gone from the API; its sandboxes and containers were removed
 * close() stops the worker without touching the containers (agent shutdown: they keep running
 * and a new worker re-adopts them).
 */
import type { Logger } from 'pino';
import { ChangeSignal } from '../../kube/change-signal.ts';
import type { Pod, PodStatus } from '../../kube/corev1.ts';
import type { Clock, TimerHandle } from '../../kube/clock.ts';
import type { ObservedPod } from './observed.ts';
import { PodExecutor, type ActionResult, type ExecutorDeps } from './pod-executor.ts';
import {
  afterAction,
  afterPlan,
  freshMemory,
  madeProgress,
  mustStop,
  podToSync,
  type FailureEvent,
  type PodMemory,
} from './pod-memory.ts';
import { computePodStatus, lastReportedReady, previousStatusOf } from './pod-status.ts';
import { planPod, type ContainerWait } from './planner.ts';
import { podUpdateNeedsSync } from './pod-update.ts';
import { findContainer, podKey } from './pod-containers.ts';
import { ProbeManager } from './probe-manager.ts';
import { RuntimeObserver } from './runtime-observer.ts';
import { planTermination, stepAfter, type TerminationStep } from './termination-plan.ts';

type PodWorkerPhase = 'running' | 'terminating' | 'terminated' | 'removed';

const transitions: Record<PodWorkerPhase, readonly PodWorkerPhase[]> = {
  running: ['terminating'],
  terminating: ['terminated'],
  terminated: ['removed'],
  removed: [],
};

export interface PodWorkerDeps extends ExecutorDeps {
  clock: Clock;
  log: Logger;
  /** When the agent process started (probe jitter after a restart). */
  agentStartedAt: number;
  /**
   * The runtime is known to hold nothing of this pod yet (new to the node since the agent listed
   * what runs): its first sync starts from an empty observation instead of listing, as the
   * kubelet's first sync of a new pod takes its status from the cache without a runtime call.
   */
  newToRuntime?: boolean;
  /** How often a pod is synced with nothing else happening (ms). Default 1000. */
  resyncMs?: number;
  random?: () => number;
  /** A new status to write (the status manager coalesces and writes it). */
  onStatus(pod: Pod, status: PodStatus): void;
  /** The deleted pod has nothing left running: the API object may go. */
  onTerminated?(pod: Pod): void;
}

interface SyncOutcome {
  /** The sync's actions all succeeded: the next sync follows at once. */
  progressed: boolean;
  /** When a backoff ends, if one does before the resync tick. */
  wakeAt?: number;
}

/** Consecutive syncs that made progress before the worker waits for the next tick anyway. */
const maxRoundsPerKick = 20;

export class PodWorker {
  readonly uid: string;
  readonly #deps: PodWorkerDeps;
  readonly #observer: RuntimeObserver;
  readonly #executor: PodExecutor;
  readonly #probes: ProbeManager;
  #pod: Pod;
  #phase: PodWorkerPhase = 'running';
  #observed: ObservedPod = { sandboxes: [], containers: [] };
  /** The next sync may skip observing the runtime: it holds nothing of the pod yet. */
  #knownEmpty: boolean;
  #status: PodStatus | undefined;
  #reported: string | undefined;
  /** Backoffs, the free sandbox attempt, and a stop the node asked for: what results left behind. */
  #memory: PodMemory = freshMemory;
  #terminationStartedAt = 0;
  #step: TerminationStep | undefined;
  #notifiedTerminated = false;
  #dirty = false;
  #loop: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #closed = false;
  /** Told on every phase transition and on close(): what remove() and stopped() wait on. */
  readonly #changes = new ChangeSignal();

  constructor(pod: Pod, deps: PodWorkerDeps) {
    this.uid = pod.metadata.uid ?? '';
    this.#pod = pod;
    this.#deps = deps;
    this.#knownEmpty = deps.newToRuntime === true;
    this.#observer = new RuntimeObserver(deps.runtime);
    this.#executor = new PodExecutor(deps);
    this.#probes = new ProbeManager({
      tools: { runtime: deps.runtime, network: deps.network, clock: deps.clock },
      clock: deps.clock,
      agentStartedAt: deps.agentStartedAt,
      ...(deps.random ? { random: deps.random } : {}),
      onChange: () => this.#kick(),
      nodeIP: deps.settings.nodeIP,
      onFailure: (container, kind, message) => {
        const probe = kind === 'liveness' ? 'Liveness' : kind === 'readiness' ? 'Readiness' : 'Startup';
        deps.events?.unhealthy(this.#pod, container, probe, message);
      },
    });
  }

  get phase(): PodWorkerPhase {
    return this.#phase;
  }

  get status(): PodStatus | undefined {
    return this.#status;
  }

  get observed(): ObservedPod {
    return this.#observed;
  }

  /** The termination step the pod waits on, while terminating. */
  get terminationStep(): string | undefined {
    return this.#step?.name;
  }

  /** Starts the worker (first sync). */
  start(): void {
    this.#kick();
  }

  /**
   * The pod's latest copy from the API. The worker syncs to it when it changes what the pod should
   * be (podUpdateNeedsSync); a new status alone (most often the one this node just wrote) is kept
   * for the next sync.
   */
  update(pod: Pod): void {
    if (pod.metadata.uid !== this.uid) throw new Error(`pod worker for ${this.uid} got pod ${pod.metadata.uid}`);
    const previous = this.#pod;
    this.#pod = pod;
    if (podUpdateNeedsSync(previous, pod)) this.#kick();
  }

  /** Resolves when no sync is running or pending. */
  async idle(): Promise<void> {
    while (this.#loop !== undefined) await this.#loop;
  }

  /**
   * The pod is gone from the API: stop what still runs (with the pod's grace period), then remove
   * its sandboxes and containers.
   */
  async remove(): Promise<void> {
    if (this.#phase === 'removed') return;
    if (this.#pod.metadata.deletionTimestamp === undefined) {
      this.#pod = {
        ...this.#pod,
        metadata: { ...this.#pod.metadata, deletionTimestamp: new Date(this.#deps.clock.now()).toISOString() },
      };
    }
    // the worker's own syncs (and resync ticks, after a failed one) carry termination through
    this.#kick();
    await this.#changes.until(() => this.#phase === 'terminated' || this.#closed);
    if (this.#closed) return;
    // the sync that finished termination reports the final status before anything is removed
    await this.idle();
    if (this.#closed) return;
    const observed = await this.#observer.observe(this.uid);
    await this.#executor.removeAll(observed);
    this.#transition('removed');
    this.close();
  }

  /**
   * The node stops the pod on its own: a hard eviction threshold (no grace) or the node shutting
   * down (the grace its shutdown phase allows). It ends in phase Failed with `reason` and
   * `message`. It is not deleted: the API keeps it, as upstream does, until its owner or a user
   * removes it.
   */
  evict(reason: string, message: string, graceSeconds = 0): void {
    if (this.#memory.nodeStop !== undefined || this.#phase !== 'running') return;
    this.#memory = { ...this.#memory, nodeStop: { reason, message, graceSeconds } };
    this.#kick();
  }

  get evicted(): boolean {
    return this.#memory.nodeStop !== undefined;
  }

  /**
   * Resolves true once everything of the pod has stopped (phase terminated or removed), false
   * when the worker is closed first or `timeoutMs` passes.
   */
  async stopped(timeoutMs: number): Promise<boolean> {
    const done = () => this.#phase === 'terminated' || this.#phase === 'removed';
    await this.#changes.until(() => done() || this.#closed, { clock: this.#deps.clock, ms: timeoutMs });
    return done();
  }

  /** Stops timers and probes; containers keep running. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#probes.close();
    this.#observer.forget();
    this.#changes.changed();
  }

  #transition(to: PodWorkerPhase): void {
    if (!transitions[this.#phase].includes(to)) {
      throw new Error(`pod ${podKey(this.#pod)}: no transition from ${this.#phase} to ${to}`);
    }
    this.#deps.log.info({ pod: podKey(this.#pod), from: this.#phase, to }, 'pod worker phase');
    this.#phase = to;
    this.#changes.changed();
  }

  #kick(): void {
    if (this.#closed) return;
    this.#dirty = true;
    if (this.#loop !== undefined) return;
    this.#loop = this.#runLoop().finally(() => {
      this.#loop = undefined;
    });
  }

  async #runLoop(): Promise<void> {
    let rounds = 0;
    let wakeAt: number | undefined;
    while (this.#dirty && !this.#closed) {
      this.#dirty = false;
      try {
        const outcome = await this.#sync();
        wakeAt = outcome.wakeAt;
        if (outcome.progressed && ++rounds < maxRoundsPerKick) this.#dirty = true;
      } catch (err) {
        // the runtime being unreachable is transient: nothing is concluded, the next tick retries
        this.#deps.log.warn({ pod: podKey(this.#pod), err: (err as Error).message }, 'pod sync failed');
      }
    }
    this.#scheduleWake(wakeAt);
  }

  #scheduleWake(wakeAt: number | undefined): void {
    if (this.#closed || this.#phase === 'removed') return;
    this.#timer?.cancel();
    const now = this.#deps.clock.now();
    const resync = now + (this.#deps.resyncMs ?? 1_000);
    const at = wakeAt !== undefined && wakeAt < resync ? wakeAt : resync;
    this.#timer = this.#deps.clock.after(at - now, () => this.#kick());
  }

  #report(waiting: ReadonlyMap<string, ContainerWait>): void {
    const status = computePodStatus({
      pod: this.#pod,
      observed: this.#observed,
      probes: this.#probes.views(),
      waiting,
      nodeIP: this.#deps.settings.nodeIP,
      now: this.#deps.clock.now(),
      previous: previousStatusOf(this.#status, this.#pod.status),
      terminal: this.#phase === 'terminated',
      initFailed: this.#memory.initFailed,
      runtimeName: this.#deps.settings.runtimeName,
      ...(this.#phase === 'terminating' && this.#step !== undefined
        ? { termination: { step: this.#step.name, deadline: this.#step.deadline } }
        : {}),
      stoppedByNode: this.#memory.nodeStop,
    });
    this.#status = status;
    const text = JSON.stringify(status);
    if (text === this.#reported) return;
    this.#reported = text;
    this.#deps.onStatus(this.#pod, status);
  }

  async #sync(): Promise<SyncOutcome> {
    if (this.#phase === 'removed') return { progressed: false };
    // read once: a stop asked for while this sync awaits must not start termination with the pod's own grace
    const memory = this.#memory;
    const pod = podToSync(this.#pod, memory);
    const now = this.#deps.clock.now();
    // only the first sync of a pod new to the node: everything after it was asked of the runtime
    this.#observed = this.#knownEmpty ? { sandboxes: [], containers: [] } : await this.#observer.observe(this.uid);
    this.#knownEmpty = false;
    this.#probes.reconcile(pod, this.#observed, (name, id) =>
      lastReportedReady(this.#pod, this.#deps.settings.runtimeName, name, id),
    );

    if (this.#phase === 'running' && mustStop(pod, memory)) this.#beginTermination(now);
    if (this.#phase === 'running') {
      const outcome = await this.#syncRunning(pod, now);
      if (outcome !== undefined) return outcome;
    }

    if (this.#phase === 'terminating') {
      const plan = planTermination({
        pod,
        observed: this.#observed,
        startedAt: this.#terminationStartedAt,
        now,
        ...(this.#step !== undefined ? { previousStep: this.#step } : {}),
      });
      this.#step = stepAfter(this.#step, plan, now);
      if (plan.step === 'done') this.#transition('terminated');
      else {
        this.#deps.log.info({ pod: podKey(pod), step: plan.step, escalated: plan.escalated }, 'terminating');
        this.#report(new Map());
        return { progressed: madeProgress(await this.#executor.runTermination(pod, this.#observed, plan.actions)) };
      }
    }

    // terminated: report the final status; a deleted pod may now leave the API
    this.#report(new Map());
    if (pod.metadata.deletionTimestamp !== undefined && !this.#notifiedTerminated) {
      this.#notifiedTerminated = true;
      this.#deps.onTerminated?.(pod);
    }
    return { progressed: false };
  }

  /** One round while the pod runs. Undefined when the pod has completed: its termination began. */
  async #syncRunning(pod: Pod, now: number): Promise<SyncOutcome | undefined> {
    const plan = planPod({
      pod,
      observed: this.#observed,
      health: this.#probes.views(),
      crashLoops: this.#memory.crashLoops,
      startFailures: this.#memory.startFailures,
      now,
      sandboxAttemptFloor: this.#memory.sandboxAttemptFloor,
    });
    this.#memory = afterPlan(this.#memory, plan);
    if (plan.completed) {
      this.#beginTermination(now);
      return undefined;
    }
    const waiting = new Map(plan.waiting);
    this.#reportBackOffs(pod, plan.waiting);
    const results: ActionResult[] = [];
    for (const action of plan.actions) {
      const result = await this.#executor.run(pod, this.#observed, action);
      results.push(result);
      const outcome = afterAction(this.#memory, action, result, this.#deps.clock.now());
      this.#memory = outcome.memory;
      if (outcome.wait !== undefined) waiting.set(outcome.wait.container, outcome.wait.wait);
      if (outcome.event !== undefined) this.#record(pod, outcome.event);
      if (outcome.halt) break;
    }
    const progressed = madeProgress(results);
    // after progress the next sync follows at once and reports what it observes then; otherwise
    // report now, with what the failed or waiting actions left behind
    if (!progressed) {
      if (plan.actions.length > 0) this.#observed = await this.#observer.observe(this.uid);
      this.#report(waiting);
    }
    return { progressed, ...(plan.wakeAt !== undefined ? { wakeAt: plan.wakeAt } : {}) };
  }

  #record(pod: Pod, event: FailureEvent): void {
    if (event.kind === 'sandboxFailed') this.#deps.events?.failedCreateSandbox(pod, event.message);
    else this.#deps.events?.startFailed(pod, event.container, event.reason, event.message);
  }

  /** BackOff events for containers waiting out a crash loop or an image pull backoff (the correlator counts repeats). */
  #reportBackOffs(pod: Pod, waiting: ReadonlyMap<string, ContainerWait>): void {
    const events = this.#deps.events;
    if (events === undefined) return;
    for (const [name, wait] of waiting) {
      if (wait.reason !== 'CrashLoopBackOff' && wait.reason !== 'ImagePullBackOff') continue;
      const image = findContainer(pod, name)?.spec.image ?? '';
      events.backOff(pod, name, wait.reason, image);
    }
  }

  #beginTermination(now: number): void {
    this.#terminationStartedAt = now;
    this.#transition('terminating');
  }
}
