/**
 * Pods waiting for a node. Three places, as in kube-scheduler:
 *  - active: ready to try now, highest priority first, then first come first served;
 *  - backoff: failed recently, may retry once their backoff (1 s doubling to 10 s) has passed;
 *  - unschedulable: fit nowhere; they wait until the cluster changes (a node or pod event calls
 *    `clusterChanged`) or for at most 5 minutes, then go back through backoff.
 * The clock is injected; nothing here starts timers. `nextWakeAt` tells the loop when to look again.
 */
import type { Clock } from '../../kube/clock.ts';
import type { Pod } from '../../kube/corev1.ts';
import { podKey } from './cluster-state.ts';

interface QueueOptions {
  readonly clock: Pick<Clock, 'now'>;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly maxUnschedulableMs?: number;
}

interface Waiting {
  pod: Pod;
  since: number;
}

export class SchedulingQueue {
  readonly #options: Required<QueueOptions>;
  /** priority → pods in arrival order. */
  readonly #active = new Map<number, Map<string, Pod>>();
  #priorities: number[] = [];
  readonly #backoff = new Map<string, Waiting>();
  readonly #unschedulable = new Map<string, Waiting>();
  readonly #attempts = new Map<string, number>();

  constructor(options: QueueOptions) {
    this.#options = { initialBackoffMs: 1000, maxBackoffMs: 10_000, maxUnschedulableMs: 5 * 60_000, ...options };
  }

  get size(): number {
    let active = 0;
    for (const bucket of this.#active.values()) active += bucket.size;
    return active + this.#backoff.size + this.#unschedulable.size;
  }

  has(key: string): boolean {
    return this.#where(key) !== undefined;
  }

  #where(key: string): 'active' | 'backoff' | 'unschedulable' | undefined {
    if (this.#backoff.has(key)) return 'backoff';
    if (this.#unschedulable.has(key)) return 'unschedulable';
    for (const bucket of this.#active.values()) if (bucket.has(key)) return 'active';
    return undefined;
  }

  #pushActive(pod: Pod): void {
    const priority = pod.spec.priority ?? 0;
    let bucket = this.#active.get(priority);
    if (bucket === undefined) {
      this.#active.set(priority, (bucket = new Map()));
      this.#priorities = [...this.#active.keys()].sort((a, b) => b - a);
    }
    bucket.set(podKey(pod), pod);
  }

  /** A new or changed pending pod. A change to a waiting pod's spec may make it fit: retry it. */
  add(pod: Pod): void {
    const key = podKey(pod);
    const where = this.#where(key);
    if (where === 'active') {
      this.#pushActive(pod);
      return;
    }
    if (where !== undefined) {
      const waiting = (where === 'backoff' ? this.#backoff : this.#unschedulable).get(key)!;
      const specChanged = JSON.stringify(waiting.pod.spec) !== JSON.stringify(pod.spec);
      waiting.pod = pod;
      if (!specChanged) return;
      this.#backoff.delete(key);
      this.#unschedulable.delete(key);
    }
    this.#pushActive(pod);
  }

  remove(key: string): void {
    this.#backoff.delete(key);
    this.#unschedulable.delete(key);
    this.#attempts.delete(key);
    for (const bucket of this.#active.values()) bucket.delete(key);
  }

  #backoffFor(key: string): number {
    const attempts = this.#attempts.get(key) ?? 1;
    return Math.min(this.#options.maxBackoffMs, this.#options.initialBackoffMs * 2 ** (attempts - 1));
  }

  /** The pod fit nowhere: park it until the cluster changes. */
  parkUnschedulable(pod: Pod): void {
    const key = podKey(pod);
    this.#attempts.set(key, (this.#attempts.get(key) ?? 0) + 1);
    this.#unschedulable.set(key, { pod, since: this.#options.clock.now() });
  }

  /** Something transient failed (binding, an API error): retry after the backoff. */
  retryLater(pod: Pod): void {
    const key = podKey(pod);
    this.#attempts.set(key, (this.#attempts.get(key) ?? 0) + 1);
    this.#backoff.set(key, { pod, since: this.#options.clock.now() });
  }

  /** A node or pod changed in a way that may let parked pods fit: move them towards active. */
  clusterChanged(): void {
    const now = this.#options.clock.now();
    for (const [key, waiting] of this.#unschedulable) {
      this.#unschedulable.delete(key);
      this.#backoff.set(key, { pod: waiting.pod, since: waiting.since });
    }
    this.#promote(now);
  }

  #promote(now: number): void {
    for (const [key, waiting] of this.#unschedulable) {
      if (waiting.since + this.#options.maxUnschedulableMs <= now) {
        this.#unschedulable.delete(key);
        this.#backoff.set(key, waiting);
      }
    }
    for (const [key, waiting] of this.#backoff) {
      if (waiting.since + this.#backoffFor(key) <= now) {
        this.#backoff.delete(key);
        this.#pushActive(waiting.pod);
      }
    }
  }

  /** The next pod to try, or undefined when none is ready now. */
  pop(): Pod | undefined {
    this.#promote(this.#options.clock.now());
    for (const priority of this.#priorities) {
      const bucket = this.#active.get(priority)!;
      const first = bucket.entries().next();
      if (!first.done) {
        bucket.delete(first.value[0]);
        return first.value[1];
      }
    }
    return undefined;
  }

  /** When a waiting pod next becomes ready by time alone (undefined: only events can help). */
  nextWakeAt(): number | undefined {
    let next: number | undefined;
    const consider = (at: number) => {
      if (next === undefined || at < next) next = at;
    };
    for (const [key, waiting] of this.#backoff) consider(waiting.since + this.#backoffFor(key));
    for (const waiting of this.#unschedulable.values()) consider(waiting.since + this.#options.maxUnschedulableMs);
    return next;
  }

  /** Forget a pod's failures once it is bound. */
  done(key: string): void {
    this.remove(key);
  }
}
