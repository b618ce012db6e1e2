/**
 * Removing bosun's rules from iptables: from an `iptables-save` text, the one
 * `iptables-restore --noflush` payload that deletes our hook rules in the built-in chains, then
 * flushes and deletes every chain under our prefixes (the proxy's BOSUN-, the pod network's
 * BOSUNPOD-, the network policies' BOSUNPOL-) — and touches nothing else; and the `ipset restore`
 * text that destroys the policies' address sets.
 */
import { chainPrefix as serviceChainPrefix } from '../../netproxy/chain-names.ts';
import { podNetworkChainPrefix } from '../../agent/pod-network/masquerade.ts';
import { chainPrefix as policyChainPrefix, setPrefix } from '../../agent/network-policy/ruleset.ts';

const prefixes = [serviceChainPrefix, podNetworkChainPrefix, policyChainPrefix];
const isOurs = (chain: string) => prefixes.some((p) => chain.startsWith(p));
const jumpsToOurs = new RegExp(` -[jg] (${prefixes.join('|')})`);

/** `ipset restore` text destroying our sets, from `ipset list -n`; undefined when there are none. */
export function planSetCleanup(listText: string): string | undefined {
  const ours = listText.split('\n').filter((name) => name.startsWith(setPrefix));
  return ours.length === 0 ? undefined : `${ours.map((name) => `destroy ${name}`).join('\n')}\n`;
}

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
      if (isOurs(chain)) ours.push(chain);
    } else if (line.startsWith('-A ')) {
      const [, chain] = line.split(' ');
      // a rule of someone else's chain that jumps into ours (our own chains are flushed whole)
      if (!isOurs(chain!) && jumpsToOurs.test(line)) hooks.push(`-D ${line.slice(3)}`);
    } else if (line.startsWith('COMMIT')) {
      flush();
      table = undefined;
    }
  }
  return out.length === 0 ? undefined : `${out.join('\n')}\n`;
}
