/**
 * Packet tracer: pushes a simulated first packet of a connection through an iptables model (nat
 * and filter, in the kernel's hook order) and reports every way it can end, with its probability:
 * the endpoint it was DNATed to (if any), the verdict, and whether it is masqueraded. Random
 * balancing rules fork the trace, so a test can check the exact distribution instead of sampling.
 * Tests use it to check behaviour rather than rule text.
 */
import { cidrContains } from './ipv4.ts';
import type { IptablesModel } from './iptables-model.ts';

export interface Packet {
  src: string;
  dst: string;
  protocol: 'tcp' | 'udp' | 'sctp';
  dport: number;
}

/** Where the packet enters the node. */
type Origin =
  /** a process on the node: nat OUTPUT, filter OUTPUT, nat POSTROUTING */
  | 'local'
  /** a pod behind the node's bridge, or another host: nat PREROUTING, then INPUT or FORWARD */
  | 'forwarded';

export interface IpSet {
  type: 'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'bitmap:port' | 'hash:net';
  members: ReadonlySet<string>;
}

export interface TraceContext {
  /** The node's own addresses (addrtype LOCAL); 127.0.0.0/8 always counts. */
  localAddresses: readonly string[];
  /** xt_recent lists that already hold the packet's source (ClientIP affinity). */
  affinity?: ReadonlySet<string>;
  /** ipset contents for `-m set` matches (IPVS mode). */
  ipsets?: ReadonlyMap<string, IpSet>;
  /**
   * IPVS virtual servers (IPVS mode): real servers for a locally delivered packet, which IPVS
   * then forwards out through POSTROUTING; round robin, so each is equally likely.
   */
  ipvs?: (protocol: string, dst: string, dport: number) => readonly { address: string; port: number }[] | undefined;
}

type Verdict = 'ACCEPT' | 'DROP' | 'REJECT';

export interface TraceOutcome {
  probability: number;
  verdict: Verdict;
  /** `ip:port` the packet was DNATed to, when it was. */
  endpoint: string | undefined;
  masqueraded: boolean;
  /** xt_recent lists the packet's source was added to. */
  remembered: string[];
}

interface ParsedRule {
  src?: { cidr: string; neg: boolean };
  dst?: { cidr: string; neg: boolean };
  protocol?: string;
  dport?: [number, number];
  srcLocal?: boolean;
  dstLocal?: { neg: boolean };
  probability?: number;
  recent?: { name: string; mode: 'set' | 'check' };
  mark?: { value: number; mask: number; neg: boolean };
  ctstate?: { states: string[]; neg: boolean };
  matchSet?: { name: string; dirs: string[]; neg: boolean };
  target: string;
  toDestination?: string;
  orMark?: number;
  xorMark?: number;
}

function tokenize(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (const m of s.matchAll(re)) out.push(m[1] ?? m[2] ?? '');
  return out;
}

const parsedCache = new Map<string, ParsedRule>();

function parseRule(args: string): ParsedRule {
  const hit = parsedCache.get(args);
  if (hit) return hit;
  const t = tokenize(args);
  const rule: ParsedRule = { target: '' };
  let neg = false;
  for (let i = 0; i < t.length; i++) {
    const tok = t[i]!;
    const next = () => t[++i] ?? '';
    switch (tok) {
      case '!':
        neg = true;
        continue;
      case '-s':
        rule.src = { cidr: next(), neg };
        break;
      case '-d':
        rule.dst = { cidr: next(), neg };
        break;
      case '-p':
        rule.protocol = next();
        break;
      case '--dport': {
        const [lo = '0', hi] = next().split(':');
        rule.dport = [Number(lo), Number(hi ?? lo)];
        break;
      }
      case '--src-type':
        next();
        rule.srcLocal = true;
        break;
      case '--dst-type':
        next();
        rule.dstLocal = { neg };
        break;
      case '--probability':
        rule.probability = Number(next());
        break;
      case '--name':
        rule.recent = { name: next(), mode: rule.recent?.mode ?? 'check' };
        break;
      case '--set':
        rule.recent = { name: rule.recent?.name ?? '', mode: 'set' };
        break;
      case '--rcheck':
      case '--update':
        break;
      case '--mark': {
        const [v = '0', m] = next().split('/');
        rule.mark = { value: Number(v), mask: m === undefined ? 0xffffffff : Number(m), neg };
        break;
      }
      case '--ctstate':
        rule.ctstate = { states: next().split(','), neg };
        break;
      case '--match-set':
        rule.matchSet = { name: next(), dirs: next().split(','), neg };
        break;
      case '-j':
        rule.target = next();
        break;
      case '--to-destination':
        rule.toDestination = next();
        break;
      case '--or-mark':
        rule.orMark = Number(next());
        break;
      case '--xor-mark':
        rule.xorMark = Number(next());
        break;
      case '--comment':
        next();
        break;
      default:
        break;
    }
    neg = false;
  }
  // A `--name` seen after `--set` must not turn the rule back into a check.
  if (/(^| )--set( |$)/.test(args) && rule.recent) rule.recent.mode = 'set';
  if (parsedCache.size > 1_000_000) parsedCache.clear();
  parsedCache.set(args, rule);
  return rule;
}

export interface Flow {
  probability: number;
  dst: string;
  dport: number;
  mark: number;
  endpoint: string | undefined;
  remembered: string[];
  masqueraded: boolean;
}

type ChainEnd = 'continue' | 'ACCEPT' | 'DROP' | 'REJECT' | 'NAT';

function isLocal(ip: string, ctx: TraceContext): boolean {
  return ip.startsWith('127.') || ctx.localAddresses.includes(ip);
}

function setKey(set: IpSet, dirs: readonly string[], pkt: Packet, flow: Flow): string {
  const addr = (dir: string | undefined) => (dir === 'src' ? pkt.src : flow.dst);
  const port = (dir: string | undefined) => (dir === 'src' ? '0' : String(flow.dport));
  switch (set.type) {
    case 'bitmap:port':
      return port(dirs[0]);
    case 'hash:ip':
    case 'hash:net':
      return addr(dirs[0]);
    case 'hash:ip,port':
      return `${addr(dirs[0])},${pkt.protocol}:${port(dirs[1])}`;
    case 'hash:ip,port,ip':
      return `${addr(dirs[0])},${pkt.protocol}:${port(dirs[1])},${addr(dirs[2])}`;
  }
}

function inSet(set: IpSet, key: string, pkt: Packet, flow: Flow, dirs: readonly string[]): boolean {
  if (set.type !== 'hash:net') return set.members.has(key);
  const ip = dirs[0] === 'src' ? pkt.src : flow.dst;
  for (const cidr of set.members) if (cidrContains(cidr, ip)) return true;
  return false;
}

/** Probability with which the rule's matches hold (statistic is the only non-0/1 one). */
function matchChance(r: ParsedRule, pkt: Packet, flow: Flow, ctx: TraceContext, dnatDone: boolean): number {
  if (r.protocol !== undefined && r.protocol !== pkt.protocol) return 0;
  if (r.src && cidrContains(r.src.cidr, pkt.src) === r.src.neg) return 0;
  if (r.dst && cidrContains(r.dst.cidr, flow.dst) === r.dst.neg) return 0;
  if (r.dport && (flow.dport < r.dport[0] || flow.dport > r.dport[1])) return 0;
  if (r.srcLocal && !isLocal(pkt.src, ctx)) return 0;
  if (r.dstLocal && isLocal(flow.dst, ctx) === r.dstLocal.neg) return 0;
  if (r.mark && ((flow.mark & r.mark.mask) === r.mark.value) === r.mark.neg) return 0;
  if (r.ctstate) {
    // First packet of a new flow; DNAT is set once a DNAT rule rewrote it.
    const states = new Set(['NEW', ...(dnatDone ? ['DNAT'] : [])]);
    if (r.ctstate.states.some((s) => states.has(s)) === r.ctstate.neg) return 0;
  }
  if (r.matchSet) {
    const set = ctx.ipsets?.get(r.matchSet.name);
    const hit = set !== undefined && inSet(set, setKey(set, r.matchSet.dirs, pkt, flow), pkt, flow, r.matchSet.dirs);
    if (hit === r.matchSet.neg) return 0;
  }
  if (r.recent && r.recent.mode === 'check' && !(ctx.affinity?.has(r.recent.name) ?? false)) return 0;
  return r.probability ?? 1;
}

interface Ended {
  flow: Flow;
  end: ChainEnd;
}

function walk(
  model: IptablesModel,
  table: string,
  chain: string,
  pkt: Packet,
  flow: Flow,
  ctx: TraceContext,
  depth: number,
): Ended[] {
  if (depth > 64) throw new Error(`trace: jump depth exceeded at ${table}/${chain}`);
  const rules = model.tables.get(table)?.get(chain);
  if (rules === undefined) throw new Error(`trace: no chain ${table}/${chain}`);
  const done: Ended[] = [];
  let live: Flow[] = [flow];
  for (const line of rules) {
    if (live.length === 0) break;
    const r = parseRule(line);
    const next: Flow[] = [];
    for (const f of live) {
      const chance = matchChance(r, pkt, f, ctx, f.endpoint !== undefined);
      if (chance === 0) {
        next.push(f);
        continue;
      }
      if (chance < 1) next.push({ ...f, probability: f.probability * (1 - chance) });
      const hit: Flow = { ...f, probability: f.probability * chance, remembered: [...f.remembered] };
      if (r.recent?.mode === 'set') hit.remembered.push(r.recent.name);
      switch (r.target) {
        case 'ACCEPT':
          done.push({ flow: hit, end: 'ACCEPT' });
          break;
        case 'DROP':
          done.push({ flow: hit, end: 'DROP' });
          break;
        case 'REJECT':
          done.push({ flow: hit, end: 'REJECT' });
          break;
        case 'RETURN':
          done.push({ flow: hit, end: 'continue' });
          break;
        case 'DNAT': {
          const to = r.toDestination ?? '';
          const [ip = '', port] = to.split(':');
          done.push({
            flow: { ...hit, dst: ip, dport: port === undefined ? hit.dport : Number(port), endpoint: to },
            end: 'NAT',
          });
          break;
        }
        case 'MASQUERADE':
        case 'SNAT':
          done.push({ flow: { ...hit, masqueraded: true }, end: 'NAT' });
          break;
        case 'MARK':
          if (r.orMark !== undefined) hit.mark |= r.orMark;
          if (r.xorMark !== undefined) hit.mark ^= r.xorMark;
          next.push(hit);
          break;
        case '':
          next.push(hit);
          break;
        default: {
          for (const sub of walk(model, table, r.target, pkt, hit, ctx, depth + 1)) {
            if (sub.end === 'continue') next.push(sub.flow);
            else done.push(sub);
          }
        }
      }
    }
    live = next;
  }
  for (const f of live) done.push({ flow: f, end: 'continue' });
  return done;
}

/** Runs one built-in chain; the chain's policy (ACCEPT) applies when nothing decides. */
function hook(
  model: IptablesModel,
  table: string,
  chain: string,
  pkt: Packet,
  flows: Flow[],
  ctx: TraceContext,
): Ended[] {
  const out: Ended[] = [];
  for (const f of flows) {
    if (!model.tables.get(table)?.has(chain)) {
      out.push({ flow: f, end: 'ACCEPT' });
      continue;
    }
    for (const e of walk(model, table, chain, pkt, f, ctx, 0))
      out.push(e.end === 'continue' || e.end === 'NAT' ? { flow: e.flow, end: 'ACCEPT' } : e);
  }
  return out;
}

export function tracePacket(model: IptablesModel, pkt: Packet, origin: Origin, ctx: TraceContext): TraceOutcome[] {
  const start: Flow = {
    probability: 1,
    dst: pkt.dst,
    dport: pkt.dport,
    mark: 0,
    endpoint: undefined,
    remembered: [],
    masqueraded: false,
  };
  const results: TraceOutcome[] = [];
  const finish = (e: Ended, verdict: Verdict) =>
    results.push({
      probability: e.flow.probability,
      verdict,
      endpoint: e.flow.endpoint,
      masqueraded: e.flow.masqueraded,
      remembered: e.flow.remembered,
    });
  const natIn = hook(model, 'nat', origin === 'local' ? 'OUTPUT' : 'PREROUTING', pkt, [start], ctx);
  for (const e of natIn) {
    if (e.end !== 'ACCEPT') {
      finish(e, e.end as Verdict);
      continue;
    }
    const toLocal = isLocal(e.flow.dst, ctx);
    const filterChain = origin === 'local' ? 'OUTPUT' : toLocal ? 'INPUT' : 'FORWARD';
    for (const f of hook(model, 'filter', filterChain, pkt, [e.flow], ctx)) {
      if (f.end !== 'ACCEPT') {
        finish(f, f.end as Verdict);
        continue;
      }
      if (toLocal && ctx.ipvs !== undefined) {
        const reals = ctx.ipvs(pkt.protocol, f.flow.dst, f.flow.dport);
        if (reals !== undefined && reals.length > 0) {
          const forwarded = reals.map((r) => ({
            ...f.flow,
            probability: f.flow.probability / reals.length,
            dst: r.address,
            dport: r.port,
            endpoint: `${r.address}:${r.port}`,
          }));
          for (const p of hook(model, 'nat', 'POSTROUTING', pkt, forwarded, ctx)) finish(p, p.end as Verdict);
          continue;
        }
      }
      // Packets delivered to this host skip POSTROUTING unless they were generated here.
      if (origin !== 'local' && toLocal) {
        finish(f, 'ACCEPT');
        continue;
      }
      for (const p of hook(model, 'nat', 'POSTROUTING', pkt, [f.flow], ctx)) {
        if (origin === 'local' && toLocal && p.end === 'ACCEPT') {
          for (const q of hook(model, 'filter', 'INPUT', pkt, [p.flow], ctx)) finish(q, q.end as Verdict);
        } else finish(p, p.end as Verdict);
      }
    }
  }
  return results;
}

/** Sums outcomes by a label: the endpoint when accepted after DNAT, else the verdict. */
export function landing(outcomes: readonly TraceOutcome[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of outcomes) {
    const label = o.verdict === 'ACCEPT' ? (o.endpoint ?? 'ACCEPT') : o.verdict;
    out.set(label, (out.get(label) ?? 0) + o.probability);
  }
  return out;
}
