/**
 * The node's heartbeat: the Lease kube-node-lease/<node>, held by the node, 40 s long, renewed
 * every 10 s on its own loop (give it its own API client, so a slow pod-status write never
 * delays it). A renewal that fails is retried after 200 ms, doubling up to 7 s, until it works;
 * a lease that went missing is created again, and the log says so.
 *
 * Lifecycle: the constructor does nothing; run(signal) renews until the signal aborts.
 */
import type { Logger } from 'pino';
import type { Lease } from '../../kube/corev1.ts';
import type { Clock } from '../../kube/clock.ts';
import { microTime } from '../../kube/api-time.ts';

const leaseNamespace = 'kube-node-lease';
const leaseDurationSeconds = 40;
const renewIntervalMs = 10_000;
const firstRetryMs = 200;
const maxRetryMs = 7_000;

/** The calls the heartbeat makes; an adapter over KubeClient provides them. */
export interface LeaseApi {
  /** undefined when the lease does not exist. */
  get(namespace: string, name: string): Promise<Lease | undefined>;
  create(lease: Lease): Promise<Lease>;
  /** Fails on a resourceVersion conflict. */
  update(lease: Lease): Promise<Lease>;
}

interface NodeLeaseOptions {
  api: LeaseApi;
  nodeName: string;
  /** The Node's UID, for the owner reference (the lease goes when the Node goes). */
  nodeUid: string | undefined;
  clock: Clock;
  log: Logger;
  renewIntervalMs?: number;
}

/** The lease as this node wants it at `now`, keeping what the server holds (resourceVersion, transitions). */
export function desiredLease(
  current: Lease | undefined,
  nodeName: string,
  nodeUid: string | undefined,
  now: number,
): Lease {
  const holderChanged = current?.spec?.holderIdentity !== nodeName;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      ...(current?.metadata ?? {}),
      name: nodeName,
      namespace: leaseNamespace,
      ...(nodeUid !== undefined
        ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }] }
        : {}),
    },
    spec: {
      holderIdentity: nodeName,
      leaseDurationSeconds,
      renewTime: microTime(now),
      acquireTime:
        holderChanged || current?.spec?.acquireTime === undefined ? microTime(now) : current.spec.acquireTime,
      leaseTransitions: (current?.spec?.leaseTransitions ?? 0) + (current !== undefined && holderChanged ? 1 : 0),
    },
  };
}

export class NodeLease {
  readonly #options: NodeLeaseOptions;
  /** Successful renewals (for tests and metrics). */
  renewals = 0;
  lastRenewedAt: number | undefined;
  /** The lease as the server returned it after this node's last successful write. */
  #latest: Lease | undefined;

  constructor(options: NodeLeaseOptions) {
    this.#options = options;
  }

  /**
   * One renewal. As upstream's lease controller does, it updates the lease it wrote last, and reads
   * the lease only when it has none (the first renewal, or after a failed one: a conflict or the
   * lease gone). A GET per renewal would be 100 needless reads a second at 1,000 nodes.
   */
  async renewOnce(): Promise<void> {
    const { api, nodeName, nodeUid, clock, log } = this.#options;
    if (this.#latest !== undefined) {
      try {
        this.#latest = await api.update(desiredLease(this.#latest, nodeName, nodeUid, clock.now()));
      } catch (err) {
        this.#latest = undefined;
        throw err;
      }
    } else {
      const current = await api.get(leaseNamespace, nodeName);
      const wanted = desiredLease(current, nodeName, nodeUid, clock.now());
      if (current === undefined) {
        if (this.renewals > 0)
          log.warn({ lease: `${leaseNamespace}/${nodeName}` }, 'the node lease was deleted; creating it again');
        this.#latest = await api.create(wanted);
      } else {
        this.#latest = await api.update(wanted);
      }
    }
    this.renewals += 1;
    this.lastRenewedAt = clock.now();
  }

  async run(signal: AbortSignal): Promise<void> {
    const { clock, log } = this.#options;
    // The abort listener goes with its timer: one left per renewal would be 8,640 a day on the signal.
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const aborted = () => {
          timer.cancel();
          resolve();
        };
        const timer = clock.after(ms, () => {
          signal.removeEventListener('abort', aborted);
          resolve();
        });
        signal.addEventListener('abort', aborted, { once: true });
      });
    let retryMs = firstRetryMs;
    while (!signal.aborted) {
      try {
        await this.renewOnce();
        retryMs = firstRetryMs;
        await sleep(this.#options.renewIntervalMs ?? renewIntervalMs);
      } catch (err) {
        log.warn({ err: (err as Error).message, retryMs }, 'node lease renewal failed');
        await sleep(retryMs);
        retryMs = Math.min(retryMs * 2, maxRetryMs);
      }
    }
  }
}
