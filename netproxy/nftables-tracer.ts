/**
 * Packet tracer for the nftables backend: pushes a simulated first packet of a connection through
 * an NftModel's base chains in the kernel's hook and priority order and reports every way it can
 * end, with its probability, in the same terms as the iptables tracer (so one oracle checks both).
 * `numgen random mod K == 0` forks the trace; affinity sets hold what the context says.
 */
import { cidrContains } from './ipv4.ts';
import type { NftModel, NftTable } from './nftables-model.ts';
import type { Flow, Packet, TraceContext, TraceOutcome } from './tracer.ts';

type Verdict = TraceOutcome['verdict'];

type End = 'continue' | 'return' | 'accept' | 'drop' | 'reject';
interface Ended {
  flow: Flow;
  end: End;
}

function isLocal(ip: string, ctx: TraceContext): boolean {
  return ip.startsWith('127.') || ctx.localAddresses.includes(ip);
}

const tokenCache = new Map<string, string[]>();

function tokenize(rule: string): string[] {
  let tokens = tokenCache.get(rule);
  if (tokens !== undefined) return tokens;
  tokens = rule.replaceAll('{', ' { ').replaceAll('}', ' } ').replaceAll(',', ' , ').split(/\s+/).filter(Boolean);
  if (tokenCache.size > 200_000) tokenCache.clear();
  tokenCache.set(rule, tokens);
  return tokens;
}

/** `ip daddr`, `ip saddr`, `meta l4proto`, `th dport` etc. as the packet shows them now. */
function field(name: string, pkt: Packet, flow: Flow): string {
  switch (name) {
    case 'ip saddr':
      return pkt.src;
    case 'ip daddr':
      return flow.dst;
    case 'meta l4proto':
      return pkt.protocol;
    case 'th dport':
      return String(flow.dport);
    case 'tcp dport':
    case 'udp dport':
    case 'sctp dport':
      // `tcp dport` matches only TCP packets
      return name.startsWith(pkt.protocol) ? String(flow.dport) : '';
    default:
      throw new Error(`trace: unknown field ${name}`);
  }
}

function matches(value: string, want: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(want) && want.includes('/') ? cidrContains(want, value) : value === want;
}

interface Walker {
  table: NftTable;
  pkt: Packet;
  ctx: TraceContext;
}

/** Runs one rule on one flow: the flows that go on to the next rule, and those that ended. */
function runRule(w: Walker, rule: string, flow: Flow, depth: number): { next: Flow[]; done: Ended[] } {
  const t = tokenize(rule);
  let f: Flow = flow;
  const next: Flow[] = [];
  const done: Ended[] = [];
  const skip = () => ({ next: [flow], done: [] });
  let i = 0;
  const readFields = (): string[] => {
    const names: string[] = [];
    for (;;) {
      names.push(`${t[i]} ${t[i + 1]}`);
      i += 2;
      if (t[i] !== '.') return names;
      i++;
    }
  };
  while (i < t.length) {
    const tok = t[i]!;
    const transport = (tok === 'tcp' || tok === 'udp' || tok === 'sctp') && t[i + 1] === 'dport';
    if (tok === 'ip' || (tok === 'meta' && t[i + 1] === 'l4proto') || tok === 'th' || transport) {
      const names = readFields();
      const key = names.map((n) => field(n, w.pkt, f)).join(' . ');
      const op = t[i];
      if (op === 'vmap' && t[i + 1]!.startsWith('@')) {
        const verdict = w.table.sets.get(t[i + 1]!.slice(1))?.verdicts?.get(key);
        if (verdict === undefined) return { next: [...next, f], done };
        return applyVerdict(w, verdict.split(' '), f, depth);
      }
      if (op === '!=') {
        if (matches(key, t[i + 1]!)) return skip();
        i += 2;
      } else if (op === '{') {
        const end = t.indexOf('}', i);
        const members = t.slice(i + 1, end).filter((x) => x !== ',');
        if (!members.some((m) => matches(key, m))) return skip();
        i = end + 1;
      } else if (op?.startsWith('@')) {
        const set = w.table.sets.get(op.slice(1));
        const hit =
          names.length === 1 && names[0] === 'ip saddr' && op.startsWith('@affinity-')
            ? (w.ctx.affinity?.has(op.slice(1)) ?? false)
            : (set?.elements.has(key) ?? false);
        if (!hit) return skip();
        i += 1;
      } else {
        if (!matches(key, op ?? '')) return skip();
        i += 1;
      }
      continue;
    }
    if (tok === 'fib') {
      const ip = t[i + 1] === 'saddr' ? w.pkt.src : f.dst;
      if (!isLocal(ip, w.ctx)) return skip();
      i += 4; // fib daddr type local
      continue;
    }
    if (tok === 'ct') {
      // The first packet of a new connection; `ct status dnat` once a DNAT rewrote it.
      if (t[i + 1] === 'state' && t[i + 2] !== 'new') return skip();
      if (t[i + 1] === 'status' && f.endpoint === undefined) return skip();
      i += 3;
      continue;
    }
    if (tok === 'numgen') {
      // numgen random mod K == 0
      const k = Number(t[i + 3]);
      next.push({ ...f, probability: f.probability * (1 - 1 / k) });
      f = { ...f, probability: f.probability / k };
      i += 6;
      continue;
    }
    if (tok === 'meta' && t[i + 1] === 'mark') {
      if (t[i + 2] === '&') {
        // meta mark & M == 0
        if ((f.mark & Number(t[i + 3])) !== Number(t[i + 5])) return skip();
        i += 6;
      } else {
        // meta mark set meta mark or|xor M
        const value = Number(t[i + 6]);
        f = { ...f, mark: t[i + 5] === 'or' ? f.mark | value : f.mark ^ value };
        i += 7;
      }
      continue;
    }
    if (tok === 'update') {
      f = { ...f, remembered: [...f.remembered, t[i + 1]!.slice(1)] };
      i = t.indexOf('}', i) + 1;
      continue;
    }
    if (tok === 'dnat' && t[i + 1] === 'ip') {
      // dnat ip addr . port to <fields> . numgen random mod N map @m: one lookup per draw; a
      // missing element ends the rule without a verdict, as the kernel's failed lookup does.
      i = t.indexOf('to', i) + 1;
      const names = readFields();
      // names end with `numgen random`; then `mod N map @m`
      const k = Number(t[i + 1]);
      const map = w.table.sets.get(t[i + 3]!.slice(1));
      const prefix = names.filter((n) => !n.startsWith('numgen')).map((n) => field(n, w.pkt, f));
      for (let draw = 0; draw < k; draw++) {
        const value = map?.verdicts?.get([...prefix, String(draw)].join(' . '));
        const share = { ...f, probability: f.probability / k };
        if (value === undefined) next.push(share);
        else {
          const [ip = '', port = ''] = value.split(' . ');
          done.push({ flow: { ...share, dst: ip, dport: Number(port), endpoint: `${ip}:${port}` }, end: 'accept' });
        }
      }
      return { next, done };
    }
    if (tok === 'dnat') {
      const to = t[i + 2]!;
      const [ip = '', port] = to.split(':');
      f = { ...f, dst: ip, dport: port === undefined ? f.dport : Number(port), endpoint: to };
      return { next, done: [...done, { flow: f, end: 'accept' }] };
    }
    if (tok === 'masquerade') return { next, done: [...done, { flow: { ...f, masqueraded: true }, end: 'accept' }] };
    if (tok === 'reject') return { next, done: [...done, { flow: f, end: 'reject' }] };
    const verdict = applyVerdict(w, t.slice(i), f, depth);
    return { next: [...next, ...verdict.next], done: [...done, ...verdict.done] };
  }
  return { next: [...next, f], done };
}

function applyVerdict(w: Walker, words: string[], f: Flow, depth: number): { next: Flow[]; done: Ended[] } {
  const [verb = '', target = ''] = words;
  switch (verb) {
    case 'accept':
    case 'drop':
    case 'return':
      return { next: [], done: [{ flow: f, end: verb }] };
    case 'jump':
    case 'goto': {
      const next: Flow[] = [];
      const done: Ended[] = [];
      for (const e of walk(w, target, f, depth + 1)) {
        // A jump comes back on return or at the end of the chain; a goto ends the calling chain too.
        if (e.end === 'continue' || e.end === 'return') {
          if (verb === 'jump') next.push(e.flow);
          else done.push({ flow: e.flow, end: 'return' });
        } else done.push(e);
      }
      return { next, done };
    }
    default:
      throw new Error(`trace: unknown statement ${words.join(' ')}`);
  }
}

function walk(w: Walker, chain: string, flow: Flow, depth: number): Ended[] {
  if (depth > 32) throw new Error(`trace: jump depth exceeded at ${chain}`);
  const rules = w.table.chains.get(chain)?.rules;
  if (rules === undefined) throw new Error(`trace: no chain ${chain}`);
  const done: Ended[] = [];
  let live = [flow];
  for (const rule of rules) {
    if (live.length === 0) break;
    const next: Flow[] = [];
    for (const f of live) {
      const r = runRule(w, rule, f, depth);
      next.push(...r.next);
      done.push(...r.done);
    }
    live = next;
  }
  for (const f of live) done.push({ flow: f, end: 'continue' });
  return done;
}

/** Runs every base chain on a hook, by priority; an accept ends only its own chain. */
function hook(
  model: NftModel,
  hookName: string,
  type: 'nat' | 'filter',
  pkt: Packet,
  flows: Flow[],
  ctx: TraceContext,
) {
  let live: Ended[] = flows.map((flow) => ({ flow, end: 'accept' }));
  const bases: { table: NftTable; chain: string; priority: number }[] = [];
  for (const table of model.tables.values())
    for (const [chain, c] of table.chains)
      if (c.hook?.hook === hookName && c.hook.type === type) bases.push({ table, chain, priority: c.hook.priority });
  bases.sort((a, b) => a.priority - b.priority);
  for (const base of bases) {
    const next: Ended[] = [];
    for (const e of live) {
      if (e.end !== 'accept') {
        next.push(e);
        continue;
      }
      for (const r of walk({ table: base.table, pkt, ctx }, base.chain, e.flow, 0))
        next.push({ flow: r.flow, end: r.end === 'continue' || r.end === 'return' ? 'accept' : r.end });
    }
    live = next;
  }
  return live;
}

const verdictOf = (end: End): Verdict => (end === 'drop' ? 'DROP' : end === 'reject' ? 'REJECT' : 'ACCEPT');

/** Where a packet ends up, in the kernel's order of hooks (nat before filter at each). */
export function traceNftPacket(
  model: NftModel,
  pkt: Packet,
  origin: 'local' | 'forwarded',
  ctx: TraceContext,
): TraceOutcome[] {
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
  const finish = (e: Ended) =>
    results.push({
      probability: e.flow.probability,
      verdict: verdictOf(e.end),
      endpoint: e.flow.endpoint,
      masqueraded: e.flow.masqueraded,
      remembered: e.flow.remembered,
    });
  const first = origin === 'local' ? 'output' : 'prerouting';
  for (const e of hook(model, first, 'nat', pkt, [start], ctx)) {
    if (e.end !== 'accept') {
      finish(e);
      continue;
    }
    const toLocal = isLocal(e.flow.dst, ctx);
    const filterHook = origin === 'local' ? 'output' : toLocal ? 'input' : 'forward';
    for (const f of hook(model, filterHook, 'filter', pkt, [e.flow], ctx)) {
      if (f.end !== 'accept' || (origin !== 'local' && toLocal)) {
        finish(f);
        continue;
      }
      for (const p of hook(model, 'postrouting', 'nat', pkt, [f.flow], ctx)) {
        if (origin === 'local' && toLocal && p.end === 'accept')
          for (const q of hook(model, 'input', 'filter', pkt, [p.flow], ctx)) finish(q);
        else finish(p);
      }
    }
  }
  return results;
}
