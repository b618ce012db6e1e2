/**
 * Which iptables the host uses. Two kernels' worth of rules (nf_tables and legacy x_tables) can
 * coexist, and then packets pass both rule sets in an order nobody chose: a host whose other
 * software writes one kind while we write the other is broken in ways that are hard to see. So we
 * follow whichever backend already holds rules, and refuse to start where both do.
 */
import type { CommandRunner } from './command-runner.ts';
import { ProxyError, ProxyErrorCode } from './errors.ts';

type BackendKind = 'nf_tables' | 'legacy';

export interface IptablesBackend {
  kind: BackendKind;
  /** iptables command for single operations (-S, -C) */
  iptables: string;
  restore: string;
  save: string;
}

export const backends: Record<BackendKind, IptablesBackend> = {
  nf_tables: {
    kind: 'nf_tables',
    iptables: 'iptables-nft',
    restore: 'iptables-nft-restore',
    save: 'iptables-nft-save',
  },
  legacy: {
    kind: 'legacy',
    iptables: 'iptables-legacy',
    restore: 'iptables-legacy-restore',
    save: 'iptables-legacy-save',
  },
};

/** Rule lines in an iptables-save dump (chains alone do not count: they are cheap to leave behind). */
function countRules(save: string): number {
  let n = 0;
  for (const line of save.split('\n')) if (line.startsWith('-A ')) n++;
  return n;
}

/** Pure choice from the two dumps (undefined when that backend's tools are missing). */
export function chooseBackend(nftSave: string | undefined, legacySave: string | undefined): IptablesBackend {
  const nft = nftSave === undefined ? 0 : countRules(nftSave);
  const legacy = legacySave === undefined ? 0 : countRules(legacySave);
  if (nft > 0 && legacy > 0) {
    throw new ProxyError(
      ProxyErrorCode.mixedBackends,
      `iptables rules exist in both backends (nf_tables: ${nft} rules, legacy: ${legacy} rules); ` +
        'packets would pass both rule sets in an undefined order. Remove one set (e.g. iptables-legacy-save shows the legacy rules) ' +
        'or make every tool on this host use the same iptables, then start again',
    );
  }
  if (legacy > 0) return backends.legacy;
  if (nftSave !== undefined) return backends.nf_tables;
  if (legacySave !== undefined) return backends.legacy;
  throw new ProxyError(
    ProxyErrorCode.noIptables,
    'neither iptables-nft-save nor iptables-legacy-save works on this host; install the iptables package',
  );
}

export async function detectBackend(runner: CommandRunner): Promise<IptablesBackend> {
  const dump = async (command: string) => {
    try {
      const r = await runner.run([command], { timeoutMs: 30_000 });
      return r.code === 0 ? r.stdout : undefined;
    } catch {
      return undefined;
    }
  };
  const [nft, legacy] = await Promise.all([dump(backends.nf_tables.save), dump(backends.legacy.save)]);
  return chooseBackend(nft, legacy);
}
