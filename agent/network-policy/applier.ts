/**
 * Puts a compiled ruleset on the node: observe (one process, see observe.ts) → plan (pure, see
 * plan.ts) → run the planned commands in order. The drop chains are rewritten with each restore,
 * so their counters are read just before and added to running totals.
 */
import type { CommandRunner } from '../../netproxy/command-runner.ts';
import { parseFilterListing } from './filter-listing.ts';
import {
  fullReadArgv,
  listsEveryQuickChain,
  observeRules,
  ownChains,
  ownSets,
  quickReadInput,
  type DropCounts,
  type ObservedRules,
} from './observe.ts';
import { planApply, type ObservedNode } from './plan.ts';
import type { Direction, Ruleset } from './ruleset.ts';

class NetworkPolicyApplyError extends Error {
  readonly code = 'BOSUN_NETWORK_POLICY_APPLY_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'NetworkPolicyApplyError';
  }
}

/** Our chains and sets as the last restore left them. */
interface Known {
  chains: Set<string>;
  sets: Set<string>;
  /** Why ipset cannot be used here (not installed, no kernel support), when it cannot. */
  ipsetProblem: string | undefined;
}

export class NetworkPolicyApplier {
  readonly #runner: CommandRunner;
  /** Undefined until read from the node, and again once a restore failed (what exists is unknown then). */
  #known: Known | undefined;
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

  /** Everything of ours, after a restart or someone else's flush: the filter table and the sets, side by side. */
  async #readAll(): Promise<ObservedRules & ObservedNode> {
    let ipsetProblem: string | undefined;
    const [saved, sets] = await Promise.all([
      this.#run(fullReadArgv),
      // without ipset, policies whose peers are single addresses or plain CIDRs still work
      this.#run(['ipset', 'list', '-n']).catch((err: Error) => {
        ipsetProblem = err.message;
        return '';
      }),
    ]);
    const listing = parseFilterListing(saved);
    this.#known = { chains: ownChains(listing), sets: ownSets(sets), ipsetProblem };
    return { ...observeRules(listing, this.#known.chains), sets: this.#known.sets };
  }

  /** FORWARD's rules and both drop chains' counters, with one process. */
  async #observe(): Promise<ObservedRules & ObservedNode> {
    const known = this.#known;
    if (known !== undefined) {
      const r = await this.#runner.run(['iptables-restore', '-w', '--noflush'], {
        input: quickReadInput,
        timeoutMs: 120_000,
      });
      const listing = parseFilterListing(r.stdout);
      if (r.code === 0 && listsEveryQuickChain(listing))
        return { ...observeRules(listing, known.chains), sets: known.sets };
      // a drop chain is gone (a flush, a hand edit), or this iptables cannot list inside a restore
    }
    return this.#readAll();
  }

  /**
   * Refreshes the running drop totals without changing anything (for /metrics between syncs), and
   * says whether our rules are intact: the hook first in FORWARD and the drop chains there (a rule
   * inserted above the hook, or our chains flushed, must not wait for the periodic sync: packets
   * our rules would drop get through meanwhile).
   */
  async readCounters(): Promise<Record<Direction, DropCounts> & { intact: boolean }> {
    const { counters, hookFirst, dropChainsPresent } = await this.#observe();
    return {
      ingress: add(this.dropped.ingress, counters.ingress),
      egress: add(this.dropped.egress, counters.egress),
      intact: hookFirst && dropChainsPresent,
    };
  }

  /** Applies the ruleset; returns the filter payload it restored (for the logs and benchmarks). */
  async apply(ruleset: Ruleset): Promise<string> {
    const observed = await this.#observe();
    const known = this.#known!;
    let payload = '';
    for (const step of planApply(ruleset, observed)) {
      if (step.kind === 'create-sets') {
        await this.#run(step.argv, step.input).catch((err: Error) => {
          throw new NetworkPolicyApplyError(
            `these policies need address sets and ipset failed (install the ipset package): ${known.ipsetProblem ?? err.message}`,
          );
        });
        for (const name of ruleset.sets.keys()) known.sets.add(name);
      } else if (step.kind === 'restore-rules') {
        payload = step.input;
        try {
          await this.#run(step.argv, step.input);
        } catch (err) {
          this.#known = undefined;
          throw err;
        }
        for (const d of ['ingress', 'egress'] as const) this.dropped[d] = add(this.dropped[d], observed.counters[d]);
        known.chains = new Set(ruleset.chains.keys());
      } else {
        await this.#run(step.argv, step.input);
        known.sets = new Set(ruleset.sets.keys());
      }
    }
    return payload;
  }
}

function add(a: DropCounts, b: DropCounts): DropCounts {
  return { packets: a.packets + b.packets, bytes: a.bytes + b.bytes };
}
