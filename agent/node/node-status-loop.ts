/**
 * Registers the node and keeps its status: every round (10 s, the kubelet's
 * nodeStatusUpdateFrequency) it observes, asks planNode what to write, and writes it. Nothing is
 * written when nothing changed, except the heartbeat every 5 minutes; the Lease carries liveness.
 *
 * Lifecycle: the constructor does nothing; register() returns once the Node exists (creating it
 * if needed); run(signal) keeps the status until the signal aborts. Errors in a round are logged
 * and the next round tries again.
 */
import type { Logger } from 'pino';
import type { Node, NodeStatus } from '../../kube/corev1.ts';
import type { Clock } from '../../kube/clock.ts';
import { planNode, type NodeObservation, type NodeSettings } from './node-plan.ts';

/** The calls node registration and status make; an adapter over KubeClient provides them. */
export interface NodeApi {
  /** undefined when the Node does not exist. */
  get(name: string): Promise<Node | undefined>;
  create(node: Node): Promise<Node>;
  patchLabels(name: string, labels: Record<string, string>): Promise<Node>;
  patchStatus(name: string, status: NodeStatus): Promise<Node>;
}

interface NodeStatusLoopOptions {
  api: NodeApi;
  settings: NodeSettings;
  observe(): Promise<NodeObservation>;
  /**
   * The runtime's health alone (a CRI Status call): what the wait for the first Ready looks at ten
   * times a second. Absent: taken from `observe`, which also reads host facts and lists images.
   */
  pingRuntime?(): Promise<NodeObservation['runtime']>;
  clock: Clock;
  log: Logger;
  /** Default 10 s. */
  updateIntervalMs?: number;
  /** Called when a round succeeds after failed ones: the API answers again (after a partition, say). */
  onReachableAgain?(): void;
}

const statusUpdateIntervalMs = 10_000;
/** How often the runtime is looked at until the node is first Ready, and for how long at most. */
const firstReadyPollMs = 100;
const firstReadyGraceMs = 120_000;
/** The pause between tries while the API does not answer. */
const unreachableRetryMs = 1_000;

export class NodeStatusLoop {
  readonly #options: NodeStatusLoopOptions;
  /** Writes made (creates, label and status patches), for tests and metrics. */
  writes = 0;
  /** The Node as last read or written. */
  node: Node | undefined;

  constructor(options: NodeStatusLoopOptions) {
    this.#options = options;
  }

  /** One round: observe, plan, write. Returns the Node as the API holds it afterwards. */
  async syncOnce(): Promise<Node> {
    const { api, settings, clock, log } = this.#options;
    const seen = await this.#options.observe();
    const current = await api.get(settings.nodeName);
    const plan = planNode(settings, seen, current, clock.now());
    let node: Node;
    if (plan.kind === 'create') {
      node = await api.create(plan.node);
      this.writes++;
      log.info({ node: settings.nodeName }, 'registered the node');
      // a server may drop status on create (the status subresource owns it): write it then
      if (node.status?.conditions === undefined && plan.node.status !== undefined) {
        node = await api.patchStatus(settings.nodeName, plan.node.status);
        this.writes++;
      }
    } else {
      node = current!;
      if (plan.labels !== undefined) {
        node = await api.patchLabels(settings.nodeName, plan.labels);
        this.writes++;
      }
      if (plan.status !== undefined) {
        node = await api.patchStatus(settings.nodeName, plan.status);
        this.writes++;
        log.debug({ why: plan.why }, 'node status written');
      }
    }
    this.node = node;
    return node;
  }

  /** Creates or updates the Node; retries (200 ms doubling to 7 s) until it works or the signal aborts. */
  async register(signal: AbortSignal): Promise<Node> {
    let retryMs = 200;
    for (;;) {
      try {
        return await this.syncOnce();
      } catch (err) {
        if (signal.aborted) throw err;
        this.#options.log.warn({ err: (err as Error).message, retryMs }, 'node registration failed; retrying');
        await this.#sleep(retryMs, signal);
        retryMs = Math.min(retryMs * 2, 7_000);
      }
    }
  }

  /**
   * Rounds every updateIntervalMs; after a failed round (the API unreachable) the next comes after
   * `unreachableRetryMs`, so the node's status is written again as soon as the API answers, rather
   * than up to a full interval later (the node controller may have marked it Unknown meanwhile).
   */
  async run(signal: AbortSignal): Promise<void> {
    if (!this.#isReady()) await this.#untilFirstReady(signal);
    const interval = this.#options.updateIntervalMs ?? statusUpdateIntervalMs;
    let failed = false;
    while (!signal.aborted) {
      await this.#sleep(failed ? Math.min(interval, unreachableRetryMs) : interval, signal);
      if (signal.aborted) break;
      try {
        await this.syncOnce();
        if (failed) this.#options.onReachableAgain?.();
        failed = false;
      } catch (err) {
        if (!failed) this.#options.log.warn({ err: (err as Error).message }, 'node status round failed');
        failed = true;
      }
    }
  }

  /**
   * While the node has never been Ready (registered before its network plugin or runtime was), look
   * at the runtime every 100 ms and write the status as soon as it is ready, as the kubelet's fast
   * status update does, instead of leaving the node NotReady until the next 10 s round. Only the
   * runtime is asked meanwhile (its Status alone, with `pingRuntime`); the API is written once.
   */
  async #untilFirstReady(signal: AbortSignal): Promise<void> {
    const { clock } = this.#options;
    const interval = this.#options.updateIntervalMs ?? statusUpdateIntervalMs;
    const started = clock.now();
    let lastRound = started;
    // bounded as the kubelet bounds it (nodeReadyGracePeriod): a node that cannot turn Ready is
    // not looked at ten times a second for ever
    while (!signal.aborted && !this.#isReady() && clock.now() - started < firstReadyGraceMs) {
      await this.#sleep(firstReadyPollMs, signal);
      if (signal.aborted) return;
      let runtime: NodeObservation['runtime'] | undefined;
      try {
        runtime = await (this.#options.pingRuntime?.() ?? this.#options.observe().then((seen) => seen.runtime));
      } catch {
        runtime = undefined;
      }
      const ready = runtime?.reachable === true && runtime.runtimeReady && runtime.networkReady;
      // meanwhile the status still gets its regular rounds (pressure, addresses, NotReady's reason)
      if (!ready && clock.now() - lastRound < interval) continue;
      lastRound = clock.now();
      try {
        await this.syncOnce();
      } catch {
        // the periodic rounds try again (and say so)
      }
      if (ready) return;
    }
  }

  #isReady(): boolean {
    return this.node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      // the listener goes when the timer fires: a loop that runs for days must not pile them up
      const onAbort = () => {
        timer.cancel();
        resolve();
      };
      const timer = this.#options.clock.after(ms, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
