/**
 * How pods reach this node's DNS server through the cluster DNS IP: the Service that holds that IP
 * (kube-system/kube-dns, created by the server) gets one extra endpoint in this node's service
 * proxy only, the node's own address at the DNS server's port. Every node thus answers its own
 * pods' queries (node-local, and still answering when the control plane is away), and nothing is
 * written to the API: the EndpointSlice below exists in this agent's proxy alone.
 */
import type { Service } from '../../kube/corev1.ts';
import { serviceNameLabel, type EndpointSlice } from '../../kube/discoveryv1.ts';

export interface NodeLocalDns {
  readonly nodeName: string;
  readonly nodeIP: string;
  /** The addresses pods are told to use (--cluster-dns). */
  readonly clusterDNS: readonly string[];
  /** Where this agent's DNS server listens (53 unless tests move it). */
  readonly port: number;
}

/** The proxy-only slice for `service` when it holds a cluster DNS address, else undefined. */
export function nodeLocalDnsSlice(service: Service | undefined, local: NodeLocalDns): EndpointSlice | undefined {
  if (service === undefined) return undefined;
  const ips = service.spec.clusterIPs ?? (service.spec.clusterIP ? [service.spec.clusterIP] : []);
  if (!ips.some((ip) => local.clusterDNS.includes(ip))) return undefined;
  const name = service.metadata.name ?? '';
  return {
    metadata: {
      name: `${name}-node-local-${local.nodeName}`,
      namespace: service.metadata.namespace ?? 'default',
      labels: { [serviceNameLabel]: name },
    },
    addressType: 'IPv4',
    endpoints: [
      {
        addresses: [local.nodeIP],
        nodeName: local.nodeName,
        conditions: { ready: true, serving: true, terminating: false },
      },
    ],
    ports: (service.spec.ports ?? []).map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      protocol: p.protocol ?? 'TCP',
      port: local.port,
    })),
  };
}
