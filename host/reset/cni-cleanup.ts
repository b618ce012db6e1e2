/**
 * What bosun's CNI configuration left on the machine: the conflist itself, the host-local IPAM
 * folder of its network, and the bridge the bridge plugin made. Read from the conflist, so a moved
 * IPAM folder or another bridge name is found too.
 */
import { join } from 'node:path';
import { conflistFileName } from '../../agent/pod-network/settings.ts';

/** The conflist the agent writes (agent/pod-network/cni-conflist.ts). */
export const bosunConflistName = conflistFileName;

interface CniLeftovers {
  conflist: string;
  ipamDir: string;
  bridge: string | undefined;
}

interface Conflist {
  name?: string;
  plugins?: { type?: string; bridge?: string; ipam?: { type?: string; dataDir?: string } }[];
}

export function cniLeftovers(confDir: string, conflistText: string): CniLeftovers {
  const parsed = JSON.parse(conflistText) as Conflist;
  const bridgePlugin = parsed.plugins?.find((p) => p.type === 'bridge');
  const ipam = parsed.plugins?.map((p) => p.ipam).find((i) => i?.type === 'host-local');
  const network = parsed.name ?? 'bosun';
  return {
    conflist: join(confDir, bosunConflistName),
    // host-local keeps a network's leases in <dataDir>/<network name>
    ipamDir: join(ipam?.dataDir ?? '/var/lib/cni/networks', network),
    bridge: bridgePlugin === undefined ? undefined : (bridgePlugin.bridge ?? 'cni0'),
  };
}
