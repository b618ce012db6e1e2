/**
 * The pod network's planner: desired state from this node's facts and its peers', compared with
 * what the kernel holds (read back, never remembered), gives the actions that make them equal.
 * Pure: the executor (ip-host.ts) observes and acts, the loop (pod-network.ts) ties them.
 *
 * Per peer, as flannel does:
 *   host-gw  route <peer podCIDR> via <peer IP>                         (peer on a connected subnet)
 *   vxlan    route <peer podCIDR> via <peer VTEP address> dev bosun.1 onlink
 *            neighbour <peer VTEP address> lladdr <peer VTEP MAC> dev bosun.1
 *            fdb <peer VTEP MAC> dev bosun.1 dst <peer IP>
 *   auto     host-gw where the peer's IP is on a directly connected subnet, vxlan otherwise
 * A node's VTEP address is the first address of its podCIDR (10.244.3.0 for 10.244.3.0/24), on
 * bosun.1 as a /32, so it never clashes with the bridge's gateway (.1) or a pod.
 *
 * What the planner may touch is bounded: routes that carry our protocol number and whose
 * destination lies inside the cluster CIDR, and the neighbour and FDB entries of bosun.1. Nothing
 * else of the node's routing is ever changed.
 */
import { cidrContains } from '../../netproxy/ipv4.ts';
import type { NodeNetworkFacts } from './node-facts.ts';
import { vxlan, type PodNetworkBackend } from './settings.ts';
import { compareText } from '../../kube/text-order.ts';

export interface PodRoute {
  dst: string;
  via: string;
  /** Set for VXLAN routes (bosun.1, onlink); host-gw routes leave the device to the kernel. */
  dev?: string;
  onlink: boolean;
}
export interface Neighbour {
  ip: string;
  mac: string;
}
export interface FdbEntry {
  mac: string;
  dst: string;
}
export interface ObservedVtep {
  mac: string;
  vni: number;
  local: string | undefined;
  port: number;
  learning: boolean;
  /** Whether the outer UDP header carries a checksum (we send none: see planVtep). */
  udpChecksum: boolean;
  mtu: number;
  up: boolean;
  /** Its IPv4 addresses, as CIDRs. */
  addresses: string[];
}

/** What the kernel holds, as far as the pod network is concerned. */
export interface ObservedNetwork {
  /** Our routes (our protocol number) in the main table. */
  routes: PodRoute[];
  /** Subnets of this node's own links (kernel link-scope routes), outside the cluster CIDR. */
  connectedSubnets: string[];
  /** The link holding the node IP: its MTU sets the pods'. */
  underlay: { dev: string; mtu: number } | undefined;
  vtep: ObservedVtep | undefined;
  neighbours: Neighbour[];
  fdb: FdbEntry[];
}

export interface SelfFacts {
  name: string;
  podCIDR: string;
  ip: string;
  backend: Exclude<PodNetworkBackend, 'none'>;
}

export type VtepAction =
  | { kind: 'create-vtep'; local: string; mtu: number }
  | { kind: 'delete-vtep' }
  | { kind: 'set-vtep-up'; mtu: number }
  | { kind: 'set-vtep-address'; add: string; remove: string[] };

export type PeerAction =
  | { kind: 'replace-route'; route: PodRoute }
  | { kind: 'delete-route'; route: PodRoute }
  | { kind: 'replace-neighbour'; neighbour: Neighbour }
  | { kind: 'delete-neighbour'; neighbour: Neighbour }
  | { kind: 'replace-fdb'; entry: FdbEntry }
  | { kind: 'delete-fdb'; entry: FdbEntry };

/** A peer the planner could not route, and why (logged, and shown in tests). */
export interface Unroutable {
  peer: string;
  reason: string;
}

const defaultMtu = 1500;

/** True when CIDR `inner` lies entirely inside CIDR `outer`. */
function cidrInside(inner: string, outer: string): boolean {
  const [base = '', bits = '32'] = inner.split('/');
  return Number(bits) >= Number(outer.split('/')[1] ?? 32) && cidrContains(outer, base);
}

function cidrsOverlap(a: string, b: string): boolean {
  return cidrInside(a, b) || cidrInside(b, a);
}

/** The VTEP address of a node: the first address of its podCIDR. */
function vtepAddress(podCIDR: string): string {
  return podCIDR.split('/')[0]!;
}

/** The pods' MTU: the underlay's, less the VXLAN headers wherever VXLAN may carry them. */
export function podMtu(backend: Exclude<PodNetworkBackend, 'none'>, underlayMtu: number | undefined): number {
  const mtu = underlayMtu ?? defaultMtu;
  return backend === 'host-gw' ? mtu : mtu - vxlan.overhead;
}

/** Whether this node keeps a VTEP: vxlan always, auto too (a peer behind a router may come at any time). */
function wantsVtep(backend: PodNetworkBackend): boolean {
  return backend === 'vxlan' || backend === 'auto';
}

/** Actions that give bosun.1 the wanted shape (or remove it when the backend needs none). */
export function planVtep(self: SelfFacts, observed: ObservedNetwork): VtepAction[] {
  const current = observed.vtep;
  if (!wantsVtep(self.backend)) return current === undefined ? [] : [{ kind: 'delete-vtep' }];
  const mtu = podMtu(self.backend, observed.underlay?.mtu);
  const address = `${vtepAddress(self.podCIDR)}/32`;
  const create: VtepAction[] = [
    { kind: 'create-vtep', local: self.ip, mtu },
    { kind: 'set-vtep-up', mtu },
    { kind: 'set-vtep-address', add: address, remove: [] },
  ];
  if (current === undefined) return create;
  // a VTEP made for another address or VNI cannot be changed in place: made again (its MAC changes).
  // No outer UDP checksum (optional in IPv4; the inner TCP/UDP has its own): work spared on
  // every packet (docs/pod-network.md has the measurement)
  if (
    current.vni !== vxlan.vni ||
    current.local !== self.ip ||
    current.port !== vxlan.port ||
    current.learning ||
    current.udpChecksum
  )
    return [{ kind: 'delete-vtep' }, ...create];
  const actions: VtepAction[] = [];
  if (current.mtu !== mtu || !current.up) actions.push({ kind: 'set-vtep-up', mtu });
  const stale = current.addresses.filter((a) => a !== address);
  if (stale.length > 0 || !current.addresses.includes(address))
    actions.push({ kind: 'set-vtep-address', add: address, remove: stale });
  return actions;
}

interface DesiredPeers {
  routes: PodRoute[];
  neighbours: Neighbour[];
  fdb: FdbEntry[];
  unroutable: Unroutable[];
}

/** Routes, neighbours and FDB entries this node should hold for its peers. */
function desiredForPeers(
  self: SelfFacts,
  peers: readonly NodeNetworkFacts[],
  clusterCIDR: string,
  observed: Pick<ObservedNetwork, 'connectedSubnets' | 'vtep'>,
): DesiredPeers {
  const out: DesiredPeers = { routes: [], neighbours: [], fdb: [], unroutable: [] };
  const claimed: string[] = [self.podCIDR];
  for (const peer of [...peers].sort((a, b) => compareText(a.name, b.name))) {
    if (peer.name === self.name) continue;
    const skip = (reason: string) => out.unroutable.push({ peer: peer.name, reason });
    if (peer.podCIDR === undefined) continue; // not given a subnet yet: nothing to route
    if (peer.ip === undefined) {
      skip('it has no IPv4 address');
      continue;
    }
    if (!cidrInside(peer.podCIDR, clusterCIDR)) {
      skip(`its podCIDR ${peer.podCIDR} is outside the cluster CIDR ${clusterCIDR}`);
      continue;
    }
    const clash = claimed.find((c) => cidrsOverlap(c, peer.podCIDR!));
    if (clash !== undefined) {
      skip(`its podCIDR ${peer.podCIDR} overlaps ${clash}, already routed`);
      continue;
    }
    const direct = observed.connectedSubnets.some((s) => cidrContains(s, peer.ip!));
    const mode = self.backend === 'auto' ? (direct ? 'host-gw' : 'vxlan') : self.backend;
    if (mode === 'host-gw') {
      if (!direct) {
        skip(`its IP ${peer.ip} is not on a directly connected subnet (host-gw needs one segment; use vxlan or auto)`);
        continue;
      }
      out.routes.push({ dst: peer.podCIDR, via: peer.ip, onlink: false });
    } else {
      if (peer.vtepMac === undefined) {
        skip('it has published no VTEP MAC yet (its backend is not vxlan or auto)');
        continue;
      }
      if (observed.vtep === undefined) {
        skip(`${vxlan.device} does not exist yet`);
        continue;
      }
      const gateway = vtepAddress(peer.podCIDR);
      out.routes.push({ dst: peer.podCIDR, via: gateway, dev: vxlan.device, onlink: true });
      out.neighbours.push({ ip: gateway, mac: peer.vtepMac });
      out.fdb.push({ mac: peer.vtepMac, dst: peer.ip });
    }
    claimed.push(peer.podCIDR);
  }
  return out;
}

const routeKey = (r: PodRoute) => `${r.dst}|${r.via}|${r.dev ?? ''}|${r.onlink}`;
const neighbourKey = (n: Neighbour) => `${n.ip}|${n.mac}`;
const fdbKey = (f: FdbEntry) => `${f.mac}|${f.dst}`;

function differences<T>(desired: readonly T[], observed: readonly T[], key: (item: T) => string) {
  const want = new Set(desired.map(key));
  const have = new Set(observed.map(key));
  return { add: desired.filter((d) => !have.has(key(d))), remove: observed.filter((o) => !want.has(key(o))) };
}

/**
 * The actions from observed to desired. Only what differs is touched: a restarted agent that finds
 * everything in place does nothing, so no flow notices it. Removals are limited to our own routes
 * inside the cluster CIDR, and to bosun.1's entries.
 */
export function planPeers(
  self: SelfFacts,
  peers: readonly NodeNetworkFacts[],
  clusterCIDR: string,
  observed: ObservedNetwork,
): { actions: PeerAction[]; unroutable: Unroutable[] } {
  const desired = desiredForPeers(self, peers, clusterCIDR, observed);
  const ours = observed.routes.filter((r) => cidrInside(r.dst, clusterCIDR) && r.dst !== self.podCIDR);
  const routes = differences(desired.routes, ours, routeKey);
  // a route to a destination that stays wanted is replaced in place, not deleted first (no gap)
  const replaced = new Set(routes.add.map((r) => r.dst));
  const neighbours = differences(desired.neighbours, observed.neighbours, neighbourKey);
  const stillWantedNeighbour = new Set(neighbours.add.map((n) => n.ip));
  const fdb = differences(desired.fdb, observed.fdb, fdbKey);
  const actions: PeerAction[] = [
    ...routes.remove.filter((r) => !replaced.has(r.dst)).map((route) => ({ kind: 'delete-route' as const, route })),
    ...neighbours.remove
      .filter((n) => !stillWantedNeighbour.has(n.ip))
      .map((neighbour) => ({ kind: 'delete-neighbour' as const, neighbour })),
    ...fdb.remove.map((entry) => ({ kind: 'delete-fdb' as const, entry })),
    ...fdb.add.map((entry) => ({ kind: 'replace-fdb' as const, entry })),
    ...neighbours.add.map((neighbour) => ({ kind: 'replace-neighbour' as const, neighbour })),
    ...routes.add.map((route) => ({ kind: 'replace-route' as const, route })),
  ];
  return { actions, unroutable: desired.unroutable };
}
