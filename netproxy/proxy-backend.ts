/**
 * The seam between the service proxy and the kernel: ServiceProxy owns the tracker, timing and
 * health; a backend turns the committed service ports into kernel state. The backend is chosen
 * once, when the proxy is made (--proxy-mode), and nothing in ServiceProxy asks which one it has.
 *
 * Contract: sync() is never called twice at once; it may throw (the proxy logs, backs off and
 * retries with every change kept), and after a throw the backend's next sync is full.
 * canaryIntact() answers undefined until the backend has touched the kernel once. After close(),
 * sync() still works (without what close() ended).
 */
import type { CommandRunner } from './command-runner.ts';
import { detectBackend, type IptablesBackend } from './iptables-backend.ts';
import { IptablesApplier } from './iptables-applier.ts';
import type { ProxyConfig } from './iptables-renderer.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { ServicePortState } from './service-port.ts';
import type { ProxyLogger } from './proxy-logger.ts';
import { removeNftablesTable } from './mode-cleanup.ts';

export type ProxyMode = 'iptables' | 'ipvs' | 'nftables';

export interface BackendSyncRequest {
  state: ReadonlyMap<string, ServicePortState>;
  config: ProxyConfig;
  /** The proxy wants every rule rewritten (start, sync period, node change, canary). */
  full: boolean;
  /** Port keys changed since the last successful sync (a partial sync rewrites only these). */
  changed: ReadonlySet<string>;
  /** Addresses NodePorts answer on (config.nodePortAddresses, else the node's own). */
  nodePortAddresses: readonly string[];
}

/** What a sync did; also filled as far as it got when sync() throws. */
export interface BackendSyncProgress {
  full: boolean;
  renderMs: number;
  restoreMs: number;
  payloadBytes: number;
}

export interface ProxyBackend {
  readonly mode: ProxyMode;
  /** Renders and applies; returns the number of rules the kernel holds after a full sync. */
  sync(request: BackendSyncRequest, progress: BackendSyncProgress): Promise<number>;
  /** Whether our canary chains are still in place; undefined before the first sync. */
  canaryIntact(): Promise<boolean> | undefined;
  /** Ends what the backend keeps running between syncs (nftables: its long-lived nft). Idempotent. */
  close?(): void;
}

export interface BackendContext {
  runner: CommandRunner;
  metrics: ProxyMetrics;
  now: () => number;
  /** Skip detection of nf_tables vs legacy (tests, or a host whose iptables is known). */
  iptables?: IptablesBackend;
  log: ProxyLogger;
}

/**
 * Both backends write through iptables (IPVS needs it for masquerading and the canary): the
 * host's flavour (nf_tables or legacy) is detected on first use and then kept.
 */
export abstract class BackendOnIptables implements ProxyBackend {
  abstract readonly mode: ProxyMode;
  protected readonly context: BackendContext;
  #applier: IptablesApplier | undefined;

  constructor(context: BackendContext) {
    this.context = context;
  }

  abstract sync(request: BackendSyncRequest, progress: BackendSyncProgress): Promise<number>;

  canaryIntact(): Promise<boolean> | undefined {
    return this.#applier?.canaryIntact();
  }

  protected async iptables(): Promise<IptablesApplier> {
    if (this.#applier !== undefined) return this.#applier;
    const flavour = this.context.iptables ?? (await detectBackend(this.context.runner));
    this.context.log.info({ backend: flavour.kind }, 'iptables backend chosen');
    await removeNftablesTable(this.context.runner, this.context.log);
    this.#applier = new IptablesApplier(this.context.runner, flavour);
    return this.#applier;
  }
}
