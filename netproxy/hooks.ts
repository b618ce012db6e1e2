/**
 * Keeping our hooks in the built-in chains. We never rewrite built-in chains (other software owns
 * rules there too), so a full sync lists them and inserts only the hooks that are missing.
 */
import { hookRules, type HookRule, type Table } from './chain-names.ts';
import { jumpTarget } from './iptables-model.ts';

/** The built-in chains that hold our hooks, as "table/chain". */
export const hookedChains: readonly { table: Table; chain: string }[] = [
  ...new Map(hookRules.map((h) => [`${h.table}/${h.chain}`, { table: h.table, chain: h.chain }])).values(),
];

/**
 * Hooks absent from the listings (`iptables -S <chain>` output per "table/chain"). A hook counts
 * as present when its chain has any rule jumping to its target: the kernel's spelling of matches
 * differs from ours, the target does not.
 */
export function missingHooks(listings: ReadonlyMap<string, readonly string[]>): HookRule[] {
  return hookRules.filter((h) => {
    const lines = listings.get(`${h.table}/${h.chain}`) ?? [];
    return !lines.some((l) => l.startsWith(`-A ${h.chain} `) && jumpTarget(l) === h.target);
  });
}

/** Adds `-I` lines for the given hooks at the end of each table's section of a payload. */
export function insertHooks(payload: string, hooks: readonly HookRule[]): string {
  if (hooks.length === 0) return payload;
  let out = payload;
  for (const table of ['filter', 'nat'] as const) {
    // Inserted at position 1 in reverse, so they end up at the top in our order.
    const lines = hooks
      .filter((h) => h.table === table)
      .reverse()
      .map((h) => `-I ${h.chain} 1 ${h.args}`);
    if (lines.length === 0) continue;
    const start = out.indexOf(`*${table}\n`);
    const commit = start < 0 ? -1 : out.indexOf('\nCOMMIT\n', start);
    if (commit < 0) out += `*${table}\n${lines.join('\n')}\nCOMMIT\n`;
    else out = `${out.slice(0, commit)}\n${lines.join('\n')}${out.slice(commit)}`;
  }
  return out;
}
