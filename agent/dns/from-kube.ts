/** Services and EndpointSlices as the API sends them, in the shapes the zone index reads. */
import type { DnsEndpointSlice, DnsService } from './records.ts';

interface KubeService {
  metadata: { name?: string; namespace?: string };
  spec?: {
    type?: DnsService['type'];
    clusterIP?: string;
    clusterIPs?: string[];
    externalName?: string;
    ports?: { name?: string; port: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }[];
    publishNotReadyAddresses?: boolean;
  };
}

interface KubeEndpointSlice {
  metadata: { namespace?: string; labels?: Record<string, string> };
  endpoints?: { addresses: string[]; hostname?: string; conditions?: { ready?: boolean } }[];
  ports?: { name?: string; port?: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }[];
}

export function dnsService(service: KubeService): DnsService {
  const spec = service.spec ?? {};
  return {
    name: service.metadata.name ?? '',
    namespace: service.metadata.namespace ?? 'default',
    ...(spec.type ? { type: spec.type } : {}),
    clusterIPs: spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []),
    ...(spec.externalName ? { externalName: spec.externalName } : {}),
    ports: (spec.ports ?? []).map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, ...(p.protocol ? { protocol: p.protocol } : {}) })),
    ...(spec.publishNotReadyAddresses ? { publishNotReadyAddresses: true } : {}),
  };
}

/** undefined for a slice that names no service (it publishes nothing). */
export function dnsEndpointSlice(slice: KubeEndpointSlice): DnsEndpointSlice | undefined {
  const serviceName = slice.metadata.labels?.['kubernetes.io/service-name'];
  if (serviceName === undefined) return undefined;
  return {
    serviceName,
    namespace: slice.metadata.namespace ?? 'default',
    endpoints: (slice.endpoints ?? []).map((e) => ({
      addresses: e.addresses,
      ...(e.hostname ? { hostname: e.hostname } : {}),
      ...(e.conditions?.ready !== undefined ? { ready: e.conditions.ready } : {}),
    })),
    ports: (slice.ports ?? []).filter((p) => p.port !== undefined).map((p) => ({
      ...(p.name ? { name: p.name } : {}), port: p.port!, ...(p.protocol ? { protocol: p.protocol } : {}),
    })),
  };
}
