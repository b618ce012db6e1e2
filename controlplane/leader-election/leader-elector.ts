/**
 * One candidate for one Lease (kube-system/kube-scheduler, kube-system/kube-controller-manager):
 * reads the lease every retry period, writes its hold when `planAttempt` says so, and calls
 * `onStartedLeading` / `onStoppedLeading` as leadership comes and goes. It keeps campaigning after
 * a loss, so a leader cut off from the datastore comes back as a standby once it heals.
 *
 * It also watches the lease, when its client can: a standby then sees each renewal within
 * milliseconds instead of at its next read, so the lease it counts (by its own clock, from when it
 * saw the change, as upstream) starts at the renewal itself, and it makes its attempt at the very
 * moment that lease runs out. A holder killed just after renewing is thus replaced one lease
 * duration after that renewal, where polling alone added up to a jittered retry period (2.2 s by
 * default) for the sighting and more for the attempt. Polling goes on beside the watch, so a watch
 * that breaks costs only speed; it is opened again a retry period later.
 *
 * `isLeader()` reads the clock on every call: a component that checks it before each write stops
 * writing at the renew deadline even when the loop itself is stuck on a request that hangs.
 *
 * Lifecycle: the constructor does nothing; `run(signal)` campaigns until the signal aborts, then
 * (when leading) gives the lease up so a standby takes over at once, and resolves.
 */
import type { Logger } from 'pino';
import { pause, type Clock, type TimerHandle } from '../../kube/clock.ts';
import type { Lease } from '../../kube/corev1.ts';
import { isApiError } from '../../kube/errors.ts';
import { acquireJitterFactor, type LeaderElectionTimings } from './election-config.ts';
import {
  attemptDueIn,
  initialElectorState,
  isLeading,
  observe,
  planAttempt,
  releasedLease,
  renewed,
  standbyWait,
  stoppedLeading,
  type ElectorState,
} from './elector-state.ts';

/** The Lease calls an elector makes; an adapter over KubeClient provides them. */
export interface LeaseClient {
  /** undefined when the lease does not exist. */
  get(namespace: string, name: string): Promise<Lease | undefined>;
  /** Fails with ApiError AlreadyExists when another candidate created it first. */
  create(lease: Lease): Promise<Lease>;
  /** Fails with ApiError Conflict when the lease changed since it was read. */
  update(lease: Lease): Promise<Lease>;
  /**
   * The lease as it is now, then each change (undefined: deleted), until `signal` aborts or the
   * watch breaks (it then ends or throws). Optional: without it the candidate polls only.
   */
  watch?(namespace: string, name: string, signal: AbortSignal): AsyncIterable<Lease | undefined>;
}

/** The wait before the next attempt, which a watched change can shorten. */
interface NextAttempt {
  due: number;
  timer: TimerHandle;
  readonly fire: () => void;
}

interface LeaderElectorOptions {
  readonly namespace: string;
  readonly name: string;
  /** `<hostname>_<uuid>`: unique per process, readable by a person. */
  readonly identity: string;
  readonly timings: LeaderElectionTimings;
  readonly leases: LeaseClient;
  readonly clock: Clock;
  readonly logger?: Logger;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
  /** Jitter source for standbys (tests pin it). */
  readonly random?: () => number;
}

export class LeaderElector {
  readonly #options: LeaderElectorOptions;
  #state: ElectorState = initialElectorState;
  #leading = false;
  #deadline: TimerHandle | undefined;
  /** Set while the runner waits between attempts; undefined while an attempt is under way. */
  #next: NextAttempt | undefined;
  readonly #firstRound = Promise.withResolvers<void>();

  constructor(options: LeaderElectorOptions) {
    this.#options = options;
  }

  get identity(): string {
    return this.#options.identity;
  }

  /** Whether this candidate leads right now (by the clock, not by the last loop turn). */
  isLeader(): boolean {
    return isLeading(this.#state, this.#options.timings, this.#options.clock.now());
  }

  /** Resolves after the first attempt: leading by then, or a standby that has seen the holder. */
  get firstRound(): Promise<void> {
    return this.#firstRound.promise;
  }

  /** The holder this candidate last saw (itself when leading), for logs and status. */
  observedHolder(): string | undefined {
    return this.#state.observed?.lease.spec?.holderIdentity || undefined;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { clock, timings } = this.#options;
    const random = this.#options.random ?? Math.random;
    const watching = this.#watch(signal);
    while (!signal.aborted) {
      await this.#attempt();
      this.#announce();
      this.#firstRound.resolve();
      const wait = this.#leading
        ? timings.retryPeriodMs
        : standbyWait(
            this.#state,
            this.#options.identity,
            timings.retryPeriodMs * (1 + random() * acquireJitterFactor),
            clock.now(),
          );
      await this.#waitForNextAttempt(wait, signal);
    }
    this.#firstRound.resolve();
    await watching;
    await this.#release();
  }

  /** Waits `ms`, or less when the signal aborts or a watched change brings the attempt forward. */
  #waitForNextAttempt(ms: number, signal: AbortSignal): Promise<void> {
    const { clock } = this.#options;
    return new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const fire = () => {
        this.#next?.timer.cancel();
        this.#next = undefined;
        signal.removeEventListener('abort', fire);
        resolve();
      };
      this.#next = { due: clock.now() + ms, timer: clock.after(ms, fire), fire };
      signal.addEventListener('abort', fire, { once: true });
    });
  }

  /** Follows the lease's changes between attempts; a broken watch is opened again a retry period later. */
  async #watch(signal: AbortSignal): Promise<void> {
    const { namespace, name, leases, clock, timings, logger } = this.#options;
    if (leases.watch === undefined) return;
    while (!signal.aborted) {
      try {
        for await (const lease of leases.watch(namespace, name, signal)) this.#watched(lease);
      } catch (err) {
        if (!signal.aborted)
          logger?.debug({ err: (err as Error).message, lease: `${namespace}/${name}` }, 'lease watch broke; polling');
      }
      await pause(clock, timings.retryPeriodMs, signal);
    }
  }

  /** A change seen through the watch: noted, and the next attempt moved to when it can succeed. */
  #watched(lease: Lease | undefined): void {
    const { clock, identity } = this.#options;
    const before = this.#state;
    this.#state = observe(this.#state, lease, clock.now());
    const next = this.#next;
    if (this.#state === before || next === undefined) return;
    const dueIn = attemptDueIn(this.#state, identity, clock.now());
    if (dueIn === undefined || clock.now() + dueIn >= next.due) return;
    next.timer.cancel();
    next.due = clock.now() + dueIn;
    next.timer = clock.after(dueIn, next.fire);
  }

  /** One read-decide-write round; failures are logged and judged by the deadline, never thrown. */
  async #attempt(): Promise<void> {
    const { namespace, name, identity, timings, leases, clock, logger } = this.#options;
    const startedAt = clock.now();
    try {
      const read = await leases.get(namespace, name);
      // the state as it is after the read: the watch may have moved it meanwhile
      this.#state = observe(this.#state, read, clock.now());
      const write = planAttempt(this.#state, { namespace, name, identity, timings }, startedAt);
      if (write.kind === 'none') {
        // another candidate holds a valid lease: whatever this one believed, it does not lead
        if (this.#state.renewedAt !== undefined) this.#state = stoppedLeading(this.#state);
        return;
      }
      const written = write.kind === 'create' ? await leases.create(write.lease) : await leases.update(write.lease);
      this.#state = renewed(written, startedAt);
    } catch (err) {
      // a Conflict or AlreadyExists means another candidate wrote first: read again next round
      if (!isApiError(err, 'Conflict') && !isApiError(err, 'AlreadyExists'))
        logger?.warn({ err: (err as Error).message, lease: `${namespace}/${name}` }, 'leader election attempt failed');
    }
  }

  /** Calls the callbacks when leadership changed, and arms the deadline that ends it without a renewal. */
  #announce(): void {
    const now = this.isLeader();
    this.#deadline?.cancel();
    this.#deadline = undefined;
    if (now) {
      const left = this.#options.timings.renewDeadlineMs - (this.#options.clock.now() - this.#state.renewedAt!);
      this.#deadline = this.#options.clock.after(left, () => this.#announce());
    } else if (this.#state.renewedAt !== undefined) {
      this.#state = stoppedLeading(this.#state);
    }
    if (now === this.#leading) return;
    this.#leading = now;
    const lease = `${this.#options.namespace}/${this.#options.name}`;
    if (now) {
      this.#options.logger?.info({ lease, identity: this.#options.identity }, 'became leader');
      this.#options.onStartedLeading();
    } else {
      this.#options.logger?.warn({ lease, identity: this.#options.identity }, 'stopped leading');
      this.#options.onStoppedLeading();
    }
  }

  /** On a graceful stop, a leader steps down so that a standby need not wait out the lease. */
  async #release(): Promise<void> {
    this.#deadline?.cancel();
    const wasLeading = this.isLeader();
    const held = this.#state.observed?.lease;
    this.#state = stoppedLeading(this.#state);
    if (this.#leading) {
      this.#leading = false;
      this.#options.onStoppedLeading();
    }
    if (!wasLeading || held === undefined) return;
    try {
      await this.#options.leases.update(releasedLease(held, this.#options.clock.now()));
    } catch (err) {
      this.#options.logger?.warn({ err: (err as Error).message }, 'could not release the lease; it will expire');
    }
  }
}
