/**
 * Seeded generator of many varied services and slices for scale tests, plus the behaviour each
 * one should show (computed from the objects, independently of the renderer).
 */
import type { Service } from '../../kube/corev1.ts';
import type { EndpointSlice } from '../../kube/discoveryv1.ts';
import { service, slice, thisNode, type EndpointOptions } from './fixtures.ts';

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Generated {
  services: Service[];
  slices: EndpointSlice[];
}

/** `count` services; cluster IPs are spread at random over the service CIDR, like the allocator does. */
export function generate(count: number, seed: number, endpointsPer = 5): Generated {
  const r = rng(seed);
  const services: Service[] = [];
  const slices: EndpointSlice[] = [];
  const usedIPs = new Set<string>();
  const usedNodePorts = new Set<number>();
  for (let i = 0; i < count; i++) {
    let ip: string;
    do {
      const n = 1 + Math.floor(r() * 0xffffe);
      ip = `10.${96 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
    } while (usedIPs.has(ip));
    usedIPs.add(ip);
    const kind = r();
    const name = `svc-${i}`;
    const protocol = r() < 0.2 ? ('UDP' as const) : ('TCP' as const);
    let nodePort: number | undefined;
    if (kind < 0.2) {
      do nodePort = 30000 + Math.floor(r() * 2768);
      while (usedNodePorts.has(nodePort));
      usedNodePorts.add(nodePort);
    }
    const port = { name: 'p', port: 1 + Math.floor(r() * 9000), protocol, ...(nodePort ? { nodePort } : {}) };
    const svc = service(name, {
      clusterIP: ip,
      type: nodePort ? 'NodePort' : 'ClusterIP',
      ports: [port],
      ...(r() < 0.1 ? { externalIPs: [`192.0.2.${1 + Math.floor(r() * 250)}`] } : {}),
      ...(r() < 0.15 ? { affinitySeconds: 30 + Math.floor(r() * 1000) } : {}),
      ...(nodePort && r() < 0.5 ? { externalLocal: true } : {}),
      ...(r() < 0.05 ? { internalLocal: true } : {}),
    });
    services.push(svc);
    const eps: EndpointOptions[] = [];
    const n = r() < 0.1 ? 0 : 1 + Math.floor(r() * endpointsPer);
    for (let k = 0; k < n; k++) {
      const local = r() < 0.3;
      const ipEp = `10.244.${local ? 1 : 2 + Math.floor(r() * 50)}.${2 + ((i * 7 + k) % 250)}`;
      const ready = r() < 0.9;
      eps.push({
        ip: ipEp,
        node: local ? thisNode.name : 'node-b',
        ready,
        serving: ready || r() < 0.5,
        terminating: !ready,
      });
    }
    // Distinct addresses inside one slice.
    const unique = [...new Map(eps.map((e) => [e.ip, e])).values()];
    slices.push(slice(name, unique, { ports: [{ name: 'p', port: 8000 + (i % 1000), protocol }] }));
  }
  return { services, slices };
}

/** Where traffic should land per the API objects: endpoint -> share, or REJECT / DROP. */
export function expected(svc: Service, sl: EndpointSlice, external: boolean): Map<string, number> {
  const port = sl.ports![0]!.port!;
  const eps = (sl.endpoints ?? []).map((e) => ({
    address: `${e.addresses[0]}:${port}`,
    local: e.nodeName === thisNode.name,
    ready: e.conditions?.ready ?? true,
    servingTerminating: (e.conditions?.serving ?? true) && (e.conditions?.terminating ?? false),
  }));
  const usable = (list: typeof eps) =>
    list.some((e) => e.ready) ? list.filter((e) => e.ready) : list.filter((e) => e.servingTerminating);
  const all = usable(eps);
  const localOnly = external ? svc.spec.externalTrafficPolicy === 'Local' : svc.spec.internalTrafficPolicy === 'Local';
  const chosen = localOnly ? usable(eps.filter((e) => e.local)) : all;
  if (chosen.length === 0) return new Map([[all.length === 0 ? 'REJECT' : 'DROP', 1]]);
  return new Map(chosen.map((e) => [e.address, 1 / chosen.length]));
}

export function sameLanding(got: Map<string, number>, want: Map<string, number>): boolean {
  if (got.size !== want.size) return false;
  for (const [k, v] of want) if (Math.abs((got.get(k) ?? -1) - v) > 1e-9) return false;
  return true;
}
