/**
 * One change tracker for every backend. Informer events only mark a Service as dirty; commit()
 * rebuilds the dirty Services' port states, compares them with what the last sync used, and
 * reports only real changes as {previous, current}. An update that is undone before the next sync
 * (or that touches fields the proxy ignores) therefore costs nothing downstream.
 */
import { defaultAffinitySeconds, type Node, type Service } from '../kube/corev1.ts';
import { serviceNameLabel, type EndpointSlice } from '../kube/discoveryv1.ts';
import type { ObjectMeta } from '../kube/types.ts';
import { noClientRange, type Endpoint, type Protocol, type ServicePortState } from './service-port.ts';
import { ipToNumber, isIPv4, normalizeIPv4Cidr } from './ipv4.ts';
import { sanitizeEndpointSlice, sanitizeService } from './sanitize.ts';

/** An object (or part of one) the tracker left out because a field breaks the API's rules. */
export interface Refusal {
  kind: 'Service' | 'EndpointSlice';
  namespace: string;
  name: string;
  /** The Service the event belongs on: the object itself, or the slice's owner; undefined if unknown. */
  service: string | undefined;
  problems: readonly string[];
}

export interface ServiceChange {
  /** `namespace/name` */
  service: string;
  previous: readonly ServicePortState[];
  current: readonly ServicePortState[];
}

interface CommitResult {
  changes: ServiceChange[];
  /** Every programmed service port by key, after the changes. */
  state: ReadonlyMap<string, ServicePortState>;
  /** The node's identity or addresses changed: every backend must resync in full. */
  nodeChanged: boolean;
}

interface Applied {
  ports: ServicePortState[];
  signature: string;
}

/** The namespace and name an event is about; the API always sets the name, a hostile object may not. */
function identity(meta: ObjectMeta | undefined): { namespace?: string; name: string } | undefined {
  return meta === undefined
    ? undefined
    : { ...(meta.namespace === undefined ? {} : { namespace: meta.namespace }), name: meta.name ?? '' };
}

function keyOf(meta: { namespace?: string; name: string }): string {
  return `${meta.namespace ?? 'default'}/${meta.name}`;
}

export class ChangeTracker {
  readonly #nodeName: string;
  readonly #services = new Map<string, Service>();
  /** service key -> slice name -> slice */
  readonly #slices = new Map<string, Map<string, EndpointSlice>>();
  /** slice key -> the service key it was filed under (its label may change) */
  readonly #sliceOwner = new Map<string, string>();
  readonly #applied = new Map<string, Applied>();
  readonly #state = new Map<string, ServicePortState>();
  readonly #dirty = new Set<string>();
  #nodeSignature = '';
  #nodeDirty = false;
  #nodeAddresses: string[] = [];
  readonly #onRefused: (refusal: Refusal) => void;
  /** What was last reported refused per object (kind/namespace/name), so a resync does not repeat it. */
  readonly #refused = new Map<string, string>();

  constructor(nodeName: string, onRefused: (refusal: Refusal) => void = () => {}) {
    this.#nodeName = nodeName;
    this.#onRefused = onRefused;
  }

  /** Reports problems of an object once per distinct set; a clean object clears its entry. */
  #report(
    kind: Refusal['kind'],
    meta: { namespace?: string; name: string },
    service: string | undefined,
    problems: readonly string[],
  ): void {
    const id = `${kind}/${meta.namespace ?? 'default'}/${meta.name}`;
    const signature = problems.join('\n');
    if (problems.length === 0 || this.#refused.get(id) === signature) {
      if (problems.length === 0) this.#refused.delete(id);
      return;
    }
    this.#refused.set(id, signature);
    this.#onRefused({
      kind,
      namespace: String(meta.namespace ?? 'default'),
      name: String(meta.name),
      service,
      problems,
    });
  }

  get nodeName(): string {
    return this.#nodeName;
  }

  /** This node's IPv4 InternalIP and ExternalIP addresses, from its Node object. */
  get nodeAddresses(): string[] {
    return [...this.#nodeAddresses];
  }

  /** Informer style: (undefined, obj) adds, (obj, obj2) updates, (obj, undefined) deletes. */
  onServiceUpdate(previous: Service | undefined, current: Service | undefined): void {
    const meta = identity((current ?? previous)?.metadata);
    if (meta === undefined) return;
    const key = keyOf(meta);
    const clean = current === undefined ? undefined : sanitizeService(current);
    if (clean !== undefined) this.#report('Service', meta, clean.identified ? key : undefined, clean.problems);
    if (clean?.object === undefined) this.#services.delete(key);
    else this.#services.set(key, clean.object);
    this.#dirty.add(key);
  }

  onEndpointSliceUpdate(previous: EndpointSlice | undefined, original: EndpointSlice | undefined): void {
    const meta = identity((original ?? previous)?.metadata);
    if (meta === undefined) return;
    const clean = original === undefined ? undefined : sanitizeEndpointSlice(original);
    const current = clean?.object;
    if (clean !== undefined) {
      const owner = current?.metadata.labels?.[serviceNameLabel];
      this.#report(
        'EndpointSlice',
        meta,
        owner === undefined ? undefined : `${meta.namespace ?? 'default'}/${owner}`,
        clean.problems,
      );
    }
    const sliceKey = keyOf(meta);
    const oldOwner = this.#sliceOwner.get(sliceKey);
    if (oldOwner !== undefined) {
      this.#slices.get(oldOwner)?.delete(meta.name);
      this.#dirty.add(oldOwner);
      this.#sliceOwner.delete(sliceKey);
    }
    const serviceName = current?.metadata.labels?.[serviceNameLabel];
    if (current === undefined || serviceName === undefined) return;
    const owner = `${meta.namespace ?? 'default'}/${serviceName}`;
    let byName = this.#slices.get(owner);
    if (byName === undefined) this.#slices.set(owner, (byName = new Map()));
    byName.set(meta.name, current);
    this.#sliceOwner.set(sliceKey, owner);
    this.#dirty.add(owner);
  }

  /** Only this node's own Node object matters; others are ignored. */
  onNodeUpdate(_previous: Node | undefined, current: Node | undefined): void {
    if (current !== undefined && current.metadata.name !== this.#nodeName) return;
    const signature = JSON.stringify([current?.status?.addresses ?? [], current?.metadata.labels ?? {}]);
    if (signature !== this.#nodeSignature) {
      this.#nodeSignature = signature;
      this.#nodeAddresses = (current?.status?.addresses ?? [])
        .filter((a) => (a.type === 'InternalIP' || a.type === 'ExternalIP') && isIPv4(a.address))
        .map((a) => a.address);
      this.#nodeDirty = true;
      // which Proxy-mode load-balancer addresses are this node's own may have changed
      for (const [key, svc] of this.#services)
        if (svc.status?.loadBalancer?.ingress?.some((i) => i.ipMode === 'Proxy')) this.#dirty.add(key);
    }
  }

  /** True when commit() might report something. */
  hasPending(): boolean {
    return this.#dirty.size > 0 || this.#nodeDirty;
  }

  commit(): CommitResult {
    const changes: ServiceChange[] = [];
    for (const key of [...this.#dirty].sort()) {
      const ports = this.#portsOf(key);
      const signature = JSON.stringify(ports);
      const before = this.#applied.get(key);
      if ((before?.signature ?? '[]') === signature) continue;
      for (const p of before?.ports ?? []) this.#state.delete(p.key);
      for (const p of ports) this.#state.set(p.key, p);
      if (ports.length > 0) this.#applied.set(key, { ports, signature });
      else this.#applied.delete(key);
      changes.push({ service: key, previous: before?.ports ?? [], current: ports });
    }
    this.#dirty.clear();
    const nodeChanged = this.#nodeDirty;
    this.#nodeDirty = false;
    return { changes, state: this.#state, nodeChanged };
  }

  #portsOf(key: string): ServicePortState[] {
    const svc = this.#services.get(key);
    if (svc === undefined) return [];
    const spec = svc.spec;
    if (spec.type === 'ExternalName') return [];
    const clusterIP = spec.clusterIP !== undefined && isIPv4(spec.clusterIP) ? spec.clusterIP : undefined;
    if (clusterIP === undefined) return []; // headless or IPv6-only: nothing for an IPv4 proxy
    const slices = [...(this.#slices.get(key)?.values() ?? [])];
    // ipMode Proxy: traffic reaches the address's own machine, which alone takes it (KEP-1860); for
    // the built-in load balancer that address is a node's, and another node must not claim it
    const lbIPs = (svc.status?.loadBalancer?.ingress ?? [])
      .filter((i) => i.ipMode !== 'Proxy' || (i.ip !== undefined && this.#nodeAddresses.includes(i.ip)))
      .map((i) => i.ip)
      .filter((ip): ip is string => ip !== undefined && isIPv4(ip));
    const sourceRanges = spec.type === 'LoadBalancer' ? loadBalancerSourceRanges(spec.loadBalancerSourceRanges) : [];
    const affinity =
      spec.sessionAffinity === 'ClientIP'
        ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? defaultAffinitySeconds)
        : 0;
    const externalLocal =
      spec.externalTrafficPolicy === 'Local' &&
      (spec.type === 'NodePort' || spec.type === 'LoadBalancer' || (spec.externalIPs?.length ?? 0) > 0);
    return (spec.ports ?? []).map((p): ServicePortState => {
      const protocol = (p.protocol ?? 'TCP').toLowerCase() as Protocol;
      const portName = p.name ?? '';
      const withNodePort = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
      return {
        key: `${key}:${portName}/${protocol}`,
        service: key,
        portName,
        protocol,
        clusterIP,
        port: p.port,
        nodePort: withNodePort ? (p.nodePort ?? 0) : 0,
        externalIPs: (spec.externalIPs ?? []).filter(isIPv4).sort(),
        loadBalancerIPs: spec.type === 'LoadBalancer' ? lbIPs.sort() : [],
        loadBalancerSourceRanges: sourceRanges,
        externalPolicyLocal: externalLocal,
        internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
        affinitySeconds: affinity,
        healthCheckNodePort: externalLocal ? (spec.healthCheckNodePort ?? 0) : 0,
        endpoints: this.#endpointsFor(slices, portName, protocol),
      };
    });
  }

  #endpointsFor(slices: readonly EndpointSlice[], portName: string, protocol: Protocol): Endpoint[] {
    const byAddress = new Map<string, Endpoint>();
    for (const slice of slices) {
      if ((slice.addressType ?? 'IPv4') !== 'IPv4') continue;
      for (const sp of slice.ports ?? []) {
        if ((sp.name ?? '') !== portName || (sp.protocol ?? 'TCP').toLowerCase() !== protocol || sp.port === undefined)
          continue;
        for (const ep of slice.endpoints ?? []) {
          const ip = ep.addresses[0];
          if (ip === undefined || !isIPv4(ip)) continue;
          const c = ep.conditions ?? {};
          // The API's rules for absent conditions: ready unknown counts as ready; serving follows ready.
          const ready = c.ready ?? true;
          const candidate: Endpoint = {
            ip,
            port: sp.port,
            ready,
            serving: c.serving ?? ready,
            terminating: c.terminating ?? false,
            local: ep.nodeName === this.#nodeName,
          };
          const id = `${ip}:${sp.port}`;
          const seen = byAddress.get(id);
          // The same address in two slices (a slice being replaced): keep the more useful copy.
          if (seen === undefined || (!seen.ready && candidate.ready)) byAddress.set(id, candidate);
        }
      }
    }
    return [...byAddress.values()].sort(compareEndpoints);
  }
}

/**
 * The IPv4 ranges of spec.loadBalancerSourceRanges, sorted and without repeats. A list that names
 * ranges but none usable here (IPv6 only) admits no IPv4 client: it must not turn into "everyone".
 */
function loadBalancerSourceRanges(ranges: readonly string[] | undefined): string[] {
  if (ranges === undefined || ranges.length === 0) return [];
  const usable = [...new Set(ranges.map(normalizeIPv4Cidr).filter((r): r is string => r !== undefined))].sort();
  return usable.length > 0 ? usable : [noClientRange];
}

function compareEndpoints(x: Endpoint, y: Endpoint): number {
  return ipToNumber(x.ip) - ipToNumber(y.ip) || x.port - y.port;
}
