/**
 * The control plane's certificate work: keep kube-public/cluster-info signed for every signing
 * bootstrap token, approve the node requests that need no person (csr.ts), and issue certificates
 * for approved requests of the signers served here (the two kubelet signers and
 * kube-apiserver-client), each checked against its signer's rules right before signing
 * (signer-rules.ts): a request that breaks them is marked Failed, whoever approved it. Each round
 * observes, plans with the pure functions, then writes; a conflict is left to the next round.
 *
 * Requests arrive through a watch, and a round triggered by it handles only the unsettled requests
 * the watch delivered, several at a time: listing every request per round made a join of N nodes
 * cost O(N^2) (1,000 requests listed per new request). Requests the plan had to wait on are
 * looked at again every period; a full round (list everything, re-sign cluster-info) runs when a
 * token secret changes and every full period, as the safety net.
 */
import type { Logger } from 'pino';
import { KubeClient, type ClientConfig } from '../../kube/client.ts';
import { refs, type ResourceRef } from '../../kube/resource-ref.ts';
import type { KubeObject, WatchEvent } from '../../kube/types.ts';
import { planClusterInfo, type TokenSecret } from './cluster-info.ts';
import { registeredAddresses } from '../admission/registered-addresses.ts';
import {
  apiServerClientSigner,
  decide,
  hasCondition,
  isDecided,
  parseRequest,
  signRequest,
  type CsrObject,
  type ParsedRequest,
} from './csr.ts';
import { servedSigners, signerRefusal } from './signer-rules.ts';
import type { ReservedNames } from './reserved-names.ts';
import { systemClock, type Clock } from '../../kube/clock.ts';

interface CertificateLoopOptions {
  client: ClientConfig;
  ca: { cert: string; key: string };
  logger: Logger;
  /** The names and addresses no node is approved for by itself (reserved-names.ts). */
  reserved: ReservedNames;
  /** How often requests that had to wait are looked at again (default 1 s). */
  periodMs?: number;
  /** How often everything is listed and cluster-info re-signed, besides on changes (default 10 s). */
  fullPeriodMs?: number;
  clock?: Pick<Clock, 'now'>;
}

/** Requests handled concurrently in a round: each waits mostly on two API round trips. */
const requestsAtOnce = 8;

/** An unsettled request of a signer served here: one this loop may still approve, sign or fail. */
function needsWork(item: CsrObject): boolean {
  if (!servedSigners.has(item.spec.signerName)) return false;
  return (
    !item.status?.certificate &&
    !(item.status?.conditions ?? []).some((c) => c.type === 'Denied' || c.type === 'Failed')
  );
}

export class CertificateLoop {
  readonly #options: CertificateLoopOptions;
  readonly #client: KubeClient;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  /** A change arrived while a round ran: run another right after it (a full one if `#againFull`). */
  #again = false;
  #againFull = false;
  /** Unsettled kubelet-signer requests seen by the watch since the last round, by name. */
  readonly #pending = new Map<string, CsrObject>();
  /** Requests the plan said to wait on (a serving certificate for addresses not reported yet): tried each period. */
  readonly #waiting = new Map<string, CsrObject>();
  #lastFullAt = 0;
  /** Requests this loop settled itself: their older watch events need no more work. */
  readonly #settledByUs = new Set<string>();
  #stopped = false;
  readonly #watches = new AbortController();

  constructor(options: CertificateLoopOptions) {
    this.#options = options;
    this.#client = new KubeClient(options.client);
  }

  /** Talks to the API with a renewed admin certificate from now on. */
  useClientCertificate(cert: string, key: string): void {
    this.#client.useClientCertificate(cert, key);
  }

  start(): void {
    this.#kick(true);
    // a joining node waits on these: react to them at once, not on the next period
    void this.#watchForChanges(refs.certificatesigningrequests, (event) => this.#noteRequest(event));
    void this.#watchForChanges(refs.secrets, () => this.#kick(true), 'kube-system');
  }

  #noteRequest(event: WatchEvent): void {
    const item = event.object as unknown as CsrObject;
    const name = item.metadata.name ?? '';
    this.#waiting.delete(name);
    if (event.type === 'DELETED') {
      this.#pending.delete(name);
      this.#settledByUs.delete(name);
      return;
    }
    if (this.#settledByUs.has(name) || !needsWork(item)) {
      this.#pending.delete(name);
      return;
    }
    this.#pending.set(name, item);
    this.#kick(false);
  }

  /** Runs a round now, or right after the one running; the period starts again after it. */
  #kick(full: boolean): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again = true;
      this.#againFull ||= full;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    const now = Date.now();
    if (now - this.#lastFullAt >= (this.#options.fullPeriodMs ?? 10_000)) full = true;
    if (full) this.#lastFullAt = now;
    const round = full ? this.round() : this.#handle(this.#takePending());
    this.#running = round
      .catch((err: unknown) => {
        this.#options.logger.warn({ err: (err as Error).message }, 'certificate round failed; retrying next period');
      })
      .finally(() => {
        this.#running = undefined;
        if (this.#stopped) return;
        if (this.#again) {
          const nextFull = this.#againFull;
          this.#again = false;
          this.#againFull = false;
          this.#kick(nextFull);
          return;
        }
        this.#timer = setTimeout(() => this.#kick(false), this.#options.periodMs ?? 1_000);
      });
  }

  #takePending(): CsrObject[] {
    const items = new Map([...this.#waiting, ...this.#pending]);
    this.#pending.clear();
    this.#waiting.clear();
    return [...items.values()];
  }

  async #watchForChanges(ref: ResourceRef, onEvent: (event: WatchEvent) => void, namespace?: string): Promise<void> {
    const { signal } = this.#watches;
    while (!this.#stopped) {
      try {
        for await (const event of this.#client.watch(ref, {
          signal,
          timeoutSeconds: 300,
          ...(namespace !== undefined ? { namespace } : {}),
        }))
          onEvent(event);
      } catch {
        // the period still covers it; try the watch again shortly
        if (!this.#stopped) await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#watches.abort();
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
    this.#client.close();
  }

  /** One full observe → plan → act round (public for tests). */
  async round(): Promise<void> {
    await this.#signClusterInfo();
    this.#pending.clear();
    this.#waiting.clear();
    const list = await this.#client.list(refs.certificatesigningrequests);
    await this.#handle((list.items as unknown as CsrObject[]).filter(needsWork));
  }

  async #signClusterInfo(): Promise<void> {
    const now = (this.#options.clock ?? systemClock).now();
    const clusterInfo = (await this.#client.get(refs.configmaps, 'cluster-info', 'kube-public')) as KubeObject & {
      data?: Record<string, string>;
    };
    const secrets = await this.#client.list(refs.secrets, { namespace: 'kube-system' });
    const next = planClusterInfo(clusterInfo.data ?? {}, secrets.items as unknown as TokenSecret[], now);
    if (next === undefined) return;
    await this.#client.update(refs.configmaps, { ...clusterInfo, data: next } as KubeObject);
    this.#options.logger.info(
      { tokens: Object.keys(next).filter((k) => k.startsWith('jws-kubeconfig-')).length },
      'cluster-info signatures updated',
    );
  }

  /** Handles `items` a few at a time; one request's failure (a conflict) leaves the others alone. */
  async #handle(items: CsrObject[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const item = items[next++]!;
        try {
          await this.#handleOne(item);
        } catch (err) {
          this.#options.logger.debug(
            { csr: item.metadata.name, err: (err as Error).message },
            'certificate request left for the next round',
          );
        }
      }
    };
    await Promise.all(Array.from({ length: requestsAtOnce }, worker));
  }

  async #handleOne(item: CsrObject): Promise<void> {
    let parsed;
    try {
      parsed = await parseRequest(item.spec.request);
    } catch (err) {
      this.#options.logger.warn(
        { csr: item.metadata.name, err: (err as Error).message },
        'unreadable certificate request left alone',
      );
      return;
    }
    let current = item;
    if (!isDecided(item)) {
      const addresses = await this.#registeredAddresses(parsed.commonName.replace(/^system:node:/, ''));
      const decision = decide(item, parsed, () => addresses, this.#options.reserved);
      if (decision.kind === 'wait') {
        // a kubelet request may become approvable (its node registers its addresses); any other
        // waits for a person, whose approval arrives through the watch
        if (item.spec.signerName !== apiServerClientSigner) this.#waiting.set(item.metadata.name, item);
        return;
      }
      // through the approval subresource, as any approver: the server checks this identity may
      // approve for the signer, and status writes cannot add approvals
      const condition = {
        type: 'Approved',
        status: 'True',
        reason: decision.reason,
        message: decision.message,
        lastUpdateTime: new Date().toISOString(),
      };
      current = (await this.#client.updateApproval(refs.certificatesigningrequests, {
        ...item,
        status: { ...item.status, conditions: [...(item.status?.conditions ?? []), condition] },
      } as never)) as unknown as CsrObject;
      this.#options.logger.info({ csr: item.metadata.name, node: parsed.commonName }, decision.message);
    }
    if (!hasCondition(current, 'Approved') || !needsWork(current)) return;
    await this.#sign(current, parsed);
  }

  /**
   * Signs an approved request, or marks it Failed when its signer's rules refuse it: an Approved
   * condition says someone approved, not that the request is one this signer may sign.
   */
  async #sign(item: CsrObject, parsed: ParsedRequest): Promise<void> {
    const refusal = signerRefusal(item.spec.signerName, parsed, item.spec.usages ?? []);
    let status: CsrObject['status'];
    if (refusal !== undefined) {
      const failed = {
        type: 'Failed',
        status: 'True',
        reason: 'SignerValidationFailure',
        message: refusal,
        lastUpdateTime: new Date().toISOString(),
      };
      status = { ...item.status, conditions: [...(item.status?.conditions ?? []), failed] };
      this.#options.logger.warn(
        { csr: item.metadata.name, signer: item.spec.signerName, subject: parsed.commonName, why: refusal },
        'approved certificate request refused by its signer',
      );
    } else {
      const pem = await signRequest(this.#options.ca, item, parsed, (this.#options.clock ?? systemClock).now());
      status = { ...item.status, certificate: Buffer.from(pem).toString('base64') };
    }
    await this.#client.updateStatus(refs.certificatesigningrequests, { ...item, status } as never);
    this.#settledByUs.add(item.metadata.name ?? '');
    if (refusal === undefined)
      this.#options.logger.info({ csr: item.metadata.name, subject: parsed.commonName }, 'certificate issued');
  }

  /** The addresses the server recorded when the node registered (not what its status says today). */
  async #registeredAddresses(node: string): Promise<string[]> {
    try {
      return registeredAddresses(
        (await this.#client.get(refs.nodes, node)) as { metadata?: { annotations?: Record<string, string> } },
      );
    } catch {
      return [];
    }
  }
}
