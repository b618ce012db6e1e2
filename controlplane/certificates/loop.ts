/**
 * The control plane's certificate work, as soon as a request or a token changes (watched) and on a
 * short period besides: keep kube-public/cluster-info signed
 * for every signing bootstrap token, approve the node requests that need no person (csr.ts), and
 * issue certificates for approved requests of the kubelet signers. Each round observes through the
 * API, plans with the pure functions, then writes; a conflict is left to the next round.
 */
import type { Logger } from 'pino';
import { KubeClient, type ClientConfig } from '../../kube/client.ts';
import { refs, type ResourceRef } from '../../kube/resource-ref.ts';
import type { KubeObject } from '../../kube/types.ts';
import { planClusterInfo, type TokenSecret } from './cluster-info.ts';
import { decide, isDecided, kubeletClientSigner, kubeletServingSigner, parseRequest, signRequest, type CsrObject } from './csr.ts';

export interface CertificateLoopOptions {
  client: ClientConfig;
  ca: { cert: string; key: string };
  logger: Logger;
  periodMs?: number;
  now?: () => number;
}

interface NodeObject { status?: { addresses?: { type: string; address: string }[] } }

export class CertificateLoop {
  readonly #options: CertificateLoopOptions;
  readonly #client: KubeClient;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  /** A change arrived while a round ran: run another right after it. */
  #again = false;
  #stopped = false;
  readonly #watches = new AbortController();

  constructor(options: CertificateLoopOptions) {
    this.#options = options;
    this.#client = new KubeClient(options.client);
  }

  start(): void {
    this.#kick();
    // a joining node waits on these: react to them at once, not on the next period
    void this.#watchForChanges(refs.certificatesigningrequests);
    void this.#watchForChanges(refs.secrets, 'kube-system');
  }

  /** Runs a round now, or right after the one running; the period starts again after it. */
  #kick(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#running = this.round().catch((err: unknown) => {
      this.#options.logger.warn({ err: (err as Error).message }, 'certificate round failed; retrying next period');
    }).finally(() => {
      this.#running = undefined;
      if (this.#stopped) return;
      if (this.#again) {
        this.#again = false;
        this.#kick();
        return;
      }
      this.#timer = setTimeout(() => this.#kick(), this.#options.periodMs ?? 1_000);
    });
  }

  async #watchForChanges(ref: ResourceRef, namespace?: string): Promise<void> {
    const { signal } = this.#watches;
    while (!this.#stopped) {
      try {
        for await (const _event of this.#client.watch(ref, { signal, timeoutSeconds: 300, ...(namespace !== undefined ? { namespace } : {}) })) this.#kick();
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

  /** One observe → plan → act round (public for tests). */
  async round(): Promise<void> {
    await this.#signClusterInfo();
    await this.#handleRequests();
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

  async #handleRequests(): Promise<void> {
    const list = await this.#client.list(refs.certificatesigningrequests);
    for (const item of list.items as unknown as CsrObject[]) {
      if (item.spec.signerName !== kubeletClientSigner && item.spec.signerName !== kubeletServingSigner) continue;
      // settled requests cost nothing per round: no parse, no signature check
      if (item.status?.certificate || (item.status?.conditions ?? []).some((c) => c.type === 'Denied' || c.type === 'Failed')) continue;
      let parsed;
      try {
        parsed = parseRequest(item.spec.request);
      } catch (err) {
        this.#options.logger.warn({ csr: item.metadata.name, err: (err as Error).message }, 'unreadable certificate request left alone');
        continue;
      }
      let current = item;
      if (!isDecided(current)) {
        const addresses = await this.#nodeAddresses(parsed.commonName.replace(/^system:node:/, ''));
        const decision = decide(current, parsed, () => addresses);
        if (decision.kind === 'wait') continue;
        const condition = { type: 'Approved', status: 'True', reason: decision.reason, message: decision.message, lastUpdateTime: new Date().toISOString() };
        current = await this.#client.updateStatus(refs.certificatesigningrequests, { ...current, status: { ...current.status, conditions: [...(current.status?.conditions ?? []), condition] } } as never) as unknown as CsrObject;
        this.#options.logger.info({ csr: item.metadata.name, node: parsed.commonName }, decision.message);
      }
      const approved = (current.status?.conditions ?? []).some((c) => c.type === 'Approved' && c.status === 'True');
      const denied = (current.status?.conditions ?? []).some((c) => c.type === 'Denied' || c.type === 'Failed');
      if (!approved || denied || current.status?.certificate) continue;
      const pem = signRequest(this.#options.ca, current, parsed, this.#options.now?.() ?? Date.now());
      await this.#client.updateStatus(refs.certificatesigningrequests, { ...current, status: { ...current.status, certificate: Buffer.from(pem).toString('base64') } } as never);
      this.#options.logger.info({ csr: item.metadata.name, subject: parsed.commonName }, 'certificate issued');
    }
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
