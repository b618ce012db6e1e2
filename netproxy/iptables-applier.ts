/**
 * Thin executor for the iptables backend: one iptables-restore per sync, plus the few reads a
 * sync needs (our chains after a restart, the hooks in the built-in chains, the canary).
 */
import { chainPrefix, chains, type HookRule, type Table } from './chain-names.ts';
import type { CommandRunner } from './command-runner.ts';
import { ProxyError, ProxyErrorCode } from './errors.ts';
import { hookedChains, missingHooks } from './hooks.ts';
import type { IptablesBackend } from './iptables-backend.ts';

export class IptablesApplier {
  readonly #runner: CommandRunner;
  readonly #backend: IptablesBackend;

  constructor(runner: CommandRunner, backend: IptablesBackend) {
    this.#runner = runner;
    this.#backend = backend;
  }

  get backend(): IptablesBackend {
    return this.#backend;
  }

  /** Applies a payload atomically per table; throws ProxyError(restoreFailed) with the tool's message. */
  async restore(payload: string): Promise<void> {
    // -w: wait for the xtables lock instead of failing when another tool holds it.
    const r = await this.#runner.run([this.#backend.restore, '-w', '--noflush', '--counters'], {
      input: payload,
      timeoutMs: 120_000,
    });
    if (r.code !== 0) {
      throw new ProxyError(
        ProxyErrorCode.restoreFailed,
        `${this.#backend.restore} failed (exit ${r.code}): ${firstLines(r.stderr)}`,
      );
    }
  }

  /** Our chains that exist now, per table (read once after start so stale ones can be deleted). */
  async ourChains(): Promise<{ nat: Set<string>; filter: Set<string> }> {
    const out = { nat: new Set<string>(), filter: new Set<string>() };
    const r = await this.#runner.run([this.#backend.save], { timeoutMs: 120_000 });
    if (r.code !== 0)
      throw new ProxyError(ProxyErrorCode.commandFailed, `${this.#backend.save} failed: ${firstLines(r.stderr)}`);
    let table: Set<string> | undefined;
    for (const line of r.stdout.split('\n')) {
      if (line.startsWith('*')) table = line === '*nat' ? out.nat : line === '*filter' ? out.filter : undefined;
      else if (table !== undefined && line.startsWith(`:${chainPrefix}`)) table.add(line.slice(1).split(' ')[0]!);
    }
    return out;
  }

  /** Hooks missing from the built-in chains; lists each hooked chain (small) rather than whole tables. */
  async missingHooks(): Promise<HookRule[]> {
    const lists = await this.#list(hookedChains);
    return missingHooks(new Map(hookedChains.map(({ table, chain }, i) => [`${table}/${chain}`, lists[i] ?? []])));
  }

  /**
   * True while both canary chains still hold their rule. A flush (`iptables -F`, a firewall
   * reload) empties or removes them, and then nothing of ours can be trusted to be there.
   */
  async canaryIntact(): Promise<boolean> {
    const [nat = [], filter = []] = await this.#list([
      { table: 'nat', chain: chains.canary },
      { table: 'filter', chain: chains.canary },
    ]);
    return (
      nat.some((l) => l.startsWith(`-A ${chains.canary} `)) && filter.some((l) => l.startsWith(`-A ${chains.canary} `))
    );
  }

  /**
   * Lists several chains with one process: a shell running `iptables -S` per chain. Starting a
   * process from a large Node process costs more than the listing itself, so one beats several.
   */
  async #list(which: readonly { table: Table; chain: string }[]): Promise<string[][]> {
    const script = which
      .map(({ table, chain }) => `${this.#backend.iptables} -w -t ${table} -S ${chain}`)
      .join(`; echo ${listSeparator}; `);
    const r = await this.#runner.run(['sh', '-c', `${script}; echo ${listSeparator}`], { timeoutMs: 30_000 });
    const parts = r.stdout.split(`${listSeparator}\n`);
    return which.map((_, i) => (parts[i] ?? '').split('\n').filter((l) => l !== ''));
  }
}

/** Marks the end of one chain's listing in the combined output. */
export const listSeparator = '@@bosun-end@@';

export function firstLines(text: string): string {
  return text.trim().split('\n').slice(0, 3).join(' | ') || '(no message)';
}
