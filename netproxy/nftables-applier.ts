/**
 * Thin executor for the nftables backend: one transaction per sync (atomic: the kernel applies
 * all of it or none), plus the canary check and the table's removal. Small transactions (partial
 * syncs) go to a long-lived `nft -i` (nft-session.ts); large ones (full syncs), and every one
 * when the runner cannot keep a process or nft -i does not work here, to `nft -f -`.
 */
import { existsSync } from 'node:fs';
import type { CommandRunner } from './command-runner.ts';
import { ProxyError, ProxyErrorCode } from './errors.ts';
import { firstLines } from './iptables-applier.ts';
import { NftSession, sessionInput } from './nft-session.ts';
import { canaryElement, canarySet, nftFamily, nftTable } from './nftables-renderer.ts';
import { silentProxyLogger, type ProxyLogger } from './proxy-logger.ts';

/**
 * The nft binary by absolute path: a bare `nft` may resolve to something else on PATH (npm puts
 * node_modules/.bin first, and a JavaScript package ships a command of that name).
 */
export function nftCommand(exists: (path: string) => boolean = existsSync): string {
  return ['/usr/sbin/nft', '/sbin/nft', '/usr/local/sbin/nft'].find(exists) ?? 'nft';
}

export interface NftSessionPolicy {
  /** Transactions up to this many bytes go to the long-lived nft; larger ones to `nft -f`. */
  maxBytes: number;
  /** A session is replaced after this many transactions: nft -i keeps every line it read. */
  retireAfter: number;
  /** Sessions in a row that end without answering once, before no more are started. */
  giveUpAfter: number;
  timeoutMs: number;
}

/**
 * 16 KiB: a partial sync of a few ports is well under it, and at that size nft -i's byte-wise
 * reading costs about what starting nft does. 1,000 transactions keep a session's history under
 * about 1 MB (it grew about 1 KB per partial sync here).
 */
const defaultNftSessionPolicy: NftSessionPolicy = {
  maxBytes: 16 * 1024,
  retireAfter: 1000,
  giveUpAfter: 3,
  timeoutMs: 30_000,
};

export class NftablesApplier {
  readonly #runner: CommandRunner;
  readonly #nft: string;
  readonly #log: ProxyLogger;
  readonly #policy: NftSessionPolicy;
  #session: NftSession | undefined;
  /** Sessions in a row that ended without answering. */
  #silentEnds = 0;
  #sessionsOff = false;

  constructor(
    runner: CommandRunner,
    nft = nftCommand(),
    options: { log?: ProxyLogger; sessions?: Partial<NftSessionPolicy> } = {},
  ) {
    this.#runner = runner;
    this.#nft = nft;
    this.#log = options.log ?? silentProxyLogger;
    this.#policy = { ...defaultNftSessionPolicy, ...options.sessions };
  }

  /** Applies one transaction; throws ProxyError(restoreFailed) with nft's message. */
  async apply(transaction: string): Promise<void> {
    if (await this.#applyInSession(transaction)) return;
    const r = await this.#runner.run([this.#nft, '-f', '-'], { input: transaction, timeoutMs: 120_000 });
    if (r.code !== 0)
      throw new ProxyError(ProxyErrorCode.restoreFailed, `nft -f failed (exit ${r.code}): ${firstLines(r.stderr)}`);
  }

  /** Starts the long-lived nft ahead of the next small transaction (no-op when one is up). */
  prepare(): void {
    this.#currentSession();
  }

  /** Ends the long-lived nft; later transactions all go to `nft -f`. Idempotent. */
  close(): void {
    this.#sessionsOff = true;
    this.#retire();
  }

  /** The long-lived nft's process id, while one is up (tests and the benchmark watch it). */
  get sessionPid(): number | undefined {
    return this.#session?.open ? this.#session.pid : undefined;
  }

  /**
   * True when the session applied the transaction; throws when nft refused it; false when it
   * must go to `nft -f`. That includes a session lost mid-transaction: its process has exited by
   * then, and the kernel applied all of the transaction or none of it, so applying it again is
   * safe: the same elements, chains and rules come out, or nft refuses to delete what is already
   * gone and the next sync is full.
   */
  async #applyInSession(transaction: string): Promise<boolean> {
    const input = sessionInput(transaction, this.#policy.maxBytes);
    const session = input === undefined ? undefined : this.#currentSession();
    if (input === undefined || session === undefined) return false;
    let reply;
    try {
      reply = await session.apply(input, this.#policy.timeoutMs);
    } catch (err) {
      if (!(err instanceof ProxyError) || err.code !== ProxyErrorCode.nftSessionLost) throw err;
      this.#log.warn({ err: err.message }, 'the long-lived nft went away; applying the transaction with nft -f');
      return false;
    }
    if (session.answered >= this.#policy.retireAfter) this.#retire();
    if (reply.refused)
      throw new ProxyError(ProxyErrorCode.restoreFailed, `nft refused the transaction: ${reply.message}`);
    return true;
  }

  #currentSession(): NftSession | undefined {
    const last = this.#session;
    if (last?.open) return last;
    if (this.#sessionsOff || this.#runner.start === undefined) return undefined;
    if (last !== undefined) {
      this.#session = undefined;
      this.#silentEnds = last.answered === 0 ? this.#silentEnds + 1 : 0;
      if (this.#silentEnds >= this.#policy.giveUpAfter) {
        this.#sessionsOff = true;
        this.#log.warn({ said: last.note }, 'nft -i does not work here; every transaction goes to nft -f');
        return undefined;
      }
    }
    // nft -i reads and writes its history in $HOME/.nft.history: a home that does not exist
    // keeps the transactions out of root's files.
    this.#session = new NftSession(this.#runner.start([this.#nft, '-i'], { env: { HOME: '/nonexistent' } }));
    return this.#session;
  }

  #retire(): void {
    this.#session?.close();
    this.#session = undefined;
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
