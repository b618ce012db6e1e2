/**
 * The nftables backend (`--proxy-mode nftables`): renders (partial when the proxy allows and the
 * last transaction succeeded) and applies it as one nft transaction (a full sync with `nft -f`, a
 * partial one through a long-lived `nft -i`). It remembers what the kernel holds (NftMemory), so a
 * partial sync costs O(changes) and a full one deletes what is no longer needed.
 */
import { removeIptablesRules } from './mode-cleanup.ts';
import { NftablesApplier } from './nftables-applier.ts';
import { emptyNftMemory, renderNftables, type NftMemory } from './nftables-renderer.ts';
import type { BackendContext, BackendSyncProgress, BackendSyncRequest, ProxyBackend } from './proxy-backend.ts';

export class NftablesProxyBackend implements ProxyBackend {
  readonly mode = 'nftables' as const;
  readonly #context: BackendContext;
  readonly #applier: NftablesApplier;
  #memory: NftMemory = emptyNftMemory;
  #applied = false;

  constructor(context: BackendContext, applier = new NftablesApplier(context.runner, undefined, { log: context.log })) {
    this.#context = context;
    this.#applier = applier;
  }

  async sync(request: BackendSyncRequest, progress: BackendSyncProgress): Promise<number> {
    const { now, metrics } = this.#context;
    if (!this.#applied) await removeIptablesRules(this.#context.runner, this.#context.log);
    const renderStart = now();
    const result = renderNftables({
      state: request.state,
      config: request.config,
      changed: request.full ? 'all' : request.changed,
      memory: this.#memory,
    });
    progress.renderMs = now() - renderStart;
    progress.full = result.full;
    progress.payloadBytes = result.transaction.length;
    const applyStart = now();
    try {
      if (result.transaction !== '') await this.#applier.apply(result.transaction);
    } catch (err) {
      metrics.restoreFailures.value++;
      if (!result.full) metrics.partialRestoreFailures.value++;
      // The kernel holds something neither memory describes: the next render is full, from an
      // empty table; the port renders are kept only to save re-rendering unchanged ports.
      this.#memory = { ...result.memory, matchesKernel: false };
      throw err;
    } finally {
      progress.restoreMs = now() - applyStart;
    }
    this.#memory = result.memory;
    this.#applied = true;
    // Partial syncs follow; the long-lived nft they use starts now rather than in the first one.
    if (result.full) this.#applier.prepare();
    return result.ruleCount;
  }

  close(): void {
    this.#applier.close();
  }

  canaryIntact(): Promise<boolean> | undefined {
    return this.#applied ? this.#applier.canaryIntact() : undefined;
  }
}
