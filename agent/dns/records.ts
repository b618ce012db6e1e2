/**
 * The cluster's DNS names, computed from Services and EndpointSlices (the same objects the service
 * proxy watches), following the Kubernetes DNS schema:
 *   <svc>.<ns>.svc.<zone>               A/AAAA -> ClusterIP, or each ready endpoint of a headless service
 *   <hostname>.<svc>.<ns>.svc.<zone>    A/AAAA -> that endpoint (headless services; StatefulSet pods)
 *   _<port>._<proto>.<svc>.<ns>.svc.<zone>  SRV for named ports
 *   <svc>.<ns>.svc.<zone>               CNAME -> spec.externalName (ExternalName services)
 *   reverse names of ClusterIPs and named endpoints  PTR
 * Built whole from a snapshot (pure), so a lookup never sees half an update.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { isServableName, isServablePort } from './record-guards.ts';

export interface DnsServicePort {
  name?: string;
  port: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export interface DnsService {
  name: string;
  namespace: string;
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** spec.clusterIPs (or [spec.clusterIP]); 'None' or empty for headless services. */
  clusterIPs: readonly string[];
  externalName?: string;
  ports: readonly DnsServicePort[];
  /** spec.publishNotReadyAddresses: not-ready endpoints are published too. */
  publishNotReadyAddresses?: boolean;
}

export interface DnsEndpoint {
  addresses: readonly string[];
  hostname?: string;
  /** conditions.ready; absent means ready, as the API says. */
  ready?: boolean;
}

export interface DnsEndpointPort {
  name?: string;
  port: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export interface DnsEndpointSlice {
  /** The service it belongs to (label kubernetes.io/service-name). */
  serviceName: string;
  namespace: string;
  endpoints: readonly DnsEndpoint[];
  ports: readonly DnsEndpointPort[];
}

export type DnsRecord =
  | { type: 'A' | 'AAAA'; address: string }
  | { type: 'CNAME'; target: string }
  | { type: 'PTR'; target: string }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { type: 'TXT'; text: string };

/** Every name in the zone (lower case, no trailing dot) with its records. */
export interface ZoneIndex {
  zone: string;
  records: ReadonlyMap<string, readonly DnsRecord[]>;
  /** Names that exist only because longer names do below them (answer NODATA, not NXDOMAIN). */
  emptyNonTerminals: ReadonlySet<string>;
}

/** The DNS schema version served at dns-version.<zone>, as cluster DNS servers do. */
export const dnsSchemaVersion = '1.1.0';

export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** 10.96.0.10 -> 10.0.96.10.in-addr.arpa; IPv6 -> nibble form under ip6.arpa. */
export function reverseName(address: string): string {
  if (isIPv4(address)) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  const groups = expandIPv6(address);
  return `${groups.join('').split('').reverse().join('.')}.ip6.arpa`;
}

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const fill = address.includes('::') ? 8 - headGroups.length - tailGroups.length : 0;
  return [...headGroups, ...Array<string>(fill).fill('0'), ...tailGroups].map((g) => g.padStart(4, '0'));
}

/** The name used for an endpoint without a hostname: its address with dashes. */
export function dashedAddress(address: string): string {
  return address.replaceAll('.', '-').replaceAll(':', '-');
}

function addressRecord(address: string): DnsRecord | undefined {
  if (isIPv4(address)) return { type: 'A', address };
  if (isIPv6(address)) return { type: 'AAAA', address };
  return undefined;
}

/** A record whose owner name, target and port the wire format can carry (see record-guards.ts). */
function isServable(name: string, record: DnsRecord): boolean {
  if (!isServableName(name)) return false;
  switch (record.type) {
    case 'SRV':
      return isServablePort(record.port) && isServableName(record.target);
    case 'CNAME':
    case 'PTR':
      return isServableName(record.target);
    default:
      return true;
  }
}

export function buildZoneIndex(
  zone: string,
  services: readonly DnsService[],
  slices: readonly DnsEndpointSlice[],
): ZoneIndex {
  const domain = normalizeName(zone);
  const records = new Map<string, DnsRecord[]>();
  const add = (name: string, record: DnsRecord) => {
    if (!isServable(name, record)) return;
    const list = records.get(name);
    if (list === undefined) records.set(name, [record]);
    else if (!list.some((r) => JSON.stringify(r) === JSON.stringify(record))) list.push(record);
  };

  const slicesByService = new Map<string, DnsEndpointSlice[]>();
  for (const slice of slices) {
    const key = `${slice.namespace}/${slice.serviceName}`;
    slicesByService.set(key, [...(slicesByService.get(key) ?? []), slice]);
  }

  add(`dns-version.${domain}`, { type: 'TXT', text: dnsSchemaVersion });

  for (const service of services) {
    const serviceName = `${service.name}.${service.namespace}.svc.${domain}`.toLowerCase();
    if (service.type === 'ExternalName') {
      if (service.externalName) add(serviceName, { type: 'CNAME', target: normalizeName(service.externalName) });
      continue;
    }
    const clusterIPs = service.clusterIPs.filter((ip) => ip !== '' && ip !== 'None');
    if (clusterIPs.length > 0) {
      for (const ip of clusterIPs) {
        const record = addressRecord(ip);
        if (record === undefined) continue;
        add(serviceName, record);
        add(reverseName(ip), { type: 'PTR', target: serviceName });
      }
      for (const port of service.ports) {
        if (!port.name) continue;
        const protocol = (port.protocol ?? 'TCP').toLowerCase();
        add(`_${port.name}._${protocol}.${serviceName}`.toLowerCase(), {
          type: 'SRV',
          priority: 0,
          weight: 100,
          port: port.port,
          target: serviceName,
        });
      }
      continue;
    }
    // headless: the ready endpoints themselves
    for (const slice of slicesByService.get(`${service.namespace}/${service.name}`) ?? []) {
      for (const endpoint of slice.endpoints) {
        const published = endpoint.ready !== false || service.publishNotReadyAddresses === true;
        if (!published) continue;
        for (const address of endpoint.addresses) {
          const record = addressRecord(address);
          if (record === undefined) continue;
          const host = (endpoint.hostname ?? dashedAddress(address)).toLowerCase();
          const endpointName = `${host}.${serviceName}`;
          add(serviceName, record);
          add(endpointName, record);
          if (endpoint.hostname) add(reverseName(address), { type: 'PTR', target: endpointName });
          for (const port of slice.ports) {
            if (!port.name) continue;
            const protocol = (port.protocol ?? 'TCP').toLowerCase();
            add(`_${port.name}._${protocol}.${serviceName}`.toLowerCase(), {
              type: 'SRV',
              priority: 0,
              weight: 100,
              port: port.port,
              target: endpointName,
            });
          }
        }
      }
    }
  }

  const emptyNonTerminals = new Set<string>();
  for (const name of records.keys()) {
    const labels = name.split('.');
    for (let i = 1; i < labels.length; i++) {
      const parent = labels.slice(i).join('.');
      if (parent.length < domain.length || !parent.endsWith(domain)) break;
      if (!records.has(parent)) emptyNonTerminals.add(parent);
    }
  }
  return { zone: domain, records, emptyNonTerminals };
}
