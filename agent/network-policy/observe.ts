/**
 * What the applier reads from the node before it plans, and how:
 *   - when it knows which chains and sets of ours exist (it wrote them): one process, an
 *     iptables-restore that only lists FORWARD and the two drop chains (`-S`, with counters) and
 *     commits nothing, so the kernel's table is fetched once and nothing is written;
 *   - otherwise (first sync, after a failed one, or a chain of ours is gone): `iptables-save -t
 *     filter -c` for every chain, side by side with `ipset list -n` for the sets.
 * Reading the listings is pure.
 */
import { listingLines, type FilterListing } from './filter-listing.ts';
import type { ObservedFilter } from './render.ts';
import { chainPrefix, fixedChains, hookArgs, setPrefix, type Direction } from './ruleset.ts';

export interface DropCounts {
  packets: number;
  bytes: number;
}

/** The hook's position and the drop chains' counters, as read just before an apply. */
export interface ObservedRules extends ObservedFilter {
  readonly counters: Readonly<Record<Direction, DropCounts>>;
  /** Both drop chains exist (every pod chain jumps to one: without them a restore of ours is due). */
  readonly dropChainsPresent: boolean;
}

/** The chains the quick read lists; all of them exist while our rules are in place. */
const quickChains = ['FORWARD', fixedChains.dropIngress, fixedChains.dropEgress] as const;

/** iptables-restore input that lists FORWARD and the drop chains (with counters) and changes nothing. */
export const quickReadInput = `*filter\n-S FORWARD\n-S ${fixedChains.dropIngress} -v\n-S ${fixedChains.dropEgress} -v\nCOMMIT\n`;

export const fullReadArgv = ['iptables-save', '-t', 'filter', '-c'] as const;

/** Whether a quick read listed every chain it asked for: a missing one means something removed our rules. */
export function listsEveryQuickChain(listing: FilterListing): boolean {
  return quickChains.every((name) => listing.has(name));
}

const hookWords = listingLines(hookArgs)[0] ?? [];
const isHook = (args: readonly string[]) =>
  args.length === hookWords.length && args.every((w, i) => w === hookWords[i]);

/** The first rule's counters of a drop chain; zero when the chain is not there. */
function dropCounts(listing: FilterListing, chain: string): DropCounts {
  const first = listing.get(chain)?.[0];
  return { packets: first?.packets ?? 0, bytes: first?.bytes ?? 0 };
}

/**
 * Our hook's place in FORWARD and the drop counters. Only the exact hook counts: a rule that jumps
 * to our chain for some packets only is someone else's, and must not pass for it.
 */
export function observeRules(listing: FilterListing, chains: ReadonlySet<string>): ObservedRules {
  const forward = listing.get('FORWARD') ?? [];
  return {
    chains,
    hookFirst: forward.length > 0 && isHook(forward[0]!.args),
    hookPresent: forward.some((rule) => isHook(rule.args)),
    counters: {
      ingress: dropCounts(listing, fixedChains.dropIngress),
      egress: dropCounts(listing, fixedChains.dropEgress),
    },
    dropChainsPresent: listing.has(fixedChains.dropIngress) && listing.has(fixedChains.dropEgress),
  };
}

/** Our chains in a full listing. */
export function ownChains(listing: FilterListing): Set<string> {
  return new Set([...listing.keys()].filter((name) => name.startsWith(chainPrefix)));
}

/** Our sets in `ipset list -n` output. */
export function ownSets(names: string): Set<string> {
  return new Set(names.split('\n').filter((name) => name.startsWith(setPrefix)));
}
