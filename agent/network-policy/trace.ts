/**
 * Walks one forwarded packet through a compiled ruleset as the kernel would (jumps, RETURN, marks,
 * ipset lookups with hash:net's most-specific-prefix and `nomatch`), and says whether our chains
 * drop it. Tests judge behaviour with it instead of comparing rule text.
 */
import { cidrContains } from '../../netproxy/ipv4.ts';
import { fixedChains, type Address, type AddressSet, type Ruleset } from './ruleset.ts';

interface Packet {
  readonly src: string;
  readonly dst: string;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly port: number;
  /** A reply or a packet of a flow conntrack already knows. */
  readonly reply?: boolean;
}

/** `chain`: where the packet was dropped (the drop chains name the direction). */
type Verdict = { readonly verdict: 'pass' } | { readonly verdict: 'drop'; readonly chain: string };

function inSet(set: AddressSet | undefined, ip: string): boolean {
  if (set === undefined) return false;
  if (set.type === 'hash:ip') return set.members.some((m) => m.entry === ip);
  let best: { bits: number; nomatch: boolean } | undefined;
  for (const m of set.members) {
    if (!cidrContains(m.entry, ip)) continue;
    const bits = Number(m.entry.split('/')[1] ?? 32);
    if (best === undefined || bits > best.bits) best = { bits, nomatch: m.nomatch === true };
  }
  return best !== undefined && !best.nomatch;
}

export function tracePacket(ruleset: Ruleset, packet: Packet): Verdict {
  let mark = 0;
  const matches = (a: Address, ip: string) =>
    'cidr' in a ? cidrContains(a.cidr, ip) : inSet(ruleset.sets.get(a.set), ip);
  // returns the verdict when the chain ends the walk, undefined when it returns to its caller
  const walk = (chain: string, depth: number): Verdict | undefined => {
    if (depth > 8) throw new Error(`chains nest deeper than expected at ${chain}`);
    for (const rule of ruleset.chains.get(chain) ?? []) {
      const m = rule.match;
      if (m.replies && !packet.reply) continue;
      if (m.src && !matches(m.src, packet.src)) continue;
      if (m.dst && !matches(m.dst, packet.dst)) continue;
      if (m.protocol && m.protocol !== packet.protocol) continue;
      if (m.ports && (packet.port < m.ports[0] || packet.port > m.ports[1])) continue;
      if (m.markBit !== undefined && (mark & m.markBit) === 0) continue;
      const t = rule.target;
      if (t === 'RETURN') return undefined;
      if (t === 'DROP') return { verdict: 'drop', chain };
      if ('setBit' in t) mark |= t.setBit;
      else if ('clearBit' in t) mark &= ~t.clearBit;
      else {
        const ended = walk(t.jump, depth + 1);
        if (ended) return ended;
      }
    }
    return undefined;
  };
  const ended = walk(fixedChains.top, 0);
  return ended ?? { verdict: 'pass' };
}
