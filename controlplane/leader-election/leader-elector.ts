/**
 * One candidate for one Lease (kube-system/kube-scheduler, kube-system/kube-controller-manager):
 * reads the lease every retry period, writes its hold when `planAttempt` says so, and calls
 * `onStartedLeading` / `onStoppedLeading` as leadership comes and goes. It keeps campaigning after
 * a loss, so a leader cut off from the datastore comes back as a standby once it heals.
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
      await pause(clock, wait, signal);
    }
    this.#firstRound.resolve();
    await this.#release();
  }

  /** One read-decide-write round; failures are logged and judged by the deadline, never thrown. */
  async #attempt(): Promise<void> {
    const { namespace, name, identity, timings, leases, clock, logger } = this.#options;
    const startedAt = clock.now();
    try {
      this.#state = observe(this.#state, await leases.get(namespace, name), clock.now());
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
