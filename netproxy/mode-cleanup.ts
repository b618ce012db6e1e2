/**
 * Switching proxy modes removes what the other mode left, as kube-proxy does when it starts in a
 * new mode: rules from two modes would both rewrite the same packets. nftables mode removes our
 * iptables hooks and BOSUN-* chains; iptables and IPVS modes remove our nftables table. Best
 * effort: a host without the other mode's tools has nothing of it to remove.
 */
import { chainPrefix } from './chain-names.ts';
import type { CommandRunner } from './command-runner.ts';
import { detectBackend } from './iptables-backend.ts';
import { NftablesApplier } from './nftables-applier.ts';
import type { ProxyLogger } from './proxy-logger.ts';

/**
 * An `iptables-restore --noflush` payload that removes our hooks from the built-in chains and
 * then every chain of ours, from an `iptables-save` dump. Pure; empty when nothing is ours.
 */
export function iptablesCleanupPayload(save: string): string {
  const out: string[] = [];
  let table = '';
  let declared: string[] = [];
  let unhooks: string[] = [];
  const finish = () => {
    if (table === '' || declared.length + unhooks.length === 0) return;
    // Declaring a chain flushes it, so jumps between our own chains are gone before the deletes.
    out.push(
      `*${table}`,
      ...declared.map((c) => `:${c} - [0:0]`),
      ...unhooks,
      ...declared.map((c) => `-X ${c}`),
      'COMMIT',
    );
  };
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) {
      finish();
      table = line.slice(1).trim();
      declared = [];
      unhooks = [];
    } else if (line.startsWith(`:${chainPrefix}`)) declared.push(line.slice(1).split(' ')[0]!);
    else if (line.startsWith('-A ') && !line.startsWith(`-A ${chainPrefix}`) && line.includes(` -j ${chainPrefix}`))
      unhooks.push(`-D ${line.slice(3)}`);
  }
  finish();
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

export async function removeIptablesRules(runner: CommandRunner, log: ProxyLogger): Promise<void> {
  try {
    const flavour = await detectBackend(runner);
    const save = await runner.run([flavour.save], { timeoutMs: 120_000 });
    if (save.code !== 0) return;
    const payload = iptablesCleanupPayload(save.stdout);
    if (payload === '') return;
    const r = await runner.run([flavour.restore, '-w', '--noflush'], { input: payload, timeoutMs: 120_000 });
    if (r.code === 0) log.info({}, 'removed the iptables rules of an earlier proxy mode');
    else log.warn({ err: r.stderr.trim() }, 'could not remove the iptables rules of an earlier proxy mode');
  } catch {
    // no iptables on this host: nothing of the other mode can exist
  }
}

export async function removeNftablesTable(runner: CommandRunner, log: ProxyLogger): Promise<void> {
  try {
    if (await new NftablesApplier(runner).deleteTable())
      log.info({}, 'removed the nftables table of an earlier proxy mode');
  } catch {
    // no nft on this host
  }
}
