/**
 * Masquerade of pod traffic that leaves the cluster: a pod talking to another pod (on any node) or
 * to a Service keeps its own source address; anything else from a pod leaves with the node's. One
 * iptables-restore payload with our own chains, hooked once into POSTROUTING and FORWARD.
 * The chains are named BOSUNPOD-*, outside the proxy's BOSUN- prefix: the proxy deletes every
 * BOSUN- chain it did not render.
 */
export const podNetworkChainPrefix = 'BOSUNPOD-';
const masqueradeChains = {
  postrouting: `${podNetworkChainPrefix}POSTROUTING`,
  forward: `${podNetworkChainPrefix}FORWARD`,
} as const;

export interface MasqueradeSettings {
  clusterCIDR: string;
  /** Service addresses: traffic to them is the proxy's (DNAT); never masqueraded here. */
  serviceCIDR: string | undefined;
}

interface MasqueradeHook {
  table: 'nat' | 'filter';
  chain: string;
  target: string;
  args: string;
}

export const masqueradeHooks: readonly MasqueradeHook[] = [
  {
    table: 'nat',
    chain: 'POSTROUTING',
    target: masqueradeChains.postrouting,
    args: `-m comment --comment "bosun pod network masquerade" -j ${masqueradeChains.postrouting}`,
  },
  {
    table: 'filter',
    chain: 'FORWARD',
    target: masqueradeChains.forward,
    args: `-m comment --comment "bosun pod network forwarding" -j ${masqueradeChains.forward}`,
  },
];

/** The whole payload for `iptables-restore --noflush`: declaring a chain empties it, so each sync rewrites both. */
export function renderMasquerade(s: MasqueradeSettings, missingHooks: readonly MasqueradeHook[]): string {
  const { postrouting, forward } = masqueradeChains;
  const hook = (table: string) => missingHooks.filter((h) => h.table === table).map((h) => `-I ${h.chain} 1 ${h.args}`);
  return [
    '*nat',
    `:${postrouting} - [0:0]`,
    `-A ${postrouting} -s ${s.clusterCIDR} -d ${s.clusterCIDR} -m comment --comment "pod to pod" -j RETURN`,
    ...(s.serviceCIDR === undefined
      ? []
      : [`-A ${postrouting} -s ${s.clusterCIDR} -d ${s.serviceCIDR} -m comment --comment "pod to service" -j RETURN`]),
    `-A ${postrouting} -s ${s.clusterCIDR} ! -d 224.0.0.0/4 -m comment --comment "pod leaving the cluster" -j MASQUERADE`,
    ...hook('nat'),
    'COMMIT',
    '*filter',
    `:${forward} - [0:0]`,
    // hosts whose FORWARD policy is DROP (Docker sets it) would drop pod traffic between nodes
    `-A ${forward} -s ${s.clusterCIDR} -m comment --comment "from pods" -j ACCEPT`,
    `-A ${forward} -d ${s.clusterCIDR} -m comment --comment "to pods" -j ACCEPT`,
    ...hook('filter'),
    'COMMIT',
    '',
  ].join('\n');
}

/** Hooks whose chain lists no rule jumping to our chain (`iptables -t <table> -S <chain>` output per hook). */
export function missingMasqueradeHooks(listings: readonly string[]): MasqueradeHook[] {
  return masqueradeHooks.filter(
    (h, i) =>
      !(listings[i] ?? '').split('\n').some((l) => l.startsWith(`-A ${h.chain} `) && l.includes(`-j ${h.target}`)),
  );
}
