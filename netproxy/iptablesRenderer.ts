/**
 * Renders the whole iptables state of the proxy (filter + nat) as one `iptables-restore --noflush`
 * payload. Pure: state and the memory of the previous render in, payload and new memory out.
 *
 * Layout (nat):
 *   BOSUN-SERVICES   -> per /16 dispatch -> per /24 dispatch -> BOSUN-SVC-/SVL-/EXT- chain of a port
 *                    -> BOSUN-NODEPORTS (local destinations) -> BOSUN-EXT-
 *   BOSUN-SVC-x      balances over cluster-wide endpoints with DNAT rules
 *   BOSUN-SVL-x      balances over this node's endpoints (Local traffic policies)
 *   BOSUN-EXT-x      external entry: marks for masquerade (Cluster policy) or keeps the source (Local)
 *   BOSUN-POSTROUTING masquerades marked packets; marks hairpin packets first
 * There is no chain per endpoint: the DNAT rules carry the statistic and affinity matches
 * themselves. With iptables-nft, restore time grows much faster than linearly with the number of
 * chains (measured here: 4,000 services with one chain per endpoint took 17.7 s to restore, the
 * same services without them 0.7 s), so fewer chains is the largest single speed-up available.
 *
 * filter: REJECT for ports without endpoints, DROP for Local policies without local endpoints,
 * and forwarding accepted for marked and established traffic.
 *
 * A partial render writes the top-level chains whole, plus only the chains of changed ports and
 * the dispatch chains that contain them; chains of ours that are no longer needed are deleted.
 */
import {
  affinityList, bucket16, bucket24, bucketChain, chains, externalChain, localChain, serviceChain,
} from './chainNames.ts';
import { refusals } from './refusals.ts';
import {
  endpointAddress, externalAddresses, hasExternalEntry, internalTargets, trafficTargets,
  type Endpoint, type ServicePortState, type TrafficTargets,
} from './servicePort.ts';

export interface ProxyConfig {
  /** Pod addresses of the whole cluster; traffic to a cluster IP from outside it is masqueraded. */
  clusterCIDR?: string;
  /** The packet mark bit that means "masquerade this" (kube-proxy's default: 14). */
  masqueradeBit: number;
  /** Addresses that accept node ports; default: every local address except 127.0.0.0/8. */
  nodePortAddresses?: readonly string[];
}

export const defaultProxyConfig: ProxyConfig = { masqueradeBit: 14 };

/** Above this many endpoints comments are left out: they are a large share of the payload. */
export const commentEndpointLimit = 1000;

export interface RenderMemory {
  /** Our chains that exist in the kernel after the sync that used this render. */
  readonly natChains: ReadonlySet<string>;
  readonly filterChains: ReadonlySet<string>;
  /** Per port key: the per-port nat chains it owns. */
  readonly portChains: ReadonlyMap<string, readonly string[]>;
  /** Per port key: the /24 buckets its destinations fall in. */
  readonly portBuckets: ReadonlyMap<string, readonly string[]>;
  /** Whether the chains in the kernel carry comments; a switch forces a full rewrite. */
  readonly comments: boolean;
}

export const emptyMemory: RenderMemory = {
  natChains: new Set(), filterChains: new Set(), portChains: new Map(), portBuckets: new Map(), comments: true,
};

export interface RenderRequest {
  state: ReadonlyMap<string, ServicePortState>;
  config: ProxyConfig;
  /** Port keys whose chains must be rewritten, or 'all' for a full sync. */
  changed: ReadonlySet<string> | 'all';
  /** What the previous successful sync left; a full render only uses its chain sets. */
  memory: RenderMemory;
}

export interface RenderResult {
  payload: string;
  memory: RenderMemory;
  full: boolean;
  /** Rule lines written (not counting declarations). */
  ruleCount: number;
  endpointCount: number;
  /** Chains that this payload deletes. */
  deletedChains: string[];
}

interface PortPlan {
  port: ServicePortState;
  targets: TrafficTargets;
  /** SVC or SVL chain that cluster-IP traffic enters; undefined when it has nowhere to go. */
  internalChain: string | undefined;
  externalChain: string | undefined;
  buckets: string[];
}

const protoMatch = (p: ServicePortState) => `-p ${p.protocol} -m ${p.protocol}`;

function planPort(port: ServicePortState): PortPlan {
  const targets = trafficTargets(port);
  let internal: string | undefined;
  if (internalTargets(port, targets).length > 0) internal = port.internalPolicyLocal ? localChain(port.key) : serviceChain(port.key);
  const external = hasExternalEntry(port) && targets.cluster.length > 0 ? externalChain(port.key) : undefined;
  const buckets = new Set<string>();
  if (internal !== undefined && port.clusterIP !== undefined) buckets.add(bucket24(port.clusterIP));
  if (external !== undefined) for (const ip of externalAddresses(port)) buckets.add(bucket24(ip));
  return { port, targets, internalChain: internal, externalChain: external, buckets: [...buckets] };
}

class Writer {
  readonly declared: string[] = [];
  readonly rules: string[] = [];
  readonly comments: boolean;
  constructor(comments: boolean) {
    this.comments = comments;
  }
  declare(chain: string): void {
    this.declared.push(`:${chain} - [0:0]`);
  }
  /** Appends a rule; `comment` is dropped in large-cluster mode. */
  add(chain: string, comment: string | undefined, args: string): void {
    this.rules.push(comment !== undefined && this.comments
      ? `-A ${chain} -m comment --comment "${comment}" ${args}`
      : `-A ${chain} ${args}`);
  }
}

/** DNAT rules that pick one endpoint at random (and stick to it under ClientIP affinity). */
function writeBalancer(w: Writer, chain: string, plan: PortPlan, endpoints: readonly Endpoint[]): void {
  const { port } = plan;
  const proto = `-p ${port.protocol}`;
  const n = endpoints.length;
  if (port.affinitySeconds > 0) {
    for (const e of endpoints) {
      const address = endpointAddress(e);
      w.add(chain, `${port.key} -> ${address} (affinity)`, `${proto} -m recent --name ${affinityList(port.key, address)} --update --seconds ${port.affinitySeconds} --reap -j DNAT --to-destination ${address}`);
    }
  }
  endpoints.forEach((e, i) => {
    const address = endpointAddress(e);
    const chance = i < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(10)}` : '';
    const remember = port.affinitySeconds > 0 ? ` -m recent --name ${affinityList(port.key, address)} --set` : '';
    w.add(chain, `${port.key} -> ${address}`, `${proto}${chance}${remember} -j DNAT --to-destination ${address}`);
  });
}

function clusterIPMatch(p: ServicePortState): string {
  return `-d ${p.clusterIP}/32 ${protoMatch(p)} --dport ${p.port}`;
}

/** Writes the per-port chains of one port; returns their names. */
function writePortChains(w: Writer, plan: PortPlan, config: ProxyConfig): string[] {
  const { port, targets } = plan;
  const owned: string[] = [];
  const svc = serviceChain(port.key);
  const svl = localChain(port.key);
  const offClusterMasq = (chain: string) => {
    if (config.clusterCIDR !== undefined && port.clusterIP !== undefined) {
      w.add(chain, `${port.key} cluster IP from outside the cluster`, `${clusterIPMatch(port)} ! -s ${config.clusterCIDR} -j ${chains.markMasq}`);
    }
  };
  if (targets.cluster.length > 0 && (!port.internalPolicyLocal || plan.externalChain !== undefined)) {
    owned.push(svc);
    w.declare(svc);
    if (!port.internalPolicyLocal) offClusterMasq(svc);
    writeBalancer(w, svc, plan, targets.cluster);
  }
  if (targets.local.length > 0 && (port.internalPolicyLocal || port.externalPolicyLocal)) {
    owned.push(svl);
    w.declare(svl);
    if (port.internalPolicyLocal) offClusterMasq(svl);
    writeBalancer(w, svl, plan, targets.local);
  }
  const ext = plan.externalChain;
  if (ext !== undefined) {
    owned.push(ext);
    w.declare(ext);
    if (!port.externalPolicyLocal) {
      w.add(ext, `masquerade traffic for ${port.key} external destinations`, `-j ${chains.markMasq}`);
      w.add(ext, undefined, `-j ${svc}`);
    } else {
      // Local policy keeps the client's address, except for traffic that must leave the node anyway:
      // pods and the node itself may reach any endpoint (short-circuit), the node's own masqueraded.
      if (config.clusterCIDR !== undefined) w.add(ext, `pod traffic for ${port.key} external destinations`, `-s ${config.clusterCIDR} -j ${svc}`);
      w.add(ext, `masquerade LOCAL traffic for ${port.key} external destinations`, `-m addrtype --src-type LOCAL -j ${chains.markMasq}`);
      w.add(ext, `route LOCAL traffic for ${port.key} external destinations`, `-m addrtype --src-type LOCAL -j ${svc}`);
      if (targets.local.length > 0) w.add(ext, undefined, `-j ${svl}`);
    }
  }
  return owned;
}

/** The rules of one /24 dispatch chain. */
function writeBucket(w: Writer, bucket: string, plans: readonly PortPlan[]): void {
  const chain = bucketChain(bucket);
  w.declare(chain);
  for (const { port, internalChain, externalChain: ext } of plans) {
    if (internalChain !== undefined && port.clusterIP !== undefined && bucket24(port.clusterIP) === bucket) {
      w.add(chain, `${port.key} cluster IP`, `${clusterIPMatch(port)} -j ${internalChain}`);
    }
    if (ext === undefined) continue;
    for (const ip of port.externalIPs) {
      if (bucket24(ip) === bucket) w.add(chain, `${port.key} external IP`, `-d ${ip}/32 ${protoMatch(port)} --dport ${port.port} -j ${ext}`);
    }
    for (const ip of port.loadBalancerIPs) {
      if (bucket24(ip) === bucket) w.add(chain, `${port.key} loadbalancer IP`, `-d ${ip}/32 ${protoMatch(port)} --dport ${port.port} -j ${ext}`);
    }
  }
}

const byNumericBucket = (a: string, b: string) => {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
};

export function renderIptables(request: RenderRequest): RenderResult {
  const { state, config, memory } = request;
  const mark = `0x${(1 << config.masqueradeBit).toString(16)}`;

  // One pass over every port: cheap facts only. Rule text is built for what gets written.
  const plans = new Map<string, PortPlan>();
  const bucketPorts = new Map<string, PortPlan[]>();
  let endpointCount = 0;
  const localEndpointIPs = new Set<string>();
  for (const port of state.values()) {
    const plan = planPort(port);
    plans.set(port.key, plan);
    endpointCount += port.endpoints.length;
    for (const e of plan.targets.local) localEndpointIPs.add(e.ip);
    for (const b of plan.buckets) {
      let list = bucketPorts.get(b);
      if (list === undefined) bucketPorts.set(b, (list = []));
      list.push(plan);
    }
  }
  const comments = endpointCount <= commentEndpointLimit;
  // Crossing the comment limit changes every chain's text: rewrite all of them.
  const full = request.changed === 'all' || comments !== memory.comments;
  const changed = full || request.changed === 'all' ? undefined : request.changed;

  // Which per-port chains and buckets get rewritten.
  const rewriteBuckets = new Set<string>();
  const rewritePorts: PortPlan[] = [];
  if (changed === undefined) {
    for (const b of bucketPorts.keys()) rewriteBuckets.add(b);
    rewritePorts.push(...plans.values());
  } else {
    for (const key of changed) {
      for (const b of memory.portBuckets.get(key) ?? []) rewriteBuckets.add(b);
      const plan = plans.get(key);
      if (plan === undefined) continue;
      for (const b of plan.buckets) rewriteBuckets.add(b);
      rewritePorts.push(plan);
    }
  }

  const nat = new Writer(comments);
  const filter = new Writer(comments);

  // Per-port chains.
  const portChains = new Map(full ? [] : memory.portChains);
  const portBuckets = new Map(full ? [] : memory.portBuckets);
  if (changed !== undefined) for (const key of changed) { portChains.delete(key); portBuckets.delete(key); }
  rewritePorts.sort((a, b) => (a.port.key < b.port.key ? -1 : a.port.key > b.port.key ? 1 : 0));
  for (const plan of rewritePorts) {
    const owned = writePortChains(nat, plan, config);
    if (owned.length > 0) portChains.set(plan.port.key, owned);
    if (plan.buckets.length > 0) portBuckets.set(plan.port.key, plan.buckets);
  }

  // Dispatch tree: every /16 that holds a rewritten /24 is rewritten too (both are small).
  const buckets16 = new Map<string, string[]>();
  for (const b of bucketPorts.keys()) {
    const parent = bucket16(b);
    let list = buckets16.get(parent);
    if (list === undefined) buckets16.set(parent, (list = []));
    list.push(b);
  }
  const rewrite16 = new Set<string>([...rewriteBuckets].map(bucket16));
  for (const b of [...rewriteBuckets].sort(byNumericBucket)) {
    const list = bucketPorts.get(b);
    if (list !== undefined) writeBucket(nat, b, list);
  }
  const sorted16 = [...buckets16.keys()].sort(byNumericBucket);
  for (const parent of sorted16) {
    if (!rewrite16.has(parent)) continue;
    const chain = bucketChain(parent);
    nat.declare(chain);
    for (const b of buckets16.get(parent)!.sort(byNumericBucket)) nat.add(chain, undefined, `-d ${b}.0/24 -j ${bucketChain(b)}`);
  }

  // Top-level nat chains, always whole.
  for (const c of [chains.services, chains.nodePorts, chains.postrouting, chains.markMasq, chains.canary]) nat.declare(c);
  for (const parent of sorted16) nat.add(chains.services, undefined, `-d ${parent}.0.0/16 -j ${bucketChain(parent)}`);
  if (config.nodePortAddresses === undefined) {
    nat.add(chains.services, 'bosun service nodeports; NOTE: this must be the last rule in this chain', `! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j ${chains.nodePorts}`);
  } else {
    for (const ip of config.nodePortAddresses) nat.add(chains.services, 'bosun service nodeports', `-d ${ip}/32 -j ${chains.nodePorts}`);
  }
  const sortedPlans = [...plans.values()].sort((a, b) => (a.port.key < b.port.key ? -1 : a.port.key > b.port.key ? 1 : 0));
  for (const { port, externalChain: ext } of sortedPlans) {
    if (ext !== undefined && port.nodePort > 0) nat.add(chains.nodePorts, port.key, `${protoMatch(port)} --dport ${port.nodePort} -j ${ext}`);
  }
  // Hairpin: a pod that reaches itself through its service must see another source address, or
  // its reply would bypass the reverse NAT. Only local endpoints can be their own clients.
  for (const ip of [...localEndpointIPs].sort()) {
    nat.add(chains.postrouting, undefined, `-s ${ip}/32 -d ${ip}/32 -m conntrack --ctstate DNAT -j MARK --or-mark ${mark}`);
  }
  nat.add(chains.postrouting, undefined, `-m mark ! --mark ${mark}/${mark} -j RETURN`);
  // Clear the bit so a packet that is re-routed (e.g. through a tunnel) is not masqueraded twice.
  nat.add(chains.postrouting, undefined, `-j MARK --xor-mark ${mark}`);
  nat.add(chains.postrouting, 'bosun service traffic requiring SNAT', '-j MASQUERADE --random-fully');
  nat.add(chains.markMasq, undefined, `-j MARK --or-mark ${mark}`);
  nat.add(chains.canary, 'bosun flush detector', '-j RETURN');

  // filter: refuse what has nowhere to go; accept forwarded service traffic.
  for (const c of [chains.services, chains.externalServices, chains.forward, chains.canary]) filter.declare(c);
  for (const { port, targets } of sortedPlans) {
    for (const r of refusals(port, targets)) filter.add(r.chain, r.comment, `${r.match} -j ${r.target}`);
  }
  filter.add(chains.forward, undefined, '-m conntrack --ctstate INVALID -j DROP');
  filter.add(chains.forward, 'bosun forwarding rules', `-m mark --mark ${mark}/${mark} -j ACCEPT`);
  filter.add(chains.forward, 'bosun forwarding conntrack rule', '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  filter.add(chains.canary, 'bosun flush detector', '-j RETURN');

  // What exists after this payload, and what of ours must go.
  const natNow = new Set<string>([chains.services, chains.nodePorts, chains.postrouting, chains.markMasq, chains.canary]);
  for (const owned of portChains.values()) for (const c of owned) natNow.add(c);
  for (const b of bucketPorts.keys()) natNow.add(bucketChain(b));
  for (const parent of buckets16.keys()) natNow.add(bucketChain(parent));
  const filterNow = new Set<string>([chains.services, chains.externalServices, chains.forward, chains.canary]);
  const staleNat = [...memory.natChains].filter((c) => !natNow.has(c)).sort();
  const staleFilter = [...memory.filterChains].filter((c) => !filterNow.has(c)).sort();

  const out: string[] = ['*filter', ...filter.declared];
  for (const c of staleFilter) out.push(`:${c} - [0:0]`);
  out.push(...filter.rules);
  for (const c of staleFilter) out.push(`-X ${c}`);
  out.push('COMMIT', '*nat', ...nat.declared);
  for (const c of staleNat) out.push(`:${c} - [0:0]`);
  out.push(...nat.rules);
  for (const c of staleNat) out.push(`-X ${c}`);
  out.push('COMMIT', '');

  return {
    payload: out.join('\n'),
    memory: { natChains: natNow, filterChains: filterNow, portChains, portBuckets, comments },
    full,
    ruleCount: nat.rules.length + filter.rules.length,
    endpointCount,
    deletedChains: [...staleFilter, ...staleNat],
  };
}
