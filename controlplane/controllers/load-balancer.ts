/**
 * The built-in load balancer for LoadBalancer Services (servicelb-like): decides which nodes
 * announce a Service and writes their addresses into `status.loadBalancer.ingress`; the agents'
 * service proxies then accept the Service's ports on those addresses, as kube-proxy does for any
 * load-balancer IP. Pure: one Service and what the caches hold in, actions out.
 *
 * - Announcing nodes: Ready nodes without upstream's exclude-from-external-load-balancers label;
 *   only those labelled `bosun.io/lb-pool=<pool>` when the Service carries the annotation
 *   `bosun.io/lb-pool: <pool>`; with `externalTrafficPolicy: Local` only those with a ready
 *   endpoint of the Service, so the client's address is kept and nothing is dropped.
 * - Services with a `loadBalancerClass` other than `bosun.io/servicelb` belong to someone else.
 * - A port that an older LoadBalancer Service already serves on a node's address is not announced
 *   there: the condition `bosun.io/LoadBalancerPortsAvailable` turns False and a Warning event
 *   names the Service in the way, instead of one Service silently shadowing the other.
 * - With an address pool, the Service gets one pool address instead of node addresses, bound by
 *   one announcing node chosen here (load-balancer-addresses.ts); it moves when that node stops
 *   announcing (NotReady, relabelled, no local endpoint any more).
 */
import { apiTime } from '../../kube/api-time.ts';
import type { LoadBalancerIngress, MetaCondition, Node, Service } from '../../kube/corev1.ts';
import type { EndpointSlice } from '../../kube/discoveryv1.ts';
import { isIp } from '../../kube/name-formats.ts';
import {
  addressNodeOf,
  excludeFromLoadBalancersLabel,
  loadBalancerNames,
  servesLoadBalancerClass,
} from '../../kube/load-balancer-names.ts';
import type { Action, Plan } from './actions.ts';
import { objectKey } from './client.ts';
import { ingressProxyPorts, nodePortProblem } from './node-ports-in-use.ts';
import {
  type AddressPool,
  chooseAddressNode,
  freePoolAddress,
  inPool,
  poolAddressOf,
} from './load-balancer-addresses.ts';

interface LoadBalancerView {
  readonly service: Service;
  readonly nodes: readonly Node[];
  /** The EndpointSlices of this Service. */
  readonly slices: readonly EndpointSlice[];
  /** Every Service of the cluster; the Service itself may be among them. */
  readonly services: readonly Service[];
  readonly pool: AddressPool | undefined;
  readonly now: Date;
}

function isLoadBalancer(service: Service): boolean {
  return service.spec.type === 'LoadBalancer' && servesLoadBalancerClass(service);
}

function isReady(node: Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The address clients reach the node on: its ExternalIP when it has one, else its InternalIP. */
function nodeAddress(node: Node): string | undefined {
  // a node writes its own addresses: one that is not an IP would make every status write refused
  const addresses = (node.status?.addresses ?? []).filter((a) => typeof a.address === 'string' && isIp(a.address));
  return (addresses.find((a) => a.type === 'ExternalIP') ?? addresses.find((a) => a.type === 'InternalIP'))?.address;
}

/** Names of the nodes with a ready endpoint of the Service. */
function nodesWithEndpoints(slices: readonly EndpointSlice[]): Set<string> {
  const out = new Set<string>();
  for (const slice of slices)
    for (const e of slice.endpoints ?? [])
      if (e.nodeName !== undefined && e.conditions?.ready !== false) out.add(e.nodeName);
  return out;
}

/** The nodes that may announce the Service, sorted by name. */
function announcingNodes(service: Service, nodes: readonly Node[], slices: readonly EndpointSlice[]): Node[] {
  const pool = service.metadata.annotations?.[loadBalancerNames.pool];
  const local = service.spec.externalTrafficPolicy === 'Local' ? nodesWithEndpoints(slices) : undefined;
  return nodes
    .filter(
      (n) =>
        isReady(n) &&
        nodeAddress(n) !== undefined &&
        n.metadata.labels?.[excludeFromLoadBalancersLabel] === undefined &&
        (pool === undefined || n.metadata.labels?.[loadBalancerNames.pool] === pool) &&
        (local === undefined || local.has(n.metadata.name ?? '')),
    )
    .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
}

/** Older Services keep what they hold; a tie (same second) goes by namespace/name. */
function precedes(a: Service, b: Service): boolean {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb;
  return objectKey(a) < objectKey(b);
}

function portKeys(service: Service): string[] {
  return (service.spec.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`);
}

function ingressIPs(service: Service): string[] {
  return (service.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ip);
}

/** "address|port/protocol" -> the older Service that serves it there. */
function claimedByOlder(service: Service, services: readonly Service[]): Map<string, Service> {
  const out = new Map<string, Service>();
  for (const other of services) {
    if (other.metadata.uid === service.metadata.uid || !isLoadBalancer(other) || !precedes(other, service)) continue;
    for (const ip of ingressIPs(other)) for (const port of portKeys(other)) out.set(`${ip}|${port}`, other);
  }
  return out;
}

interface Announcement {
  ingress: LoadBalancerIngress[];
  /** The node that binds the pool address, with an address pool. */
  addressNode: string | undefined;
  /** Port conflicts, one sentence each. */
  conflicts: string[];
  /** Why no pool address could be given, if so. */
  allocationProblem: string | undefined;
}

/** Removes the addresses where a port is an older Service's; says which and why. */
function withoutConflicts(service: Service, addresses: readonly string[], services: readonly Service[]) {
  const claimed = claimedByOlder(service, services);
  const conflicts: string[] = [];
  const free = addresses.filter((ip) => {
    const taken = portKeys(service).flatMap((port) => {
      const holder = claimed.get(`${ip}|${port}`);
      return holder === undefined ? [] : [`port ${port} is already served on ${ip} by Service ${objectKey(holder)}`];
    });
    conflicts.push(...taken);
    return taken.length === 0;
  });
  return { free, conflicts };
}

function announceOnNodes(view: LoadBalancerView, nodes: readonly Node[]): Announcement {
  // a port the nodes themselves use keeps the Service off every node address
  const reserved = portKeys(view.service).flatMap((port) => nodePortProblem(port, view.service, view.services) ?? []);
  // a node's own ingress proxy holds its ports (80/443) there: the Service would take its traffic
  const ingressHeld: string[] = [];
  const open = nodes.filter((n) => {
    const held = ingressProxyPorts(n);
    const taken = portKeys(view.service).filter((port) => held.has(port));
    for (const port of taken)
      ingressHeld.push(
        `port ${port} is served on ${nodeAddress(n)} by the node's ingress proxy (--disable ingress frees it)`,
      );
    return taken.length === 0;
  });
  const addresses = reserved.length > 0 ? [] : [...new Set(open.map((n) => nodeAddress(n)!))];
  const found = withoutConflicts(view.service, addresses, view.services);
  const { free } = found;
  const conflicts = [...reserved, ...(reserved.length > 0 ? [] : ingressHeld), ...found.conflicts];
  return {
    // Proxy: the address is the node itself, not a virtual IP every node should take over (KEP-1860);
    // a proxy then programs it only on its own node (IPVS would otherwise bind peers' addresses)
    ingress: free.sort(byAddress).map((ip) => ({ ip, ipMode: 'Proxy' as const })),
    addressNode: undefined,
    conflicts,
    allocationProblem: undefined,
  };
}

/** The pool address the Service keeps or gets, or why it gets none. */
function poolAddress(view: LoadBalancerView, pool: AddressPool): { ip: string } | { problem: string } {
  const { service, services } = view;
  const others = services.filter((s) => s.metadata.uid !== service.metadata.uid && isLoadBalancer(s));
  const heldByOlder = (ip: string) => others.find((s) => precedes(s, service) && poolAddressOf(pool, s) === ip);
  const requested = service.spec.loadBalancerIP;
  if (requested !== undefined && requested !== '') {
    if (!inPool(pool, requested))
      return { problem: `spec.loadBalancerIP ${requested} is not in the address pool ${pool.cidr}` };
    const holder = heldByOlder(requested);
    if (holder !== undefined)
      return { problem: `spec.loadBalancerIP ${requested} is already used by Service ${objectKey(holder)}` };
    return { ip: requested };
  }
  const current = poolAddressOf(pool, service);
  if (current !== undefined && heldByOlder(current) === undefined) return { ip: current };
  const used = new Set(others.map((s) => poolAddressOf(pool, s)).filter((ip): ip is string => ip !== undefined));
  const free = freePoolAddress(pool, used);
  return free === undefined ? { problem: `the address pool ${pool.cidr} is full` } : { ip: free };
}

function announceFromPool(view: LoadBalancerView, nodes: readonly Node[], pool: AddressPool): Announcement {
  const none = { ingress: [], addressNode: undefined, conflicts: [] };
  if (nodes.length === 0) return { ...none, allocationProblem: undefined };
  const address = poolAddress(view, pool);
  if ('problem' in address) return { ...none, allocationProblem: address.problem };
  const current = addressNodeOf(view.service);
  const addressNode = chooseAddressNode(
    objectKey(view.service),
    current,
    nodes.map((n) => n.metadata.name ?? ''),
  );
  return { ingress: [{ ip: address.ip }], addressNode, conflicts: [], allocationProblem: undefined };
}

function byAddress(a: string, b: string): number {
  const n = (ip: string) => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return n(a) - n(b);
}

/** At most this many conflicts are spelt out: many ports on many nodes must not make a status too big to store. */
const conflictsShown = 5;

function summary(conflicts: readonly string[]): string {
  const shown = conflicts.slice(0, conflictsShown).join('; ');
  const more = conflicts.length - conflictsShown;
  return more > 0 ? `${shown}; and ${more} more` : shown;
}

function portsCondition(previous: MetaCondition | undefined, conflicts: readonly string[], now: Date): MetaCondition {
  const status = conflicts.length === 0 ? 'True' : 'False';
  const reason = conflicts.length === 0 ? 'PortsAvailable' : 'PortConflict';
  const message = conflicts.length === 0 ? 'no port collides with another Service' : summary(conflicts);
  const lastTransitionTime =
    previous !== undefined && previous.status === status ? previous.lastTransitionTime : apiTime(now);
  return { type: loadBalancerNames.portsCondition, status, lastTransitionTime, reason, message };
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Kept in the status, which only the controller (and whoever may write services/status) can write:
 * a namespace admin who edits the Service cannot make a node take over an address.
 */
function addressNodeCondition(previous: MetaCondition | undefined, node: string, now: Date): MetaCondition {
  const lastTransitionTime =
    previous !== undefined && previous.status === 'True' && previous.message === node
      ? previous.lastTransitionTime
      : apiTime(now);
  return {
    type: loadBalancerNames.addressNodeCondition,
    status: 'True',
    lastTransitionTime,
    reason: 'NodeChosen',
    message: node,
  };
}

const ours = new Set<string>([loadBalancerNames.portsCondition, loadBalancerNames.addressNodeCondition]);

/** Takes back what the load balancer wrote on a Service that no longer asks for one. */
function release(service: Service): Plan {
  const conditions = service.status?.conditions ?? [];
  const kept = conditions.filter((c) => !ours.has(c.type));
  if ((service.status?.loadBalancer?.ingress ?? []).length === 0 && kept.length === conditions.length)
    return { actions: [] };
  const status = { ...service.status, loadBalancer: {}, ...(kept.length > 0 ? { conditions: kept } : {}) };
  if (kept.length === 0) delete status.conditions;
  return { actions: [{ kind: 'updateStatus', resource: 'services', object: { ...service, status } }] };
}

export function planLoadBalancer(view: LoadBalancerView): Plan {
  const { service, now } = view;
  if (!servesLoadBalancerClass(service)) return { actions: [] };
  if (service.spec.type !== 'LoadBalancer') return release(service);
  const nodes = announcingNodes(service, view.nodes, view.slices);
  const announced = view.pool === undefined ? announceOnNodes(view, nodes) : announceFromPool(view, nodes, view.pool);
  const actions: Action[] = [];
  const moved = addressNodeOf(service) !== announced.addressNode;
  const conditions = service.status?.conditions ?? [];
  const previous = conditions.find((c) => c.type === loadBalancerNames.portsCondition);
  const condition = portsCondition(previous, announced.conflicts, now);
  const holder =
    announced.addressNode === undefined
      ? []
      : [
          addressNodeCondition(
            conditions.find((c) => c.type === loadBalancerNames.addressNodeCondition),
            announced.addressNode,
            now,
          ),
        ];
  const status = {
    ...service.status,
    loadBalancer: announced.ingress.length > 0 ? { ingress: announced.ingress } : {},
    conditions: [...conditions.filter((c) => !ours.has(c.type)), condition, ...holder],
  };
  if (!sameJson(status, service.status))
    actions.push({ kind: 'updateStatus', resource: 'services', object: { ...service, status } });
  if (condition.status === 'False' && (previous?.status !== 'False' || previous.message !== condition.message))
    actions.push({
      kind: 'event',
      object: service,
      type: 'Warning',
      reason: 'PortConflict',
      message: condition.message,
    });
  if (announced.allocationProblem !== undefined)
    actions.push({
      kind: 'event',
      object: service,
      type: 'Warning',
      reason: 'AllocationFailed',
      message: announced.allocationProblem,
    });
  const before = ingressIPs(service);
  const after = announced.ingress.map((i) => i.ip!);
  if (after.length > 0 && (moved || !sameJson(before, after))) {
    const where = announced.addressNode === undefined ? '' : ` (bound on node ${announced.addressNode})`;
    actions.push({
      kind: 'event',
      object: service,
      type: 'Normal',
      reason: 'EnsuredLoadBalancer',
      message: `announced on ${after.join(', ')}${where}`,
    });
  }
  return { actions };
}
