/**
 * Puts a compiled ruleset on the node: observe (our chains, the FORWARD hook, the drop counters;
 * one process) → ipset restore of new sets → one iptables-restore → ipset restore destroying the
 * sets no longer used. The drop chains are rewritten with each restore, so their counters are read
 * just before and added to running totals.
 */
import type { CommandRunner } from '../../netproxy/command-runner.ts';
import { chainPrefix, fixedChains, setPrefix, type Direction, type Ruleset } from './ruleset.ts';
import { renderFilter, renderSetCreation, renderSetRemoval, type ObservedFilter } from './render.ts';

class NetworkPolicyApplyError extends Error {
  readonly code = 'BOSUN_NETWORK_POLICY_APPLY_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'NetworkPolicyApplyError';
  }
}

export interface DropCounts {
  packets: number;
  bytes: number;
}

const listSeparator = '--bosunpol--';

/** Packets and bytes of the first rule of an `iptables -L <chain> -v -x -n` listing. */
export function parseFirstRuleCounters(listing: string): DropCounts {
  const line = listing.split('\n').find((l) => /^\s*\d+\s+\d+\s/.test(l));
  if (line === undefined) return { packets: 0, bytes: 0 };
  const [packets = '0', bytes = '0'] = line.trim().split(/\s+/);
  return { packets: Number(packets), bytes: Number(bytes) };
}

export class NetworkPolicyApplier {
  readonly #runner: CommandRunner;
  /** Our chains and sets as of the last restore; undefined until read from the node once. */
  #chains: Set<string> | undefined;
  #sets: Set<string> | undefined;
  /** Why ipset cannot be used here (not installed, no kernel support), when it cannot. */
  #ipsetProblem: string | undefined;
  readonly dropped: Record<Direction, DropCounts> = {
    ingress: { packets: 0, bytes: 0 },
    egress: { packets: 0, bytes: 0 },
  };

  constructor(runner: CommandRunner) {
    this.#runner = runner;
  }

  async #run(argv: readonly string[], input?: string): Promise<string> {
    const r = await this.#runner.run(argv, { ...(input !== undefined ? { input } : {}), timeoutMs: 120_000 });
    if (r.code !== 0)
      throw new NetworkPolicyApplyError(
        `${argv[0]} failed (exit ${r.code}): ${r.stderr.split('\n').slice(0, 3).join(' ')}`,
      );
    return r.stdout;
  }

  /** What of ours exists after a restart (or someone else's flush): read in full once. */
  async #readOwnState(): Promise<void> {
    const saved = await this.#run(['iptables-save', '-t', 'filter']);
    this.#chains = new Set(
      saved
        .split('\n')
        .filter((l) => l.startsWith(`:${chainPrefix}`))
        .map((l) => l.slice(1).split(' ')[0]!),
    );
    // without ipset, policies whose peers are single addresses or plain CIDRs still work
    this.#ipsetProblem = undefined;
    const sets = await this.#run(['ipset', 'list', '-n']).catch((err: Error) => {
      this.#ipsetProblem = err.message;
      return '';
    });
    this.#sets = new Set(sets.split('\n').filter((name) => name.startsWith(setPrefix)));
  }

  /** FORWARD's rules and both drop chains' counters, with one process. */
  async #observe(): Promise<ObservedFilter & { readonly counters: Record<Direction, DropCounts> }> {
    const script = [
      'iptables -w -S FORWARD',
      `echo ${listSeparator}`,
      `iptables -w -L ${fixedChains.dropIngress} -v -x -n 2>/dev/null`,
      `echo ${listSeparator}`,
      `iptables -w -L ${fixedChains.dropEgress} -v -x -n 2>/dev/null`,
      'true',
    ].join('; ');
    const [forward = '', ingress = '', egress = ''] = (await this.#run(['sh', '-c', script])).split(
      `${listSeparator}\n`,
    );
    const rules = forward.split('\n').filter((l) => l.startsWith('-A FORWARD '));
    const isHook = (l: string) => l.endsWith(`-j ${fixedChains.top}`);
    return {
      chains: this.#chains ?? new Set(),
      hookFirst: rules.length > 0 && isHook(rules[0]!),
      hookPresent: rules.some(isHook),
      counters: { ingress: parseFirstRuleCounters(ingress), egress: parseFirstRuleCounters(egress) },
    };
  }

  /**
   * Refreshes the running drop totals without changing anything (for /metrics between syncs), and
   * says whether our hook is still first in FORWARD (something inserted above it must not wait for
   * the periodic sync: it could accept packets our rules would drop).
   */
  async readCounters(): Promise<Record<Direction, DropCounts> & { hookFirst: boolean }> {
    const { counters, hookFirst } = await this.#observe();
    return {
      ingress: add(this.dropped.ingress, counters.ingress),
      egress: add(this.dropped.egress, counters.egress),
      hookFirst,
    };
  }

  /** Applies the ruleset; returns the filter payload it restored (for the logs and benchmarks). */
  async apply(ruleset: Ruleset): Promise<string> {
    if (this.#chains === undefined || this.#sets === undefined) await this.#readOwnState();
    const observed = await this.#observe();
    const create = renderSetCreation(ruleset, this.#sets!);
    if (create !== '') {
      await this.#run(['ipset', 'restore'], create).catch((err: Error) => {
        throw new NetworkPolicyApplyError(
          `these policies need address sets and ipset failed (install the ipset package): ${this.#ipsetProblem ?? err.message}`,
        );
      });
    }
    for (const name of ruleset.sets.keys()) this.#sets!.add(name);
    const payload = renderFilter(ruleset, observed);
    try {
      await this.#run(['iptables-restore', '-w', '--noflush'], payload);
    } catch (err) {
      // what exists is unknown now: read it in full before the next try
      this.#chains = undefined;
      throw err;
    }
    for (const d of ['ingress', 'egress'] as const) this.dropped[d] = add(this.dropped[d], observed.counters[d]);
    this.#chains = new Set(ruleset.chains.keys());
    const remove = renderSetRemoval(ruleset, this.#sets!);
    if (remove !== '') {
      await this.#run(['ipset', 'restore'], remove);
      this.#sets = new Set(ruleset.sets.keys());
    }
    return payload;
  }
}

function add(a: DropCounts, b: DropCounts): DropCounts {
  return { packets: a.packets + b.packets, bytes: a.bytes + b.bytes };
}
