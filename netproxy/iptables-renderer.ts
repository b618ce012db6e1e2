/**
 * Renders the whole iptables state of the proxy (filter + nat) as one `iptables-restore --noflush`
 * payload. Pure: state and the memory of the previous render in, payload and new memory out.
 *
 * Layout (nat):
 *   BOSUN-SERVICES      -> per /16 dispatch chain -> per /20 dispatch chain, which holds each
 *                          cluster IP's balancing DNAT rules inline, and jumps for external IPs
 *                       -> BOSUN-NODEPORTS (local destinations) -> BOSUN-EXT-<hash>
 *   BOSUN-EXT-<hash>    a port's external entry (node port, external and load-balancer IPs):
 *                       marks for masquerade (Cluster policy) or keeps the source (Local), balances
 *   BOSUN-POSTROUTING   masquerades marked packets; marks hairpin packets first
 * There is no chain per service or per endpoint for cluster IPs: the DNAT rules carry the
 * destination, statistic and affinity matches themselves. With iptables-nft, restore time grows
 * much faster than linearly with the number of chains (measured here: 4,000 services with one
 * chain per endpoint took 17.7 s to restore, 0.7 s with one chain per service; 10,000 services
 * with rules inline in 256 dispatch chains 2-4 s), so fewer chains is the largest speed-up there is.
 *
 * filter: REJECT for ports without endpoints, DROP for Local policies without local endpoints,
 * and forwarding accepted for marked and established traffic.
 *
 * A partial render writes only the chains of changed ports and the dispatch chains holding them,
 * plus top-level chains whose text changed; chains of ours that are no longer needed are deleted.
 */
import { LayeredMap } from './layered-map.ts';
import { affinityList, bucketChain, bucketOf, chains, externalChain, parentOf } from './chain-names.ts';
import { refusals } from './refusals.ts';
import {
  endpointAddress,
  externalAddresses,
  hasExternalEntry,
  internalTargets,
  trafficTargets,
  type Endpoint,
  type ServicePortState,
  type TrafficTargets,
} from './service-port.ts';

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
const commentEndpointLimit = 1000;

/**
 * What a render leaves for the next one. Besides the chain sets and texts it carries an index of
 * every port's plan and rule text, so a partial sync renders only the changed ports and an
 * unchanged port is never planned or rendered twice. A render never changes the memory it is
 * given (it copies what it updates), so rendering twice from one memory gives the same result.
 */
export interface RenderMemory {
  /** Our chains that exist in the kernel after the sync that used this render. */
  readonly natChains: ReadonlySet<string>;
  readonly filterChains: ReadonlySet<string>;
  /** Whether the chains in the kernel carry comments; a switch forces a full rewrite. */
  readonly comments: boolean;
  /** Text of shared (dispatch and top-level) chains as last written, by "table/chain", to skip unchanged ones. */
  readonly chainText: ReadonlyMap<string, string>;
  /** Plans and texts of the render that made this memory; read, never changed, by the next one. */
  readonly index?: RenderIndex;
  /**
   * The kernel holds what `index` describes, so the next render may be partial. Unset after a
   * failed restore: the index then only saves re-planning unchanged ports in the full render.
   */
  readonly indexMatchesKernel?: boolean;
}

/** A port's rule text, with the plan and settings it was rendered from. */
interface CachedText {
  plan: PortPlan;
  /** comments, cluster CIDR and mark: the settings the text depends on besides the plan */
  settings: string;
  text: PortText;
}

/** Every port's plan and the lookups built from them; made by one render, then only read. */
interface RenderIndex {
  plans: LayeredMap<string, PortPlan>;
  /** bucket -> port key -> plan */
  bucketPorts: Map<string, Map<string, PortPlan>>;
  withNodePort: Map<string, PortPlan>;
  refused: Map<string, PortPlan>;
  /** local endpoint address -> how many (port, endpoint) pairs use it */
  localIPs: Map<string, number>;
  endpointCount: number;
  natChains: Set<string>;
  /** port key -> its rule text */
  texts: LayeredMap<string, CachedText>;
}

export const emptyMemory: RenderMemory = {
  natChains: new Set(),
  filterChains: new Set(),
  comments: true,
  chainText: new Map(),
};

interface RenderRequest {
  state: ReadonlyMap<string, ServicePortState>;
  config: ProxyConfig;
  /** Port keys whose chains must be rewritten, or 'all' for a full sync. */
  changed: ReadonlySet<string> | 'all';
  /** What the previous successful sync left; a full render only uses its chain sets. */
  memory: RenderMemory;
}

interface RenderResult {
  payload: string;
  memory: RenderMemory;
  full: boolean;
  /** Rule lines written by this payload (not counting declarations). */
  ruleCount: number;
  endpointCount: number;
  /** Chains that this payload deletes. */
  deletedChains: string[];
  /**
   * If applying this payload fails, the memory to render the next (full) payload from: the
   * kernel may still hold the chains this payload was to delete.
   */
  memoryAfterFailure: RenderMemory;
}

interface PortPlan {
  port: ServicePortState;
  targets: TrafficTargets;
  /** Endpoints that cluster-IP traffic is balanced over (internal policy applied); empty: refused. */
  internal: readonly Endpoint[];
  externalChain: string | undefined;
  /** The dispatch buckets holding this port's entries. */
  buckets: string[];
}

const protoMatch = (p: ServicePortState) => `-p ${p.protocol} -m ${p.protocol}`;

/**
 * Plans depend only on the port state, and the tracker replaces a port's state object only when
 * it changes: the previous render's plan for the same object is reused as it is.
 */
function planPort(previous: RenderIndex | undefined, port: ServicePortState): PortPlan {
  const known = previous?.plans.get(port.key);
  return known !== undefined && known.port === port ? known : computePlan(port);
}

function computePlan(port: ServicePortState): PortPlan {
  const targets = trafficTargets(port);
  const internal = port.clusterIP === undefined ? [] : internalTargets(port, targets);
  const external = hasExternalEntry(port) && targets.cluster.length > 0 ? externalChain(port.key) : undefined;
  const buckets = new Set<string>();
  if (internal.length > 0 && port.clusterIP !== undefined) buckets.add(bucketOf(port.clusterIP));
  if (external !== undefined) for (const ip of externalAddresses(port)) buckets.add(bucketOf(ip));
  return { port, targets, internal, externalChain: external, buckets: [...buckets] };
}

function ruleLine(chain: string, comment: string | undefined, args: string, comments: boolean): string {
  return comment !== undefined && comments
    ? `-A ${chain} -m comment --comment "${comment}" ${args}`
    : `-A ${chain} ${args}`;
}

/**
 * Makes V8 store a built-up string as one flat buffer (converting a string to a number does), so
 * joining cached lines into each payload is a plain copy instead of walking string trees: this
 * halves the time of a full render.
 */
function flatten(s: string): void {
  void (Number(s) | 0);
}

/**
 * DNAT rules that pick one endpoint at random (and stick to it under ClientIP affinity). Every
 * rule carries `match`, so the balancer can sit inside a shared dispatch chain: rule i is tried
 * only by packets that skipped rules 0..i-1, hence the probability 1/(n-i).
 */
function balancer(
  out: string[],
  chain: string,
  match: string,
  port: ServicePortState,
  endpoints: readonly Endpoint[],
  comments: boolean,
): void {
  const n = endpoints.length;
  if (port.affinitySeconds > 0) {
    for (const e of endpoints) {
      const address = endpointAddress(e);
      out.push(
        ruleLine(
          chain,
          `${port.key} -> ${address} (affinity)`,
          `${match} -m recent --name ${affinityList(port.key, address)} --update --seconds ${port.affinitySeconds} --reap -j DNAT --to-destination ${address}`,
          comments,
        ),
      );
    }
  }
  endpoints.forEach((e, i) => {
    const address = endpointAddress(e);
    const chance = i < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(10)}` : '';
    const remember = port.affinitySeconds > 0 ? ` -m recent --name ${affinityList(port.key, address)} --set` : '';
    out.push(
      ruleLine(
        chain,
        `${port.key} -> ${address}`,
        `${match}${chance}${remember} -j DNAT --to-destination ${address}`,
        comments,
      ),
    );
  });
}

function clusterIPMatch(p: ServicePortState): string {
  return `-d ${p.clusterIP}/32 ${protoMatch(p)} --dport ${p.port}`;
}

/** A port's rendered text: its lines in each dispatch bucket, and its external chain. */
interface PortText {
  buckets: Map<string, string[]>;
  external: [string, string[]] | undefined;
}

function renderPort(plan: PortPlan, config: ProxyConfig, comments: boolean): PortText {
  const { port, targets } = plan;
  const mask = chains.markMasq;
  const buckets = new Map<string, string[]>();
  const linesOf = (bucket: string) => {
    let list = buckets.get(bucket);
    if (list === undefined) buckets.set(bucket, (list = []));
    return list;
  };
  if (plan.internal.length > 0 && port.clusterIP !== undefined) {
    const bucket = bucketOf(port.clusterIP);
    const chain = bucketChain(bucket);
    const out = linesOf(bucket);
    if (config.clusterCIDR !== undefined) {
      out.push(
        ruleLine(
          chain,
          `${port.key} cluster IP from outside the cluster`,
          `${clusterIPMatch(port)} ! -s ${config.clusterCIDR} -j ${mask}`,
          comments,
        ),
      );
    }
    balancer(out, chain, clusterIPMatch(port), port, plan.internal, comments);
  }
  let external: PortText['external'];
  const ext = plan.externalChain;
  if (ext !== undefined) {
    for (const [ips, what] of [
      [port.externalIPs, 'external IP'],
      [port.loadBalancerIPs, 'loadbalancer IP'],
    ] as const) {
      // loadBalancerSourceRanges: only listed clients are sent on; the others stay addressed to the
      // load-balancer IP, and the filter table drops them (refusals.ts), as kube-proxy's firewall does
      const sources =
        what === 'loadbalancer IP' && port.loadBalancerSourceRanges.length > 0
          ? port.loadBalancerSourceRanges.map((range) => ` -s ${range}`)
          : [''];
      for (const ip of ips) {
        const bucket = bucketOf(ip);
        for (const source of sources)
          linesOf(bucket).push(
            ruleLine(
              bucketChain(bucket),
              `${port.key} ${what}`,
              `-d ${ip}/32${source} ${protoMatch(port)} --dport ${port.port} -j ${ext}`,
              comments,
            ),
          );
      }
    }
    const out: string[] = [];
    const proto = `-p ${port.protocol}`;
    if (!port.externalPolicyLocal) {
      out.push(ruleLine(ext, `masquerade traffic for ${port.key} external destinations`, `-j ${mask}`, comments));
      balancer(out, ext, proto, port, targets.cluster, comments);
    } else {
      // Local policy keeps the client's address, except for traffic that must leave the node anyway:
      // pods and the node itself may reach any endpoint (short-circuit), the node's own masqueraded.
      if (config.clusterCIDR !== undefined)
        balancer(out, ext, `-s ${config.clusterCIDR} ${proto}`, port, targets.cluster, comments);
      out.push(
        ruleLine(
          ext,
          `masquerade LOCAL traffic for ${port.key} external destinations`,
          `-m addrtype --src-type LOCAL -j ${mask}`,
          comments,
        ),
      );
      balancer(out, ext, `-m addrtype --src-type LOCAL ${proto}`, port, targets.cluster, comments);
      if (targets.local.length > 0) balancer(out, ext, proto, port, targets.local, comments);
    }
    external = [ext, out];
  }
  for (const list of buckets.values()) for (const l of list) flatten(l);
  if (external !== undefined) for (const l of external[1]) flatten(l);
  return { buckets, external };
}

/** Where a render finds ports' texts: its own index first, then the previous render's. */
interface TextSource {
  config: ProxyConfig;
  comments: boolean;
  texts: LayeredMap<string, CachedText>;
  previous: LayeredMap<string, CachedText> | undefined;
}

/** A port's text, kept with its plan so an unchanged port costs nothing to re-render. */
function portText(plan: PortPlan, source: TextSource): PortText {
  const { config, comments } = source;
  const settings = `${comments}|${config.clusterCIDR ?? ''}|${config.masqueradeBit}`;
  const key = plan.port.key;
  const hit = source.texts.get(key) ?? source.previous?.get(key);
  if (hit !== undefined && hit.plan === plan && hit.settings === settings) {
    source.texts.set(key, hit);
    return hit.text;
  }
  const text = renderPort(plan, config, comments);
  source.texts.set(key, { plan, settings, text });
  return text;
}

class Writer {
  readonly table: string;
  readonly comments: boolean;
  readonly #order: string[] = [];
  readonly #rules = new Map<string, string[]>();
  readonly #shared = new Set<string>();
  constructor(table: string, comments: boolean) {
    this.table = table;
    this.comments = comments;
  }
  /**
   * Starts a chain. A `shared` chain (dispatch and top-level chains, whose text does not depend
   * on one port alone) is left out of a partial payload when its text is unchanged.
   */
  declare(chain: string, shared = false): void {
    this.#order.push(chain);
    this.#rules.set(chain, []);
    if (shared) this.#shared.add(chain);
  }
  /** Appends a rule; `comment` is dropped in large-cluster mode. */
  add(chain: string, comment: string | undefined, args: string): void {
    this.#rules.get(chain)!.push(ruleLine(chain, comment, args, this.comments));
  }
  /** Appends finished rule lines. */
  addLines(chain: string, lines: readonly string[]): void {
    const list = this.#rules.get(chain)!;
    for (const l of lines) list.push(l);
  }
  /** Takes a finished chain as it is (its line array is not copied). */
  adopt(chain: string, lines: string[]): void {
    this.#order.push(chain);
    this.#rules.set(chain, lines);
  }
  /**
   * Appends this table's declarations, then its rules, to `out` (one array for the whole payload:
   * no intermediate copies of tens of thousands of lines); records shared chains' text into
   * `text`. Returns how many rule lines were written.
   */
  finish(
    previous: ReadonlyMap<string, string>,
    full: boolean,
    text: Map<string, string>,
    out: string[],
    stale: readonly string[],
  ): number {
    const written: string[][] = [];
    for (const chain of this.#order) {
      const lines = this.#rules.get(chain)!;
      if (this.#shared.has(chain)) {
        const joined = lines.join('\n');
        const key = `${this.table}/${chain}`;
        text.set(key, joined);
        if (!full && previous.get(key) === joined) continue;
      }
      out.push(`:${chain} - [0:0]`);
      written.push(lines);
    }
    // Stale chains are declared (which flushes them) and deleted after every rule is in place.
    for (const c of stale) out.push(`:${c} - [0:0]`);
    let count = 0;
    for (const lines of written) {
      for (const l of lines) out.push(l);
      count += lines.length;
    }
    for (const c of stale) out.push(`-X ${c}`);
    return count;
  }
}

const byKey = (a: PortPlan, b: PortPlan) => (a.port.key < b.port.key ? -1 : a.port.key > b.port.key ? 1 : 0);

/** The rules of one /20 dispatch chain: every entry of every port in it, in port key order. */
function writeBucket(w: Writer, bucket: string, plans: PortPlan[], source: TextSource): void {
  const chain = bucketChain(bucket);
  w.declare(chain, true);
  for (const plan of plans.sort(byKey)) {
    const lines = portText(plan, source).buckets.get(bucket);
    if (lines !== undefined) w.addLines(chain, lines);
  }
}

/** Orders buckets by address ("10.96.48" before "10.96.112"); a render sorts a few hundred at most. */
function bucketNumber(bucket: string): number {
  const parts = bucket.split('.').map(Number);
  return ((parts[0] ?? 0) * 256 + (parts[1] ?? 0)) * 256 + (parts.length > 2 ? (parts[2] ?? 0) : 0);
}
const byNumericBucket = (a: string, b: string) => bucketNumber(a) - bucketNumber(b);

function emptyIndex(): RenderIndex {
  return {
    plans: LayeredMap.empty(),
    bucketPorts: new Map(),
    withNodePort: new Map(),
    refused: new Map(),
    localIPs: new Map(),
    endpointCount: 0,
    natChains: new Set(),
    texts: LayeredMap.empty(),
  };
}

/**
 * A copy of `index` that a partial render may change. Plans and texts are new versions over the
 * old ones and the per-bucket port maps stay shared until a bucket is written (writableBucket), so
 * the copy costs O(buckets + ports with a node port, a refusal or a local endpoint).
 */
function copyIndex(index: RenderIndex): RenderIndex {
  return {
    plans: index.plans.next(),
    bucketPorts: new Map(index.bucketPorts),
    withNodePort: new Map(index.withNodePort),
    refused: new Map(index.refused),
    localIPs: new Map(index.localIPs),
    endpointCount: index.endpointCount,
    natChains: new Set(index.natChains),
    texts: index.texts.next(),
  };
}

/** The bucket's port map, copied first if it may still belong to an earlier render's index. */
function writableBucket(index: RenderIndex, bucket: string, own: Set<string>): Map<string, PortPlan> | undefined {
  const ports = index.bucketPorts.get(bucket);
  if (ports === undefined || own.has(bucket)) return ports;
  const copy = new Map(ports);
  index.bucketPorts.set(bucket, copy);
  own.add(bucket);
  return copy;
}

function isRefused(plan: PortPlan): boolean {
  const { port, targets } = plan;
  return (
    plan.internal.length === 0 ||
    (port.loadBalancerIPs.length > 0 && port.loadBalancerSourceRanges.length > 0) ||
    (hasExternalEntry(port) &&
      (targets.cluster.length === 0 || (port.externalPolicyLocal && targets.local.length === 0)))
  );
}

/** `own`: buckets whose port maps this render made or copied (the others are shared). */
function addPlan(index: RenderIndex, plan: PortPlan, own: Set<string>): void {
  const key = plan.port.key;
  index.plans.set(key, plan);
  for (const b of plan.buckets) {
    let ports = writableBucket(index, b, own);
    if (ports === undefined) {
      index.bucketPorts.set(b, (ports = new Map()));
      own.add(b);
    }
    ports.set(key, plan);
  }
  if (plan.externalChain !== undefined && plan.port.nodePort > 0) index.withNodePort.set(key, plan);
  if (isRefused(plan)) index.refused.set(key, plan);
  for (const e of plan.targets.local) index.localIPs.set(e.ip, (index.localIPs.get(e.ip) ?? 0) + 1);
  index.endpointCount += plan.port.endpoints.length;
}

function removePlan(index: RenderIndex, plan: PortPlan, own: Set<string>): void {
  const key = plan.port.key;
  index.plans.delete(key);
  index.texts.delete(key);
  for (const b of plan.buckets) {
    const ports = writableBucket(index, b, own);
    ports?.delete(key);
    if (ports?.size === 0) index.bucketPorts.delete(b);
  }
  index.withNodePort.delete(key);
  index.refused.delete(key);
  for (const e of plan.targets.local) {
    const n = (index.localIPs.get(e.ip) ?? 1) - 1;
    if (n > 0) index.localIPs.set(e.ip, n);
    else index.localIPs.delete(e.ip);
  }
  index.endpointCount -= plan.port.endpoints.length;
}

const sortedByKey = (plans: Iterable<PortPlan>) => [...plans].sort(byKey);

export function renderIptables(request: RenderRequest): RenderResult {
  const { state, config, memory } = request;
  const mark = `0x${(1 << config.masqueradeBit).toString(16)}`;

  // Bring the index up to date: from scratch, or by replacing the changed ports' plans.
  const previous = memory.index;
  let full = request.changed === 'all' || previous === undefined || memory.indexMatchesKernel !== true;
  let index: RenderIndex;
  const rewritePorts: PortPlan[] = [];
  const rewriteBuckets = new Set<string>();
  const removedNat: string[] = [];
  if (!full) {
    index = copyIndex(previous!);
    const own = new Set<string>();
    for (const key of request.changed as ReadonlySet<string>) {
      const old = index.plans.get(key);
      if (old !== undefined) {
        removePlan(index, old, own);
        for (const b of old.buckets) rewriteBuckets.add(b);
        if (old.externalChain !== undefined) removedNat.push(old.externalChain);
      }
      const port = state.get(key);
      if (port === undefined) continue;
      const plan = planPort(previous, port);
      addPlan(index, plan, own);
      for (const b of plan.buckets) rewriteBuckets.add(b);
      rewritePorts.push(plan);
    }
    // Crossing the comment limit changes every chain's text: rewrite all of them.
    if (index.endpointCount <= commentEndpointLimit !== memory.comments) full = true;
  }
  if (full) {
    index = emptyIndex();
    const own = new Set<string>();
    rewritePorts.length = 0;
    rewriteBuckets.clear();
    removedNat.length = 0;
    for (const port of state.values()) {
      const plan = planPort(previous, port);
      addPlan(index, plan, own);
      rewritePorts.push(plan);
    }
    for (const b of index.bucketPorts.keys()) rewriteBuckets.add(b);
  }
  index = index!;
  const comments = index.endpointCount <= commentEndpointLimit;
  const nat = new Writer('nat', comments);
  const filter = new Writer('filter', comments);
  const texts: TextSource = { config, comments, texts: index.texts, previous: full ? previous?.texts : undefined };
  // Our nat chains after this payload: rebuilt on a full sync, adjusted on a partial one.
  const natNow = index.natChains;
  for (const c of removedNat) natNow.delete(c);

  // Per-port chains (external entries).
  for (const plan of rewritePorts.sort(byKey)) {
    const external = portText(plan, texts).external;
    if (external === undefined) continue;
    nat.adopt(external[0], external[1]);
    natNow.add(external[0]);
  }

  // Dispatch tree: a rewritten bucket's /16 parent is rewritten too (both are small).
  const children = new Map<string, string[]>();
  for (const b of index.bucketPorts.keys()) {
    const parent = parentOf(b);
    let list = children.get(parent);
    if (list === undefined) children.set(parent, (list = []));
    list.push(b);
  }
  for (const b of [...rewriteBuckets].sort(byNumericBucket)) {
    const ports = index.bucketPorts.get(b);
    if (ports === undefined) {
      natNow.delete(bucketChain(b));
      removedNat.push(bucketChain(b));
      continue;
    }
    writeBucket(nat, b, [...ports.values()], texts);
    natNow.add(bucketChain(b));
  }
  const rewriteParents = new Set<string>([...rewriteBuckets].map(parentOf));
  const parents = [...children.keys()].sort(byNumericBucket);
  for (const parent of rewriteParents) {
    if (children.has(parent)) continue;
    natNow.delete(bucketChain(parent));
    removedNat.push(bucketChain(parent));
  }
  for (const parent of parents) {
    if (!rewriteParents.has(parent)) continue;
    const chain = bucketChain(parent);
    nat.declare(chain, true);
    natNow.add(chain);
    for (const b of children.get(parent)!.sort(byNumericBucket))
      nat.add(chain, undefined, `-d ${b}.0/20 -j ${bucketChain(b)}`);
  }

  // Top-level nat chains: always rendered, written when their text changed.
  for (const c of [chains.services, chains.nodePorts, chains.postrouting, chains.markMasq, chains.canary]) {
    nat.declare(c, true);
    natNow.add(c);
  }
  for (const parent of parents) nat.add(chains.services, undefined, `-d ${parent}.0.0/16 -j ${bucketChain(parent)}`);
  if (config.nodePortAddresses === undefined) {
    nat.add(
      chains.services,
      'bosun service nodeports; NOTE: this must be the last rule in this chain',
      `! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j ${chains.nodePorts}`,
    );
  } else {
    for (const ip of config.nodePortAddresses)
      nat.add(chains.services, 'bosun service nodeports', `-d ${ip}/32 -j ${chains.nodePorts}`);
  }
  for (const { port, externalChain: ext } of sortedByKey(index.withNodePort.values())) {
    nat.add(chains.nodePorts, port.key, `${protoMatch(port)} --dport ${port.nodePort} -j ${ext}`);
  }
  // Hairpin: a pod that reaches itself through its service must see another source address, or
  // its reply would bypass the reverse NAT. Only local endpoints can be their own clients.
  for (const ip of [...index.localIPs.keys()].sort()) {
    nat.add(
      chains.postrouting,
      undefined,
      `-s ${ip}/32 -d ${ip}/32 -m conntrack --ctstate DNAT -j MARK --or-mark ${mark}`,
    );
  }
  nat.add(chains.postrouting, undefined, `-m mark ! --mark ${mark}/${mark} -j RETURN`);
  // Clear the bit so a packet that is re-routed (e.g. through a tunnel) is not masqueraded twice.
  nat.add(chains.postrouting, undefined, `-j MARK --xor-mark ${mark}`);
  nat.add(chains.postrouting, 'bosun service traffic requiring SNAT', '-j MASQUERADE --random-fully');
  nat.add(chains.markMasq, undefined, `-j MARK --or-mark ${mark}`);
  nat.add(chains.canary, 'bosun flush detector', '-j RETURN');

  // filter: refuse what has nowhere to go; accept forwarded service traffic.
  for (const c of [chains.services, chains.externalServices, chains.forward, chains.canary]) filter.declare(c, true);
  for (const { port, targets } of sortedByKey(index.refused.values())) {
    for (const r of refusals(port, targets)) filter.add(r.chain, r.comment, `${r.match} -j ${r.target}`);
  }
  filter.add(chains.forward, undefined, '-m conntrack --ctstate INVALID -j DROP');
  filter.add(chains.forward, 'bosun forwarding rules', `-m mark --mark ${mark}/${mark} -j ACCEPT`);
  filter.add(chains.forward, 'bosun forwarding conntrack rule', '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  filter.add(chains.canary, 'bosun flush detector', '-j RETURN');

  // What of ours must go: on a full sync everything we knew of and no longer render; on a
  // partial one only what the changed ports and emptied buckets left behind.
  const filterNow = new Set<string>([chains.services, chains.externalServices, chains.forward, chains.canary]);
  const staleNat = full
    ? [...memory.natChains].filter((c) => !natNow.has(c)).sort()
    : [...new Set(removedNat)].filter((c) => !natNow.has(c)).sort();
  const staleFilter = [...memory.filterChains].filter((c) => !filterNow.has(c)).sort();

  const chainText = new Map(full ? [] : memory.chainText);
  for (const c of staleNat) chainText.delete(`nat/${c}`);
  for (const c of staleFilter) chainText.delete(`filter/${c}`);
  // A table with nothing to write is left out: iptables-restore would still read its state.
  const out: string[] = [];
  let ruleCount = 0;
  for (const [name, writer, stale] of [
    ['filter', filter, staleFilter],
    ['nat', nat, staleNat],
  ] as const) {
    const start = out.push(`*${name}`);
    ruleCount += writer.finish(memory.chainText, full, chainText, out, stale);
    if (out.length === start) out.pop();
    else out.push('COMMIT');
  }
  out.push('');

  return {
    payload: out.join('\n'),
    memory: { natChains: natNow, filterChains: filterNow, comments, chainText, index, indexMatchesKernel: true },
    full,
    ruleCount,
    endpointCount: index.endpointCount,
    deletedChains: [...staleFilter, ...staleNat],
    memoryAfterFailure: {
      ...emptyMemory,
      natChains: new Set([...natNow, ...staleNat]),
      filterChains: new Set([...filterNow, ...staleFilter]),
      index,
    },
  };
}
