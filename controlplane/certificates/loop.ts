/**
 * The control plane's certificate work: keep kube-public/cluster-info signed for every signing
 * bootstrap token, approve the node requests that need no person (csr.ts), and issue certificates
 * for approved requests of the kubelet signers. Each round observes, plans with the pure
 * functions, then writes; a conflict is left to the next round.
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
import { decide, isDecided, kubeletClientSigner, kubeletServingSigner, parseRequest, signRequest, type CsrObject } from './csr.ts';

export interface CertificateLoopOptions {
  client: ClientConfig;
  ca: { cert: string; key: string };
  logger: Logger;
  /** How often requests that had to wait are looked at again (default 1 s). */
  periodMs?: number;
  /** How often everything is listed and cluster-info re-signed, besides on changes (default 10 s). */
  fullPeriodMs?: number;
  now?: () => number;
}

/** Requests handled concurrently in a round: each waits mostly on two API round trips. */
const requestsAtOnce = 8;

/** An unsettled request of a kubelet signer: one this loop may still approve or sign. */
function needsWork(item: CsrObject): boolean {
  if (item.spec.signerName !== kubeletClientSigner && item.spec.signerName !== kubeletServingSigner) return false;
  return !item.status?.certificate && !(item.status?.conditions ?? []).some((c) => c.type === 'Denied' || c.type === 'Failed');
}

interface NodeObject { status?: { addresses?: { type: string; address: string }[] } }

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
    this.#running = round.catch((err: unknown) => {
      this.#options.logger.warn({ err: (err as Error).message }, 'certificate round failed; retrying next period');
    }).finally(() => {
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
        for await (const event of this.#client.watch(ref, { signal, timeoutSeconds: 300, ...(namespace !== undefined ? { namespace } : {}) })) onEvent(event);
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
    const now = this.#options.now?.() ?? Date.now();
    const clusterInfo = await this.#client.get(refs.configmaps, 'cluster-info', 'kube-public') as KubeObject & { data?: Record<string, string> };
    const secrets = await this.#client.list(refs.secrets, { namespace: 'kube-system' });
    const next = planClusterInfo(clusterInfo.data ?? {}, secrets.items as unknown as TokenSecret[], now);
    if (next === undefined) return;
    await this.#client.update(refs.configmaps, { ...clusterInfo, data: next } as KubeObject);
    this.#options.logger.info({ tokens: Object.keys(next).filter((k) => k.startsWith('jws-kubeconfig-')).length }, 'cluster-info signatures updated');
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
          this.#options.logger.debug({ csr: item.metadata.name, err: (err as Error).message }, 'certificate request left for the next round');
        }
      }
    };
    await Promise.all(Array.from({ length: requestsAtOnce }, worker));
  }

  async #handleOne(item: CsrObject): Promise<void> {
    let parsed;
    try {
      parsed = parseRequest(item.spec.request);
    } catch (err) {
      this.#options.logger.warn({ csr: item.metadata.name, err: (err as Error).message }, 'unreadable certificate request left alone');
      return;
    }
    let status = item.status ?? {};
    let approvedNow: { reason: string; message: string } | undefined;
    if (!isDecided(item)) {
      const addresses = await this.#nodeAddresses(parsed.commonName.replace(/^system:node:/, ''));
      const decision = decide(item, parsed, () => addresses);
      if (decision.kind === 'wait') {
        this.#waiting.set(item.metadata.name, item);
        return;
      }
      const condition = { type: 'Approved', status: 'True', reason: decision.reason, message: decision.message, lastUpdateTime: new Date().toISOString() };
      status = { ...status, conditions: [...(status.conditions ?? []), condition] };
      approvedNow = decision;
    }
    const current = { ...item, status } as CsrObject;
    const approved = (status.conditions ?? []).some((c) => c.type === 'Approved' && c.status === 'True');
    const denied = (status.conditions ?? []).some((c) => c.type === 'Denied' || c.type === 'Failed');
    if (!approved || denied || status.certificate) {
      if (approvedNow) await this.#client.updateStatus(refs.certificatesigningrequests, current as never);
      return;
    }
    // approval and certificate in one write: half the writes (and events) per joining node
    const pem = signRequest(this.#options.ca, current, parsed, this.#options.now?.() ?? Date.now());
    await this.#client.updateStatus(refs.certificatesigningrequests, { ...current, status: { ...status, certificate: Buffer.from(pem).toString('base64') } } as never);
    this.#settledByUs.add(item.metadata.name ?? '');
    if (approvedNow) this.#options.logger.info({ csr: item.metadata.name, node: parsed.commonName }, approvedNow.message);
    this.#options.logger.info({ csr: item.metadata.name, subject: parsed.commonName }, 'certificate issued');
  }

  async #nodeAddresses(node: string): Promise<string[]> {
    try {
      const object = await this.#client.get(refs.nodes, node) as unknown as NodeObject;
      return (object.status?.addresses ?? []).map((a) => a.address);
    } catch {
      return [];
    }
  }
}
