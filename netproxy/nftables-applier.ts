/**
 * Thin executor for the nftables backend: one `nft -f -` per sync (the transaction is atomic:
 * the kernel applies all of it or none), plus the canary check and the table's removal.
 */
import { existsSync } from 'node:fs';
import type { CommandRunner } from './command-runner.ts';
import { ProxyError, ProxyErrorCode } from './errors.ts';
import { firstLines } from './iptables-applier.ts';
import { canaryElement, canarySet, nftFamily, nftTable } from './nftables-renderer.ts';

/**
 * The nft binary by absolute path: a bare `nft` may resolve to something else on PATH (npm puts
 * node_modules/.bin first, and a JavaScript package ships a command of that name).
 */
export function nftCommand(exists: (path: string) => boolean = existsSync): string {
  return ['/usr/sbin/nft', '/sbin/nft', '/usr/local/sbin/nft'].find(exists) ?? 'nft';
}

export class NftablesApplier {
  readonly #runner: CommandRunner;
  readonly #nft: string;

  constructor(runner: CommandRunner, nft = nftCommand()) {
    this.#runner = runner;
    this.#nft = nft;
  }

  /** Applies one transaction; throws ProxyError(restoreFailed) with nft's message. */
  async apply(transaction: string): Promise<void> {
    const r = await this.#runner.run([this.#nft, '-f', '-'], { input: transaction, timeoutMs: 120_000 });
    if (r.code !== 0)
      throw new ProxyError(ProxyErrorCode.restoreFailed, `nft -f failed (exit ${r.code}): ${firstLines(r.stderr)}`);
  }

  /**
   * True while the canary set still holds its element. Listing one small set is cheap; listing
   * a chain makes nft read every chain and rule of the table first.
   */
  async canaryIntact(): Promise<boolean> {
    const r = await this.#runner.run([this.#nft, 'list', 'set', nftFamily, nftTable, canarySet], { timeoutMs: 30_000 });
    return r.code === 0 && r.stdout.includes(canaryElement);
  }

  /** Removes our table if it exists (another proxy mode takes over); true when it was there. */
  async deleteTable(): Promise<boolean> {
    const r = await this.#runner.run([this.#nft, 'delete', 'table', nftFamily, nftTable], { timeoutMs: 120_000 });
    return r.code === 0;
  }
}
