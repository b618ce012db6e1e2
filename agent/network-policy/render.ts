/**
 * The model as text for the tools: one `iptables-restore --noflush` payload for the filter table
 * (every chain of ours rewritten whole, stale ones deleted, the FORWARD hook put first), and
 * `ipset restore` text for the sets that do not exist yet and for those no longer used. Pure.
 */
import { hookArgs, type Address, type Rule, type Ruleset } from './ruleset.ts';

/** What the applier found on the node before this sync. */
export interface ObservedFilter {
  /** Our chains that exist now. */
  readonly chains: ReadonlySet<string>;
  /** Whether FORWARD's first rule is our hook, and whether the hook is anywhere in FORWARD. */
  readonly hookFirst: boolean;
  readonly hookPresent: boolean;
}

const hex = (n: number) => `0x${n.toString(16)}`;

function address(flag: '-s' | '-d', a: Address): string {
  return 'cidr' in a ? `${flag} ${a.cidr}` : `-m set --match-set ${a.set} ${flag === '-s' ? 'src' : 'dst'}`;
}

/** Comments carry names the API validated; anything else is dropped rather than quoted. */
const safeComment = (text: string) => text.replaceAll(/[^A-Za-z0-9./ -]/g, '').slice(0, 250);

function ruleText(chain: string, rule: Rule): string {
  const m = rule.match;
  const parts = [`-A ${chain}`];
  if (m.replies) parts.push('-m conntrack --ctstate RELATED,ESTABLISHED');
  if (m.src) parts.push(address('-s', m.src));
  if (m.dst) parts.push(address('-d', m.dst));
  if (m.protocol) {
    const p = m.protocol.toLowerCase();
    parts.push(`-p ${p}`);
    if (m.ports)
      parts.push(`-m ${p} --dport ${m.ports[0] === m.ports[1] ? m.ports[0] : `${m.ports[0]}:${m.ports[1]}`}`);
  }
  if (m.markBit !== undefined) parts.push(`-m mark --mark ${hex(m.markBit)}/${hex(m.markBit)}`);
  if (rule.comment) parts.push(`-m comment --comment "${safeComment(rule.comment)}"`);
  const t = rule.target;
  if (t === 'RETURN' || t === 'DROP') parts.push(`-j ${t}`);
  else if ('jump' in t) parts.push(`-j ${t.jump}`);
  else if ('setBit' in t) parts.push(`-j MARK --set-xmark ${hex(t.setBit)}/${hex(t.setBit)}`);
  else parts.push(`-j MARK --set-xmark 0x0/${hex(t.clearBit)}`);
  return parts.join(' ');
}

/**
 * A ruleset's chain declarations and rules as text, rendered once per ruleset: the enforcer's
 * check for a change and the apply that follows both need them, and at a thousand policies they
 * take milliseconds. Rulesets are not changed once compiled.
 */
const renderedChains = new WeakMap<Ruleset, { readonly declarations: string; readonly rules: string }>();

function chainsText(ruleset: Ruleset): { readonly declarations: string; readonly rules: string } {
  let text = renderedChains.get(ruleset);
  if (text === undefined) {
    const rules: string[] = [];
    for (const [name, chainRules] of ruleset.chains) for (const rule of chainRules) rules.push(ruleText(name, rule));
    text = {
      declarations: [...ruleset.chains.keys()].map((name) => `:${name} - [0:0]`).join('\n'),
      rules: rules.join('\n'),
    };
    renderedChains.set(ruleset, text);
  }
  return text;
}

/** The filter table payload: our chains flushed and refilled, stale ones deleted, the hook first in FORWARD. */
export function renderFilter(ruleset: Ruleset, observed: ObservedFilter): string {
  const { declarations, rules } = chainsText(ruleset);
  const out = ['*filter'];
  if (declarations !== '') out.push(declarations);
  const stale = [...observed.chains].filter((c) => !ruleset.chains.has(c)).sort();
  for (const name of stale) out.push(`:${name} - [0:0]`);
  if (rules !== '') out.push(rules);
  for (const name of stale) out.push(`-X ${name}`);
  if (!observed.hookFirst) {
    if (observed.hookPresent) out.push(`-D FORWARD ${hookArgs}`);
    out.push(`-I FORWARD 1 ${hookArgs}`);
  }
  out.push('COMMIT', '');
  return out.join('\n');
}

/** Creates the sets the rules need that do not exist yet (sets never change: their names are their content). */
export function renderSetCreation(ruleset: Ruleset, existing: ReadonlySet<string>): string {
  const out: string[] = [];
  for (const [name, set] of ruleset.sets) {
    if (existing.has(name)) continue;
    out.push(`create ${name} ${set.type} family inet maxelem ${Math.max(65536, set.members.length)} -exist`);
    for (const m of set.members) out.push(`add ${name} ${m.entry}${m.nomatch ? ' nomatch' : ''} -exist`);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** Destroys our sets that no rule uses any more (after the filter payload stopped using them). */
export function renderSetRemoval(ruleset: Ruleset, existing: ReadonlySet<string>): string {
  const gone = [...existing].filter((name) => !ruleset.sets.has(name)).sort();
  return gone.length === 0 ? '' : `${gone.map((name) => `destroy ${name}`).join('\n')}\n`;
}
