/**
 * The `kubernetes` Service's Endpoints and EndpointSlices, built from the live API servers
 * (live-servers.ts), as upstream's lease endpoint reconciler builds them: one address per server,
 * sorted, all ready. Servers are expected to share one port, as upstream's do; should they not (two
 * servers on one test machine), each port gets its own subset and its own slice (`kubernetes` for
 * the port most servers use, `kubernetes-<port>` for the others), so every live server is reachable.
 */
import type { KubeObject } from '../../kube/types.ts';
import type { LiveServer } from './live-servers.ts';

export const kubernetesServiceName = 'kubernetes';
export const serviceNameLabel = 'kubernetes.io/service-name';

/** Live servers grouped by port, the largest group first (ties: the lower port). */
function byPort(live: readonly LiveServer[]): { port: number; addresses: string[] }[] {
  const groups = new Map<number, Set<string>>();
  for (const server of live) groups.set(server.port, (groups.get(server.port) ?? new Set()).add(server.address));
  return [...groups]
    .map(([port, addresses]) => ({ port, addresses: [...addresses].sort() }))
    .sort((a, b) => b.addresses.length - a.addresses.length || a.port - b.port);
}

export function desiredEndpoints(live: readonly LiveServer[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: kubernetesServiceName,
      namespace: 'default',
      labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
    },
    subsets: byPort(live).map((group) => ({
      addresses: group.addresses.map((ip) => ({ ip })),
      ports: [{ name: 'https', port: group.port, protocol: 'TCP' }],
    })),
  };
}

/** The slices by name; an empty live set keeps the `kubernetes` slice with no endpoints. */
export function desiredSlices(live: readonly LiveServer[]): KubeObject[] {
  const groups = byPort(live);
  if (groups.length === 0) return [];
  return groups.map((group, i) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: i === 0 ? kubernetesServiceName : `${kubernetesServiceName}-${group.port}`,
      namespace: 'default',
      labels: { [serviceNameLabel]: kubernetesServiceName },
    },
    addressType: 'IPv4',
    endpoints: group.addresses.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: [{ name: 'https', port: group.port, protocol: 'TCP' }],
  }));
}
