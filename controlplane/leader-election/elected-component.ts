/**
 * Runs one component of the control plane (the scheduler, or the controllers) only while this
 * process leads its Lease, as kube-scheduler and kube-controller-manager run with --leader-elect:
 * started when leadership comes, stopped when it goes, started again (fresh caches) when it comes
 * back. The component writes through a fenced client, so whatever it still tries between the loss
 * and its stop is refused before it reaches the API.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../kube/clock.ts';
import type { ClusterClient } from '../controllers/client.ts';
import type { LeaderElectionTimings } from './election-config.ts';
import { fencedClient, writeFence } from './fenced-client.ts';
import { LeaderElector, type LeaseClient } from './leader-elector.ts';

interface Stoppable {
  stop(): Promise<void>;
}

interface ElectedComponentOptions {
  /** The Lease's name in kube-system: `kube-scheduler` or `kube-controller-manager`. */
  readonly lease: string;
  readonly identity: string;
  readonly timings: LeaderElectionTimings;
  readonly leases: LeaseClient;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** The component's unfenced client; it gets a fenced one. */
  readonly client: ClusterClient;
  /**
   * Starts the component with the fenced client. `signal` aborts when the start is no longer wanted
   * (it may then fail or return something to stop); `fence` is the check for the writes it makes
   * some other way (the autoscaler's scale subresource writes).
   */
  readonly start: (client: ClusterClient, signal: AbortSignal, fence: () => void) => Promise<Stoppable>;
}

const leaderElectionNamespace = 'kube-system';

export class ElectedComponent {
  readonly elector: LeaderElector;
  readonly #options: ElectedComponentOptions;
  /** Starts and stops run one after the other, in the order leadership changed. */
  #transitions: Promise<void> = Promise.resolve();
  #running: Stoppable | undefined;
  /** The start under way: aborted when leadership goes or the component ends, so a stop need not wait for it. */
  #starting: AbortController | undefined;
  #ended = false;

  /** The Lease's name in kube-system. */
  get lease(): string {
    return this.#options.lease;
  }

  constructor(options: ElectedComponentOptions) {
    this.#options = options;
    this.elector = new LeaderElector({
      namespace: leaderElectionNamespace,
      name: options.lease,
      identity: options.identity,
      timings: options.timings,
      leases: options.leases,
      clock: options.clock,
      ...(options.logger ? { logger: options.logger } : {}),
      onStartedLeading: () => this.#then(() => this.#start()),
      onStoppedLeading: () => {
        this.#starting?.abort();
        this.#then(() => this.#stop());
      },
    });
  }

  /** Campaigns until `signal` aborts; then stops the component and gives the lease up. */
  async run(signal: AbortSignal): Promise<void> {
    await this.elector.run(signal);
    this.#ended = true;
    this.#starting?.abort();
    this.#then(() => this.#stop());
    await this.#transitions;
  }

  /**
   * Queues a start or stop after the ones before it. A step that fails is logged and the queue goes
   * on: a rejected link would skip every later start (no loops anywhere while this server leads)
   * and surface as an unhandled rejection, which ends the process.
   */
  #then(step: () => Promise<void>): void {
    this.#transitions = this.#transitions.then(step).catch((err: unknown) => {
      this.#options.logger?.error(
        { err: (err as Error).message, lease: this.#options.lease },
        'starting or stopping the elected loops failed',
      );
    });
  }

  async #start(): Promise<void> {
    if (this.#ended || this.#running !== undefined || !this.elector.isLeader()) return;
    const { lease, client, logger, clock, timings } = this.#options;
    const leaseKey = `${leaderElectionNamespace}/${lease}`;
    const isLeader = () => this.elector.isLeader();
    const starting = new AbortController();
    this.#starting = starting;
    try {
      this.#running = await this.#options.start(
        fencedClient(client, leaseKey, isLeader),
        starting.signal,
        writeFence(leaseKey, isLeader),
      );
    } catch (err) {
      if (starting.signal.aborted) return;
      // a leader that runs nothing would hold the lease and leave the cluster without its loops
      logger?.error({ err: (err as Error).message, lease }, 'could not start while leading; trying again');
      clock.after(timings.retryPeriodMs, () => this.#then(() => this.#start()));
    } finally {
      if (this.#starting === starting) this.#starting = undefined;
    }
  }

  async #stop(): Promise<void> {
    const running = this.#running;
    this.#running = undefined;
    await running?.stop();
  }
}
