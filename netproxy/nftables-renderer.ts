/**
 * Renders the proxy's state as one `nft -f` transaction for `--proxy-mode nftables`, after
 * kube-proxy's nftables mode (since 1.31). Pure: state and the memory of the previous render in,
 * transaction text and new memory out.
 *
 * Everything lives in one table of our own (`ip bosun-proxy`), so nothing else on the host is
 * ever rewritten. The fast path has no chain lookup per service: `services` finds the destination
 * in verdict maps keyed on `ip daddr . meta l4proto . th dport` (cluster, external and
 * load-balancer IPs) and `meta l4proto . th dport` (node ports), and goes to a chain that holds
 * the port's balancing rules:
 *   cluster-ips-<a.b.c.0/20>  the cluster IPs of one /20: each port's rule matches its address,
 *                             protocol and port and DNATs to an endpoint that numgen picks from
 *                             the /20's map `endpoints-<proto>-<a.b.c.0/20>`, so replacing a pod
 *                             changes two map elements and no rule: a transaction that adds a
 *                             rule or a goto element makes the kernel validate every rule of the
 *                             table (30 ms of system time at 10,000 services), one of plain
 *                             elements does not. ClientIP ports balance with rules (balance()).
 *   external-<hash>-…         a port's entry for node ports, external and load-balancer IPs
 * Cluster IPs share a chain per /20 instead of one chain each, because nft reads every chain of
 * the table from the kernel before any transaction that adds a rule: at 10,000 services that
 * cost 50-60 ms of CPU per partial sync with a chain per service, and about nothing with at most
 * 256 chains, while a packet walks only its /20's few hundred rules (first packet of a flow).
 * Ports without usable endpoints are refused from the filter hooks through two more maps
 * (`no-endpoint-services`, `no-endpoint-nodeports`): reject, or drop for a Local policy. A pod
 * that reaches itself through a service is masqueraded in postrouting, found in the `hairpin`
 * set (pairs of this node's endpoint addresses).
 *
 * A partial render touches only what the changed ports own: their map and set elements and
 * chains. A full render flushes the table's rules and our maps and writes everything again, in one
 * transaction. ClientIP affinity sets are filled by the kernel, so they are never flushed.
 */
import { shortHash } from './chain-names.ts';
import { LayeredMap } from './layered-map.ts';
import type { ProxyConfig } from './iptables-renderer.ts';
import {
  endpointAddress,
  externalAddresses,
  hasExternalEntry,
  internalTargets,
  trafficTargets,
  type Endpoint,
  type Protocol,
  type ServicePortState,
} from './service-port.ts';

export const nftFamily = 'ip';
export const nftTable = 'bosun-proxy';
const table = `${nftFamily} ${nftTable}`;

/** Our chains that do not depend on any one service. */
const nftChains = {
  natPrerouting: 'nat-prerouting',
  natOutput: 'nat-output',
  natPostrouting: 'nat-postrouting',
  filterInput: 'filter-input',
  filterForward: 'filter-forward',
  filterOutput: 'filter-output',
  services: 'services',
  serviceEndpointsCheck: 'service-endpoints-check',
  nodePortEndpointsCheck: 'nodeport-endpoints-check',
  reject: 'reject-chain',
  markMasq: 'mark-for-masquerade',
  masquerading: 'masquerading',
} as const;

/** Base chains: where the kernel enters our table, at kube-proxy's priorities. */
const nftHooks: readonly { chain: string; type: 'nat' | 'filter'; hook: string; priority: string }[] = [
  { chain: nftChains.natPrerouting, type: 'nat', hook: 'prerouting', priority: 'dstnat' },
  { chain: nftChains.natOutput, type: 'nat', hook: 'output', priority: '-100' },
  { chain: nftChains.natPostrouting, type: 'nat', hook: 'postrouting', priority: 'srcnat' },
  // Before the usual filter chains (priority 0).
  { chain: nftChains.filterInput, type: 'filter', hook: 'input', priority: '-10' },
  { chain: nftChains.filterForward, type: 'filter', hook: 'forward', priority: '-10' },
  { chain: nftChains.filterOutput, type: 'filter', hook: 'output', priority: '-10' },
];

const nftMaps = {
  serviceIPs: 'service-ips',
  serviceNodePorts: 'service-nodeports',
  noEndpointServices: 'no-endpoint-services',
  noEndpointNodePorts: 'no-endpoint-nodeports',
} as const;
type MapName = (typeof nftMaps)[keyof typeof nftMaps];

/**
 * Endpoints of one /20's cluster IPs and one protocol, by `ip daddr . <proto> dport . numgen`.
 * A map per /20 rather than one for all: the kernel's cost of binding a rule to a map grows with
 * the rules already bound to it (one shared map made a full load quadratic), and a /20 holds a
 * few dozen ports. One protocol per map: with `th dport` in the key, nft 1.0.6 cannot read such
 * rules back from the kernel ("conflicting protocols specified: tcp vs. th") and refuses every
 * later transaction that flushes a chain.
 */
function endpointMap(clusterIP: string, proto: Protocol): string {
  return `endpoints-${proto}-${bucketOf(clusterIP)}`;
}

/** The numgen's modulus here only gives the key its type; each rule has its own. */
function endpointMapType(name: string): string {
  const proto = name.split('-')[1];
  return `typeof ip daddr . ${proto} dport . numgen random mod 2 : ip daddr . ${proto} dport`;
}

/** A one-element set whose element a flush or a deleted table takes with it (checked cheaply). */
export const canarySet = 'canary';
export const canaryElement = '127.0.0.1';

/** `ip . ip` pairs of local endpoints: a packet from one to itself is a hairpin. */
const hairpinSet = 'hairpin';

const mapTypes: Record<MapName, string> = {
  [nftMaps.serviceIPs]: 'type ipv4_addr . inet_proto . inet_service : verdict',
  [nftMaps.serviceNodePorts]: 'type inet_proto . inet_service : verdict',
  [nftMaps.noEndpointServices]: 'type ipv4_addr . inet_proto . inet_service : verdict',
  [nftMaps.noEndpointNodePorts]: 'type inet_proto . inet_service : verdict',
};

/** One map element a port owns: a verdict, or an endpoint (`ip . port`) in an endpoint map. */
interface Element {
  map: string;
  key: string;
  verdict: string;
}

/** Everything one service port owns in the table. */
interface PortRender {
  port: ServicePortState;
  /** settings the text depends on besides the port */
  settings: string;
  /** the /20 chain holding the cluster IP's rules, when the cluster IP balances */
  bucket: string | undefined;
  /** this port's rules in its /20 chain */
  clusterRules: string[];
  /**
   * The same as `add rule` lines, and the port's elements as `key : value` items per map, each
   * joined once here: a full sync copies these flat strings for every unchanged port instead of
   * building and flattening 100,000 small strings again (half of a full render's time).
   */
  clusterText: string;
  elementItems: ReadonlyMap<string, string>;
  /** the /20's endpoint map that the cluster IP's rule picks from, when it uses one */
  endpointMap: string | undefined;
  /** the port's own chains (external entry) -> rules */
  chains: Map<string, string[]>;
  /** affinity set name -> timeout in seconds */
  sets: Map<string, number>;
  elements: Element[];
  /** addresses of this node's endpoints that the port balances to (each needs a hairpin pair) */
  hairpin: string[];
}

/** What a render leaves for the next one; never changed by a later render. */
export interface NftMemory {
  /** Renders of every port, as the kernel holds them after the sync that used this render. */
  readonly ports: LayeredMap<string, PortRender>;
  /** Whether the kernel holds exactly `ports` (false before the first sync and after a failure). */
  readonly matchesKernel: boolean;
  /** How many ports use each hairpin address: its element goes with the last one. */
  readonly hairpin: LayeredMap<string, number>;
  /** /20 chain -> the keys of the ports in it, sorted */
  readonly buckets: LayeredMap<string, readonly string[]>;
  /** How many ports pick from each endpoint map: the map goes with the last one. */
  readonly endpointMaps: LayeredMap<string, number>;
}

export const emptyNftMemory: NftMemory = {
  ports: LayeredMap.empty(),
  matchesKernel: false,
  hairpin: LayeredMap.empty(),
  buckets: LayeredMap.empty(),
  endpointMaps: LayeredMap.empty(),
};

interface NftRenderRequest {
  state: ReadonlyMap<string, ServicePortState>;
  config: ProxyConfig;
  /** Port keys whose elements and chains may have changed, or 'all' for a full sync. */
  changed: ReadonlySet<string> | 'all';
  memory: NftMemory;
}

interface NftRenderResult {
  /** `nft -f` input; empty when a partial render found nothing to change. */
  transaction: string;
  memory: NftMemory;
  full: boolean;
  /** Rules the table holds after a full render (0 for a partial one). */
  ruleCount: number;
}

/**
 * Chain names carry the port's readable identity after the hash, as kube-proxy's do; the hash
 * alone keeps them unique. Names come from validated objects and are checked again here: one
 * that is not a plain nft identifier keeps only the hash.
 */
const readableName = /^[a-z0-9][a-z0-9./_-]*$/;
function chainName(kind: string, hashInput: string, readable: string): string {
  const base = `${kind}-${shortHash(hashInput)}`;
  return readableName.test(readable) && readable.length <= 200 ? `${base}-${readable}` : base;
}

function readablePort(p: ServicePortState): string {
  return `${p.service}/${p.protocol}/${p.portName === '' ? `p${p.port}` : p.portName}`;
}

/** A cluster IP's /20 ("10.96.48.0/20"). */
function bucketOf(ip: string): string {
  const [a, b, c] = ip.split('.');
  return `${a}.${b}.${Number(c) & 0xf0}.0/20`;
}
/** The chain of a cluster IP's /20. */
const bucketChain = (ip: string) => `cluster-ips-${bucketOf(ip)}`;
const externalChain = (p: ServicePortState) => chainName('external', p.key, readablePort(p));
/** loadBalancerSourceRanges: the listed clients go on to the external chain, the others are dropped. */
const firewallChain = (p: ServicePortState) => chainName('firewall', p.key, readablePort(p));
/** The timeout is part of the name: a set's timeout cannot change, so a new one means a new set. */
const affinitySet = (p: ServicePortState, e: Endpoint) =>
  `affinity-${shortHash(`${p.key}|${endpointAddress(e)}|${p.affinitySeconds}`)}`;

function maskOf(config: ProxyConfig): string {
  return `0x${(1 << config.masqueradeBit).toString(16)}`;
}

/**
 * Rules that pick one endpoint and DNAT to it, inline: a client remembered in an endpoint's
 * affinity set goes back to it; anyone else is spread evenly, rule i taken with chance 1/(n-i)
 * by those that skipped rules 0..i-1. Plain `numgen ... == 0` compares instead of kube-proxy's
 * `numgen random mod N vmap { ... }` to per-endpoint chains: on this kernel every anonymous map
 * costs a scan of the table's sets (10,000 services: 30 s to load instead of 1-2 s), and every
 * chain makes each later `nft -f` slower (see the header). `match` prefixes every rule: the
 * port's address and port in a shared /20 chain; the client's kind in an external chain, which
 * balances different endpoints for different clients.
 */
function balance(out: string[], match: string, port: ServicePortState, endpoints: readonly Endpoint[]): void {
  const n = endpoints.length;
  const dnat = (e: Endpoint) => `meta l4proto ${port.protocol} dnat to ${endpointAddress(e)}`;
  const remember = (e: Endpoint) => (port.affinitySeconds > 0 ? `update @${affinitySet(port, e)} { ip saddr } ` : '');
  if (port.affinitySeconds > 0)
    for (const e of endpoints) out.push(`${match}ip saddr @${affinitySet(port, e)} ${remember(e)}${dnat(e)}`);
  endpoints.forEach((e, i) => {
    const chance = i < n - 1 ? `numgen random mod ${n - i} == 0 ` : '';
    out.push(`${match}${chance}${remember(e)}${dnat(e)}`);
  });
}

function renderPort(port: ServicePortState, config: ProxyConfig, settings: string): PortRender {
  const targets = trafficTargets(port);
  const internal = port.clusterIP === undefined ? [] : internalTargets(port, targets);
  const chains = new Map<string, string[]>();
  const elements: Element[] = [];
  const proto = port.protocol;
  const none = targets.cluster.length === 0;
  const balanced: Endpoint[] = [];
  let bucket: string | undefined;
  const clusterRules: string[] = [];
  let endpointMapName: string | undefined;

  if (port.clusterIP !== undefined) {
    const key = `${port.clusterIP} . ${proto} . ${port.port}`;
    if (internal.length > 0) {
      bucket = bucketChain(port.clusterIP);
      const match = `ip daddr ${port.clusterIP} ${proto} dport ${port.port} `;
      if (config.clusterCIDR !== undefined)
        clusterRules.push(`${match}ip saddr != ${config.clusterCIDR} jump ${nftChains.markMasq}`);
      if (port.affinitySeconds > 0) balance(clusterRules, match, port, internal);
      else {
        // One rule picks the endpoint from a map: replacing a pod (same count) changes elements
        // only, and a transaction without rules skips the kernel's walk of every rule.
        const map = endpointMap(port.clusterIP, proto);
        endpointMapName = map;
        clusterRules.push(
          `${match}dnat ip addr . port to ip daddr . ${proto} dport . numgen random mod ${internal.length} map @${map}`,
        );
        internal.forEach((e, i) =>
          elements.push({ map, key: `${port.clusterIP} . ${port.port} . ${i}`, verdict: `${e.ip} . ${e.port}` }),
        );
      }
      balanced.push(...internal);
      elements.push({ map: nftMaps.serviceIPs, key, verdict: `goto ${bucket}` });
    } else {
      elements.push({ map: nftMaps.noEndpointServices, key, verdict: none ? `goto ${nftChains.reject}` : 'drop' });
    }
  }

  // External entries: node ports, external IPs and load-balancer IPs (externalAddresses()).
  if (hasExternalEntry(port)) {
    if (!none) {
      const ext = externalChain(port);
      const rules: string[] = [];
      if (!port.externalPolicyLocal) {
        rules.push(`jump ${nftChains.markMasq}`);
        balance(rules, '', port, targets.cluster);
      } else {
        // Local policy keeps the client's address, except for traffic that must leave the node
        // anyway: pods and the node itself may reach any endpoint, the node's own masqueraded.
        if (config.clusterCIDR !== undefined) balance(rules, `ip saddr ${config.clusterCIDR} `, port, targets.cluster);
        rules.push(`fib saddr type local jump ${nftChains.markMasq}`);
        balance(rules, 'fib saddr type local ', port, targets.cluster);
        balance(rules, '', port, targets.local);
      }
      balanced.push(...targets.cluster, ...targets.local);
      chains.set(ext, rules);
      // loadBalancerSourceRanges limit the load-balancer IPs only, as kube-proxy's firewall does
      const ranges = port.loadBalancerSourceRanges.map((r) => r.trim()).filter((r) => r !== '');
      const fw = port.loadBalancerIPs.length > 0 && ranges.length > 0 ? firewallChain(port) : undefined;
      if (fw !== undefined) chains.set(fw, [`ip saddr { ${ranges.join(', ')} } goto ${ext}`, 'drop']);
      for (const ip of port.externalIPs)
        elements.push({ map: nftMaps.serviceIPs, key: `${ip} . ${proto} . ${port.port}`, verdict: `goto ${ext}` });
      for (const ip of port.loadBalancerIPs)
        elements.push({
          map: nftMaps.serviceIPs,
          key: `${ip} . ${proto} . ${port.port}`,
          verdict: `goto ${fw ?? ext}`,
        });
      if (port.nodePort > 0)
        elements.push({ map: nftMaps.serviceNodePorts, key: `${proto} . ${port.nodePort}`, verdict: `goto ${ext}` });
    }
    let refuse: string | undefined;
    if (none) refuse = `goto ${nftChains.reject}`;
    else if (port.externalPolicyLocal && targets.local.length === 0) refuse = 'drop';
    if (refuse !== undefined) {
      for (const ip of externalAddresses(port))
        elements.push({ map: nftMaps.noEndpointServices, key: `${ip} . ${proto} . ${port.port}`, verdict: refuse });
      if (port.nodePort > 0)
        elements.push({ map: nftMaps.noEndpointNodePorts, key: `${proto} . ${port.nodePort}`, verdict: refuse });
    }
  }

  const sets = new Map<string, number>();
  if (port.affinitySeconds > 0) for (const e of balanced) sets.set(affinitySet(port, e), port.affinitySeconds);
  const hairpin = [...new Set(balanced.filter((e) => e.local).map((e) => e.ip))].sort();
  const clusterText =
    bucket === undefined ? '' : clusterRules.map((r) => `add rule ${table} ${bucket} ${r}`).join('\n');
  return {
    port,
    settings,
    bucket,
    clusterRules,
    clusterText,
    elementItems: elementItemsByMap(elements),
    endpointMap: endpointMapName,
    chains,
    sets,
    elements,
    hairpin,
  };
}

/** Chains, rules and maps that every sync has, whatever the services. */
function fixedRules(config: ProxyConfig): Map<string, string[]> {
  const mask = maskOf(config);
  const nodePortDestination =
    config.nodePortAddresses === undefined
      ? 'fib daddr type local ip daddr != 127.0.0.0/8 '
      : `ip daddr { ${config.nodePortAddresses.join(', ')} } `;
  const newOnly = 'ct state new';
  return new Map([
    [nftChains.natPrerouting, [`jump ${nftChains.services}`]],
    [nftChains.natOutput, [`jump ${nftChains.services}`]],
    [nftChains.natPostrouting, [`jump ${nftChains.masquerading}`]],
    [
      nftChains.filterInput,
      [`${newOnly} jump ${nftChains.nodePortEndpointsCheck}`, `${newOnly} jump ${nftChains.serviceEndpointsCheck}`],
    ],
    [nftChains.filterForward, [`${newOnly} jump ${nftChains.serviceEndpointsCheck}`]],
    [nftChains.filterOutput, [`${newOnly} jump ${nftChains.serviceEndpointsCheck}`]],
    [
      nftChains.services,
      [
        `ip daddr . meta l4proto . th dport vmap @${nftMaps.serviceIPs}`,
        `${nodePortDestination}meta l4proto . th dport vmap @${nftMaps.serviceNodePorts}`,
      ],
    ],
    [nftChains.serviceEndpointsCheck, [`ip daddr . meta l4proto . th dport vmap @${nftMaps.noEndpointServices}`]],
    [
      nftChains.nodePortEndpointsCheck,
      [`${nodePortDestination}meta l4proto . th dport vmap @${nftMaps.noEndpointNodePorts}`],
    ],
    // TCP gets a reset: an ICMP answer to the first SYN does not fail connect() on this kernel.
    [nftChains.reject, ['meta l4proto tcp reject with tcp reset', 'reject']],
    [nftChains.markMasq, [`meta mark set meta mark or ${mask}`]],
    [
      nftChains.masquerading,
      [
        // Hairpin: a pod that reached itself through a service must see another source address,
        // or its reply would bypass the reverse NAT.
        `ct status dnat ip saddr . ip daddr @${hairpinSet} meta mark set meta mark or ${mask}`,
        `meta mark & ${mask} == 0 return`,
        // Clear the bit so a packet that is routed again (a tunnel) is not masqueraded twice.
        `meta mark set meta mark xor ${mask}`,
        'masquerade fully-random',
      ],
    ],
  ]);
}

const hookSpec = new Map(nftHooks.map((h) => [h.chain, `{ type ${h.type} hook ${h.hook} priority ${h.priority} ; }`]));

function declareChain(out: string[], chain: string): void {
  const spec = hookSpec.get(chain);
  out.push(spec === undefined ? `add chain ${table} ${chain}` : `add chain ${table} ${chain} ${spec}`);
}

function declareSet(out: string[], name: string, seconds: number): void {
  out.push(`add set ${table} ${name} { type ipv4_addr ; flags dynamic,timeout ; timeout ${seconds}s ; }`);
}

/** `flush`: the map may hold elements of an earlier sync. */
function declareEndpointMap(out: string[], name: string, flush: boolean): void {
  out.push(`add map ${table} ${name} { ${endpointMapType(name)} ; }`);
  if (flush) out.push(`flush map ${table} ${name}`);
}

function addRules(out: string[], chain: string, rules: readonly string[]): number {
  for (const r of rules) out.push(`add rule ${table} ${chain} ${r}`);
  return rules.length;
}

function sameRules(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((r, i) => r === b[i]);
}

function groupByMap(elements: readonly Element[], item: (e: Element) => string): Map<string, string[]> {
  const byMap = new Map<string, string[]>();
  for (const e of elements) {
    let list = byMap.get(e.map);
    if (list === undefined) byMap.set(e.map, (list = []));
    list.push(item(e));
  }
  return byMap;
}

const addItem = (e: Element) => `${e.key} : ${e.verdict}`;

function elementItemsByMap(elements: readonly Element[]): Map<string, string> {
  return new Map([...groupByMap(elements, addItem)].map(([map, items]) => [map, items.join(', ')]));
}

/** Elements grouped into one command per map (far less text for nft to parse than one each). */
function writeElements(out: string[], verb: 'add' | 'delete', elements: readonly Element[]): void {
  const byMap = groupByMap(elements, verb === 'add' ? addItem : (e) => e.key);
  for (const [map, items] of byMap) out.push(`${verb} element ${table} ${map} { ${items.join(', ')} }`);
}

/** A full render's elements: every port's items, already joined per port, in one command per map. */
function writeAllElements(out: string[], renders: readonly PortRender[]): void {
  const byMap = new Map<string, string[]>();
  for (const r of renders)
    for (const [map, items] of r.elementItems) {
      let list = byMap.get(map);
      if (list === undefined) byMap.set(map, (list = []));
      list.push(items);
    }
  for (const [map, chunks] of byMap) out.push(`add element ${table} ${map} { ${chunks.join(', ')} }`);
}

function writeHairpin(out: string[], verb: 'add' | 'delete', ips: readonly string[]): void {
  if (ips.length > 0)
    out.push(`${verb} element ${table} ${hairpinSet} { ${ips.map((ip) => `${ip} . ${ip}`).join(', ')} }`);
}

function settingsOf(config: ProxyConfig): string {
  return `${config.clusterCIDR ?? ''}|${config.masqueradeBit}`;
}

/** A port's render, reusing the previous one when neither the port nor the settings changed. */
function portRender(previous: NftMemory, port: ServicePortState, config: ProxyConfig, settings: string): PortRender {
  const known = previous.ports.get(port.key);
  return known !== undefined && known.port === port && known.settings === settings
    ? known
    : renderPort(port, config, settings);
}

const byKey = (a: ServicePortState, b: ServicePortState) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

export function renderNftables(request: NftRenderRequest): NftRenderResult {
  const settings = settingsOf(request.config);
  return request.changed === 'all' || !request.memory.matchesKernel
    ? renderFull(request, settings)
    : renderPartial(request, request.changed, settings);
}

function renderFull(request: NftRenderRequest, settings: string): NftRenderResult {
  const { state, config, memory } = request;
  const out: string[] = [`add table ${table}`];
  // Unknown kernel state (first sync, after a failure): start from an empty table, in the same
  // transaction, so nothing of an older table survives and packets never see it half-built.
  if (!memory.matchesKernel) out.push(`delete table ${table}`, `add table ${table}`);
  out.push(`flush table ${table}`);
  for (const [name, type] of Object.entries(mapTypes))
    out.push(`add map ${table} ${name} { ${type} ; }`, `flush map ${table} ${name}`);
  out.push(`add set ${table} ${hairpinSet} { type ipv4_addr . ipv4_addr ; }`, `flush set ${table} ${hairpinSet}`);
  out.push(
    `add set ${table} ${canarySet} { type ipv4_addr ; }`,
    `add element ${table} ${canarySet} { ${canaryElement} }`,
  );
  const fixed = fixedRules(config);
  for (const chain of fixed.keys()) declareChain(out, chain);

  const ports = LayeredMap.empty<string, PortRender>();
  const hairpin = LayeredMap.empty<string, number>();
  const endpointMaps = LayeredMap.empty<string, number>();
  const bucketKeys = new Map<string, string[]>();
  const renders: PortRender[] = [];
  for (const port of [...state.values()].sort(byKey)) {
    const r = portRender(memory, port, config, settings);
    ports.set(port.key, r);
    renders.push(r);
    for (const ip of r.hairpin) hairpin.set(ip, (hairpin.get(ip) ?? 0) + 1);
    if (r.endpointMap !== undefined) endpointMaps.set(r.endpointMap, (endpointMaps.get(r.endpointMap) ?? 0) + 1);
    if (r.bucket !== undefined) {
      let keys = bucketKeys.get(r.bucket);
      if (keys === undefined) bucketKeys.set(r.bucket, (keys = []));
      keys.push(port.key);
    }
  }
  const buckets = LayeredMap.empty<string, readonly string[]>();
  const chainsNow = new Set<string>();
  const setsNow = new Set<string>();
  for (const [bucket, keys] of [...bucketKeys].sort(([a], [b]) => (a < b ? -1 : 1))) {
    buckets.set(bucket, keys);
    chainsNow.add(bucket);
    declareChain(out, bucket);
  }
  // Endpoint maps keep their elements through `flush table`; a full sync writes them again.
  const endpointMapNames = [...endpointMaps.entries()].map(([name]) => name).sort();
  for (const name of endpointMapNames) declareEndpointMap(out, name, memory.matchesKernel);
  for (const r of renders) {
    for (const [set, seconds] of r.sets) {
      setsNow.add(set);
      declareSet(out, set, seconds);
    }
    for (const chain of r.chains.keys()) {
      chainsNow.add(chain);
      declareChain(out, chain);
    }
  }
  let ruleCount = 0;
  for (const [chain, rules] of fixed) ruleCount += addRules(out, chain, rules);
  for (const r of renders) for (const [chain, rules] of r.chains) ruleCount += addRules(out, chain, rules);
  for (const keys of bucketKeys.values())
    for (const key of keys) {
      const r = ports.get(key)!;
      if (r.clusterRules.length > 0) out.push(r.clusterText);
      ruleCount += r.clusterRules.length;
    }
  writeAllElements(out, renders);
  writeHairpin(out, 'add', [...hairpin.entries()].map(([ip]) => ip).sort());
  // What the table held and no longer needs; emptied by the flush above.
  if (memory.matchesKernel) {
    const stale = new Set<string>();
    const staleSets = new Set<string>();
    for (const [bucket] of memory.buckets.entries()) if (!chainsNow.has(bucket)) stale.add(bucket);
    for (const [, r] of memory.ports.entries()) {
      for (const chain of r.chains.keys()) if (!chainsNow.has(chain)) stale.add(chain);
      for (const set of r.sets.keys()) if (!setsNow.has(set)) staleSets.add(set);
    }
    for (const chain of [...stale].sort()) out.push(`delete chain ${table} ${chain}`);
    for (const set of [...staleSets].sort()) out.push(`delete set ${table} ${set}`);
    const staleMaps = [...memory.endpointMaps.entries()].filter(([name]) => endpointMaps.get(name) === undefined);
    for (const [name] of staleMaps.sort(([a], [b]) => (a < b ? -1 : 1))) out.push(`delete map ${table} ${name}`);
  }
  out.push('');
  return {
    transaction: out.join('\n'),
    memory: {
      ports: ports.next(),
      matchesKernel: true,
      hairpin: hairpin.next(),
      buckets: buckets.next(),
      endpointMaps: endpointMaps.next(),
    },
    full: true,
    ruleCount,
  };
}

function renderPartial(request: NftRenderRequest, changed: ReadonlySet<string>, settings: string): NftRenderResult {
  const { state, config, memory } = request;
  const ports = memory.ports.next();
  const hairpin = memory.hairpin.next();
  const buckets = memory.buckets.next();
  const endpointMaps = memory.endpointMaps.next();
  /** /20 chains whose rules must be written again */
  const touched = new Set<string>();
  const addSets: string[] = [];
  const declare: string[] = [];
  const rules: string[] = [];
  const removedElements: Element[] = [];
  const addedElements: Element[] = [];
  const hairpinGone = new Set<string>();
  const hairpinNew = new Set<string>();
  const deleteChains: string[] = [];
  const deleteSets: string[] = [];
  for (const key of [...changed].sort()) {
    const before = memory.ports.get(key);
    const port = state.get(key);
    const after = port === undefined ? undefined : portRender(memory, port, config, settings);
    if (before === after) continue;
    if (after === undefined) ports.delete(key);
    else ports.set(key, after);
    if (before?.bucket !== after?.bucket || !sameRules(before?.clusterRules, after?.clusterRules ?? [])) {
      if (before?.bucket !== undefined) {
        touched.add(before.bucket);
        const rest = (buckets.get(before.bucket) ?? []).filter((k) => k !== key);
        if (rest.length > 0) buckets.set(before.bucket, rest);
        else buckets.delete(before.bucket);
      }
      if (after?.bucket !== undefined) {
        touched.add(after.bucket);
        buckets.set(after.bucket, [...(buckets.get(after.bucket) ?? []), key].sort());
      }
    }

    const oldElements = new Map((before?.elements ?? []).map((e) => [`${e.map}|${e.key}`, e]));
    const newElements = new Map((after?.elements ?? []).map((e) => [`${e.map}|${e.key}`, e]));
    for (const [id, e] of oldElements) if (newElements.get(id)?.verdict !== e.verdict) removedElements.push(e);
    for (const [id, e] of newElements) if (oldElements.get(id)?.verdict !== e.verdict) addedElements.push(e);

    for (const ip of before?.hairpin ?? []) {
      const n = (hairpin.get(ip) ?? 1) - 1;
      if (n > 0) hairpin.set(ip, n);
      else {
        hairpin.delete(ip);
        hairpinGone.add(ip);
      }
    }
    for (const ip of after?.hairpin ?? []) {
      const n = (hairpin.get(ip) ?? 0) + 1;
      hairpin.set(ip, n);
      if (n === 1) hairpinNew.add(ip);
    }

    if (before?.endpointMap !== undefined) {
      const n = (endpointMaps.get(before.endpointMap) ?? 1) - 1;
      if (n > 0) endpointMaps.set(before.endpointMap, n);
      else endpointMaps.delete(before.endpointMap);
    }
    if (after?.endpointMap !== undefined)
      endpointMaps.set(after.endpointMap, (endpointMaps.get(after.endpointMap) ?? 0) + 1);

    for (const [set, seconds] of after?.sets ?? []) if (!before?.sets.has(set)) declareSet(addSets, set, seconds);
    for (const set of before?.sets.keys() ?? []) if (!after?.sets.has(set)) deleteSets.push(set);
    for (const [chain, list] of after?.chains ?? []) {
      const old = before?.chains.get(chain);
      if (sameRules(old, list)) continue;
      if (old === undefined) declareChain(declare, chain);
      else rules.push(`flush chain ${table} ${chain}`);
      addRules(rules, chain, list);
    }
    for (const chain of before?.chains.keys() ?? []) if (!after?.chains.has(chain)) deleteChains.push(chain);
  }
  for (const bucket of [...touched].sort()) {
    const keys = buckets.get(bucket);
    const existed = memory.buckets.get(bucket) !== undefined;
    if (keys === undefined) {
      if (existed) deleteChains.push(bucket);
      continue;
    }
    if (existed) rules.push(`flush chain ${table} ${bucket}`);
    else declareChain(declare, bucket);
    for (const key of keys) addRules(rules, bucket, ports.get(key)!.clusterRules);
  }
  // Order matters inside the transaction: new sets and chains before the rules that use them,
  // old elements out before new ones in (a key may move to another verdict), and chains and sets
  // deleted only once nothing refers to them. An address that left one port and joined another
  // in the same sync is both removed and added back: the element stays.
  const mapsBefore = new Set<string>();
  const mapsAfter = new Set<string>();
  for (const key of changed) {
    const before = memory.ports.get(key)?.endpointMap;
    const after = ports.get(key)?.endpointMap;
    if (before !== undefined) mapsBefore.add(before);
    if (after !== undefined) mapsAfter.add(after);
  }
  for (const name of [...mapsAfter].sort())
    if (memory.endpointMaps.get(name) === undefined) declareEndpointMap(addSets, name, false);
  const deleteMaps = [...mapsBefore].filter((name) => endpointMaps.get(name) === undefined).sort();
  const out = [...addSets, ...declare, ...rules];
  writeElements(out, 'delete', removedElements);
  writeElements(out, 'add', addedElements);
  const stillGone = [...hairpinGone].filter((ip) => hairpin.get(ip) === undefined);
  const reallyNew = [...hairpinNew].filter((ip) => !hairpinGone.has(ip));
  writeHairpin(out, 'delete', stillGone);
  writeHairpin(out, 'add', reallyNew);
  for (const chain of deleteChains.sort()) out.push(`delete chain ${table} ${chain}`);
  for (const set of deleteSets.sort()) out.push(`delete set ${table} ${set}`);
  for (const name of deleteMaps) out.push(`delete map ${table} ${name}`);
  return {
    transaction: out.length === 0 ? '' : `${out.join('\n')}\n`,
    memory: { ports, matchesKernel: true, hairpin, buckets, endpointMaps },
    full: false,
    ruleCount: 0,
  };
}
