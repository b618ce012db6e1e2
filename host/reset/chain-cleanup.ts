/**
 * Removing bosun's service rules from iptables: from an `iptables-save` text, the one
 * `iptables-restore --noflush` payload that deletes our hook rules in the built-in chains, then
 * flushes and deletes every chain under our prefix — and touches nothing else.
 */
import { chainPrefix } from '../../netproxy/chain-names.ts';

export function planChainCleanup(saveText: string): string | undefined {
  const out: string[] = [];
  let table: string | undefined;
  let ours: string[] = [];
  let hooks: string[] = [];
  const flush = () => {
    if (table !== undefined && ours.length + hooks.length > 0) {
      out.push(`*${table}`, ...ours.map((c) => `:${c} - [0:0]`), ...hooks, ...ours.map((c) => `-X ${c}`), 'COMMIT');
    }
    ours = [];
    hooks = [];
  };
  for (const line of saveText.split('\n')) {
    if (line.startsWith('*')) {
      flush();
      table = line.slice(1).trim();
    } else if (line.startsWith(':')) {
      const chain = line.slice(1).split(' ')[0]!;
      if (chain.startsWith(chainPrefix)) ours.push(chain);
    } else if (line.startsWith('-A ')) {
      const [, chain] = line.split(' ');
      // a rule of someone else's chain that jumps into ours (our own chains are flushed whole)
      if (!chain!.startsWith(chainPrefix) && new RegExp(` -[jg] ${chainPrefix}`).test(line))
        hooks.push(`-D ${line.slice(3)}`);
    } else if (line.startsWith('COMMIT')) {
      flush();
      table = undefined;
    }
  }
  return out.length === 0 ? undefined : `${out.join('\n')}\n`;
}
