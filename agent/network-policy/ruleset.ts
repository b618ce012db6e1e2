/**
 * The packet-filter model that NetworkPolicy compiles to: chains of rules and the address sets they
 * match on. Plain data, so the compiler is pure, the renderer turns it into iptables-restore and
 * ipset-restore text, and tests walk packets through it.
 *
 * How a forwarded packet is judged (filter FORWARD jumps to `top` before anything else):
 *   top: replies (conntrack ESTABLISHED/RELATED) pass; a packet from a pod of this node that
 *        egress policies isolate goes through that pod's egress chain, then a packet to an
 *        ingress-isolated pod of this node through its ingress chain;
 *   pod chain: clears its direction's allow bit, runs each selecting policy's chain (a matching
 *        rule sets the bit), passes the packet when the bit is set, else drops it (counted);
 *   passing means RETURN: the rest of FORWARD (the service proxy's rules) still applies.
 * Traffic from and to the node itself (INPUT, OUTPUT) is never filtered, as upstream allows it.
 */
import { createHash } from 'node:crypto';

/** Not `BOSUN-`: the service proxy deletes chains under its prefix that it did not render. */
export const chainPrefix = 'BOSUNPOL-';
export const setPrefix = 'bosunpol-';

export const fixedChains = {
  top: 'BOSUNPOL-FORWARD',
  dropIngress: 'BOSUNPOL-DROP-INGRESS',
  dropEgress: 'BOSUNPOL-DROP-EGRESS',
} as const;

/** The rule in filter FORWARD that sends every forwarded packet to our chain first. */
export const hookArgs = `-m comment --comment "bosun network policy" -j ${fixedChains.top}`;

export type Direction = 'ingress' | 'egress';

/** Packet-mark bits, one per direction, clear of the service proxy's masquerade bit (0x4000). */
export const allowBits: Readonly<Record<Direction, number>> = { egress: 0x10000, ingress: 0x20000 };

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** An address match: one address or CIDR, or an ipset. */
export type Address = { readonly cidr: string } | { readonly set: string };

interface Match {
  readonly replies?: true;
  readonly src?: Address;
  readonly dst?: Address;
  readonly protocol?: Protocol;
  /** Destination ports, inclusive; needs protocol. */
  readonly ports?: readonly [number, number];
  /** The packet carries this mark bit. */
  readonly markBit?: number;
}

type Target =
  | { readonly jump: string }
  | { readonly setBit: number }
  | { readonly clearBit: number }
  | 'RETURN'
  | 'DROP';

export interface Rule {
  readonly match: Match;
  readonly target: Target;
  readonly comment?: string;
}

/** hash:ip holds addresses; hash:net holds CIDRs, some marked `nomatch` (ipBlock's except). */
export interface AddressSet {
  readonly type: 'hash:ip' | 'hash:net';
  readonly members: readonly { readonly entry: string; readonly nomatch?: true }[];
}

export interface Ruleset {
  /** Chains in rendering order; `top` and both drop chains always come first. */
  readonly chains: ReadonlyMap<string, readonly Rule[]>;
  readonly sets: ReadonlyMap<string, AddressSet>;
}

const digest = (text: string, length: number): string =>
  createHash('sha256').update(text).digest('hex').slice(0, length).toUpperCase();

/** A chain name from what it holds; iptables allows 28 characters. */
export function chainName(kind: 'PODI' | 'PODE' | 'POLI' | 'POLE', identity: string): string {
  return `${chainPrefix}${kind}-${digest(identity, 12)}`;
}

/** A set named by its content: a set never changes, a different content is a different set. */
export function setName(set: AddressSet): string {
  const text = `${set.type}\n${set.members.map((m) => `${m.entry}${m.nomatch ? ' nomatch' : ''}`).join('\n')}`;
  return `${setPrefix}${digest(text, 16).toLowerCase()}`;
}

/**
 * Whether any packet can be dropped by `ruleset`: some rule jumps to a drop chain or drops. When
 * none can (no pod of the node is isolated), the drop counters cannot move and a rule put above
 * our hook bypasses nothing, so neither needs watching.
 */
export function canDrop(ruleset: Ruleset): boolean {
  const dropChains: ReadonlySet<string> = new Set([fixedChains.dropIngress, fixedChains.dropEgress]);
  for (const [chain, rules] of ruleset.chains) {
    if (dropChains.has(chain)) continue;
    for (const { target } of rules) {
      if (target === 'DROP' || (typeof target === 'object' && 'jump' in target && dropChains.has(target.jump)))
        return true;
    }
  }
  return false;
}
