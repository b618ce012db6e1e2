/** Services and EndpointSlices as the API sends them, in the shapes the zone index reads. */
import type { Service } from '../../kube/corev1.ts';
import { serviceNameLabel, type EndpointSlice } from '../../kube/discoveryv1.ts';
import type { DnsEndpointSlice, DnsService } from './records.ts';

export function dnsService(service: Service): DnsService {
  const spec = service.spec ?? {};
  return {
    name: service.metadata.name ?? '',
    namespace: service.metadata.namespace ?? 'default',
    ...(spec.type ? { type: spec.type } : {}),
    clusterIPs: spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []),
    ...(spec.externalName ? { externalName: spec.externalName } : {}),
    ports: (spec.ports ?? []).map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      port: p.port,
      ...(p.protocol ? { protocol: p.protocol } : {}),
    })),
    ...(spec.publishNotReadyAddresses ? { publishNotReadyAddresses: true } : {}),
  };
}

/** undefined for a slice that names no service (it publishes nothing). */
export function dnsEndpointSlice(slice: EndpointSlice): DnsEndpointSlice | undefined {
  const serviceName = slice.metadata.labels?.[serviceNameLabel];
  if (serviceName === undefined) return undefined;
  return {
    serviceName,
    namespace: slice.metadata.namespace ?? 'default',
    endpoints: (slice.endpoints ?? []).map((e) => ({
      addresses: e.addresses,
      ...(e.hostname ? { hostname: e.hostname } : {}),
      ...(e.conditions?.ready !== undefined ? { ready: e.conditions.ready } : {}),
    })),
    ports: (slice.ports ?? [])
      .filter((p) => p.port !== undefined)
      .map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        port: p.port!,
        ...(p.protocol ? { protocol: p.protocol } : {}),
      })),
  };
}
