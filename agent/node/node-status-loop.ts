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
  clock: Clock;
  log: Logger;
  /** Default 10 s. */
  updateIntervalMs?: number;
  /** Called when a round succeeds after failed ones: the API answers again (after a partition, say). */
  onReachableAgain?(): void;
}

const statusUpdateIntervalMs = 10_000;
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
