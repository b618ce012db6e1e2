/**
 * The iptables backend: renders (partial when the proxy allows and the last restore succeeded)
 * and applies with one iptables-restore. It remembers what the kernel holds (RenderMemory), so
 * stale chains are deleted and a partial sync costs O(changes).
 */
import type { HookRule } from './chain-names.ts';
import { insertHooks } from './hooks.ts';
import { emptyMemory, renderIptables, type RenderMemory } from './iptables-renderer.ts';
import { BackendOnIptables, type BackendSyncProgress, type BackendSyncRequest } from './proxy-backend.ts';

export class IptablesProxyBackend extends BackendOnIptables {
  readonly mode = 'iptables' as const;
  #memory: RenderMemory | undefined;
  /** A failed restore leaves the kernel in a state only a full render describes. */
  #needFull = true;

  async sync(request: BackendSyncRequest, progress: BackendSyncProgress): Promise<number> {
    const applier = await this.iptables();
    const { now, metrics } = this.context;
    if (this.#memory === undefined) {
      // After a restart: learn which of our chains exist so leftovers are deleted.
      const existing = await applier.ourChains();
      this.#memory = { ...emptyMemory, natChains: existing.nat, filterChains: existing.filter };
      this.#needFull = true;
    }
    const renderStart = now();
    const result = renderIptables({
      state: request.state,
      config: request.config,
      changed: request.full || this.#needFull ? 'all' : request.changed,
      memory: this.#memory,
    });
    progress.renderMs = now() - renderStart;
    progress.full = result.full;
    let payload = result.payload;
    let hooks: HookRule[] = [];
    if (result.full) {
      hooks = await applier.missingHooks();
      payload = insertHooks(payload, hooks);
    }
    progress.payloadBytes = payload.length;
    const restoreStart = now();
    try {
      // A partial sync whose changes did not change any rule text has nothing to apply.
      if (result.full || payload.trim() !== '') await applier.restore(payload);
    } catch (err) {
      progress.restoreMs = now() - restoreStart;
      metrics.restoreFailures.value++;
      if (!result.full) metrics.partialRestoreFailures.value++;
      this.#needFull = true;
      // The kernel still holds what this payload was to delete; the next (full) render must know.
      this.#memory = result.memoryAfterFailure;
      throw err;
    }
    progress.restoreMs = now() - restoreStart;
    this.#memory = result.memory;
    if (result.full) {
      this.#needFull = false;
      if (hooks.length > 0)
        this.context.log.info(
          { hooks: hooks.map((h) => `${h.table}/${h.chain}`) },
          'inserted hooks into built-in chains',
        );
    }
    return result.ruleCount;
  }
}
