/**
 * The one check between the API and the proxy's rule model: every Service and EndpointSlice field
 * that ends up in rule text (names in comments and chain hashes, protocols, ports, addresses) must
 * have the form the API allows. The API server refuses anything else, but the rules are written
 * as root on every node, so a hostile object that got past it (an older server, a bug, a
 * datastore edited by hand) must not reach the payload: a port name with a quote and a newline
 * would end a comment and start a rule of its own.
 *
 * Pure. What breaks a rule is left out (a port, an address, or the whole object when its identity
 * is bad), with a message in upstream's field-error words; the rest of the object and every other
 * object still sync.
 */
import { dns1123Label, dns1123Subdomain, invalidValue, isCidr, portNumber } from '../kube/name-formats.ts';
import { noClientRange } from './service-port.ts';
import { isIP } from 'node:net';
import type { Protocol as WireProtocol, Service, ServicePort as ServicePortSpec } from '../kube/corev1.ts';
import { serviceNameLabel, type EndpointSlice } from '../kube/discoveryv1.ts';

interface Sanitized<T> {
  /** The object with what breaks a rule left out; undefined when nothing of it can be used. */
  object: T | undefined;
  /** What was left out, one field error each; empty for a clean object. */
  problems: string[];
  /** Whether namespace and name are usable (an event can name the object). */
  identified: boolean;
}

const protocols: readonly WireProtocol[] = ['TCP', 'UDP', 'SCTP'];
const serviceTypes = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
const supportedProtocols = `supported values: ${protocols.map((p) => `"${p}"`).join(', ')}`;

function protocolProblems(value: unknown): string[] {
  return value === undefined || protocols.includes(value as WireProtocol) ? [] : [supportedProtocols];
}

/** A port name: empty, or an RFC 1123 label as the API requires of Service and EndpointSlice ports. */
function portName(value: unknown): string[] {
  if (value === undefined || value === '') return [];
  return typeof value === 'string' ? dns1123Label(value) : ['must be a string'];
}

/** 0 means "none" for node ports and health check ports. */
function optionalPortProblems(value: unknown): string[] {
  return value === undefined || value === 0 ? [] : portNumber(value);
}

/** Any address the API accepts (IPv6 too: the IPv4 proxy skips those later, silently). */
function ipProblems(value: unknown): string[] {
  return typeof value === 'string' && isIP(value) !== 0 ? [] : ['must be a valid IP address'];
}

/** Identity of an object: a bad namespace or name leaves the whole object out. */
function identityProblems(
  kind: 'Service' | 'EndpointSlice',
  metadata: { name?: unknown; namespace?: unknown } | undefined,
): string[] {
  const out: string[] = [];
  const name = metadata?.name;
  const namespace = metadata?.namespace ?? 'default';
  const nameProblems =
    typeof name !== 'string' ? ['must be a string'] : kind === 'Service' ? dns1123Label(name) : dns1123Subdomain(name);
  if (nameProblems.length > 0) out.push(invalidValue('metadata.name', name, nameProblems));
  const namespaceProblems = typeof namespace === 'string' ? dns1123Label(namespace) : ['must be a string'];
  if (namespaceProblems.length > 0) out.push(invalidValue('metadata.namespace', namespace, namespaceProblems));
  return out;
}

function servicePortProblems(port: ServicePortSpec, at: string): string[] {
  const out: string[] = [];
  const checks: [string, unknown, string[]][] = [
    [`${at}.name`, port.name, portName(port.name)],
    [`${at}.protocol`, port.protocol, protocolProblems(port.protocol)],
    [`${at}.port`, port.port, portNumber(port.port)],
    [`${at}.nodePort`, port.nodePort, optionalPortProblems(port.nodePort)],
  ];
  for (const [field, value, problems] of checks)
    if (problems.length > 0) out.push(invalidValue(field, value, problems));
  return out;
}

export function sanitizeService(service: Service): Sanitized<Service> {
  const identity = identityProblems('Service', service.metadata);
  if (identity.length > 0) return { object: undefined, problems: identity, identified: false };
  const spec = service.spec ?? {};
  const problems: string[] = [];
  if (spec.type !== undefined && !serviceTypes.includes(spec.type)) {
    return {
      object: undefined,
      problems: [
        invalidValue('spec.type', spec.type, [`supported values: ${serviceTypes.map((t) => `"${t}"`).join(', ')}`]),
      ],
      identified: true,
    };
  }
  const clusterIP = spec.clusterIP;
  if (clusterIP !== undefined && clusterIP !== '' && clusterIP !== 'None' && ipProblems(clusterIP).length > 0) {
    return {
      object: undefined,
      problems: [invalidValue('spec.clusterIP', clusterIP, ipProblems(clusterIP))],
      identified: true,
    };
  }
  const ports = (spec.ports ?? []).filter((port, i) => {
    const found = servicePortProblems(port, `spec.ports[${i}]`);
    problems.push(...found);
    return found.length === 0;
  });
  const addresses = (values: readonly unknown[] | undefined, at: string) =>
    (values ?? []).filter((ip, i) => {
      const found = ipProblems(ip);
      if (found.length > 0) problems.push(invalidValue(`${at}[${i}]`, ip, found));
      return found.length === 0;
    }) as string[];
  const externalIPs = addresses(spec.externalIPs, 'spec.externalIPs');
  const ingress = (service.status?.loadBalancer?.ingress ?? []).filter((entry, i) => {
    if (entry.ip === undefined) return true;
    const found = ipProblems(entry.ip);
    if (found.length > 0) problems.push(invalidValue(`status.loadBalancer.ingress[${i}].ip`, entry.ip, found));
    return found.length === 0;
  });
  const given: unknown = spec.loadBalancerSourceRanges;
  const listed = Array.isArray(given) || given === undefined;
  if (!listed) problems.push(invalidValue('spec.loadBalancerSourceRanges', given, ['must be a list of CIDRs']));
  const ranges: unknown[] = Array.isArray(given) ? given : listed ? [] : [given];
  const usableRanges = (listed ? ranges : []).filter((range, i) => {
    const found = typeof range === 'string' && isCidr(range.trim()) ? [] : ['must be a valid CIDR'];
    if (found.length > 0) problems.push(invalidValue(`spec.loadBalancerSourceRanges[${i}]`, range, found));
    return found.length === 0;
  });
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  let affinityConfig = spec.sessionAffinityConfig;
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0 && timeout <= 86400)) {
    problems.push(
      invalidValue('spec.sessionAffinityConfig.clientIP.timeoutSeconds', timeout, [
        'must be greater than 0 and less than 86400',
      ]),
    );
    affinityConfig = undefined;
  }
  const healthProblems = optionalPortProblems(spec.healthCheckNodePort);
  if (healthProblems.length > 0)
    problems.push(invalidValue('spec.healthCheckNodePort', spec.healthCheckNodePort, healthProblems));
  if (problems.length === 0) return { object: service, problems, identified: true };
  const cleanSpec: Service['spec'] = { ...spec, ports, externalIPs };
  if (affinityConfig === undefined) delete cleanSpec.sessionAffinityConfig;
  if (healthProblems.length > 0) delete cleanSpec.healthCheckNodePort;
  // a restriction with unusable entries stays a restriction: never everyone, at worst no one
  if (usableRanges.length < ranges.length)
    cleanSpec.loadBalancerSourceRanges = usableRanges.length > 0 ? (usableRanges as string[]) : [noClientRange];
  const status = service.status?.loadBalancer
    ? { ...service.status, loadBalancer: { ...service.status.loadBalancer, ingress } }
    : service.status;
  return {
    object: { ...service, spec: cleanSpec, ...(status !== undefined ? { status } : {}) },
    problems,
    identified: true,
  };
}

export function sanitizeEndpointSlice(slice: EndpointSlice): Sanitized<EndpointSlice> {
  const identity = identityProblems('EndpointSlice', slice.metadata);
  const owner = slice.metadata?.labels?.[serviceNameLabel];
  if (owner !== undefined && dns1123Label(owner).length > 0) {
    identity.push(invalidValue(`metadata.labels[${serviceNameLabel}]`, owner, dns1123Label(owner)));
  }
  if (identity.length > 0) return { object: undefined, problems: identity, identified: false };
  const problems: string[] = [];
  const ports = (slice.ports ?? []).filter((port, i) => {
    const checks: [string, unknown, string[]][] = [
      [`ports[${i}].name`, port.name, portName(port.name)],
      [`ports[${i}].protocol`, port.protocol, protocolProblems(port.protocol)],
      [`ports[${i}].port`, port.port, port.port === undefined ? [] : portNumber(port.port)],
    ];
    const found = checks.filter(([, , p]) => p.length > 0).map(([field, value, p]) => invalidValue(field, value, p));
    problems.push(...found);
    return found.length === 0;
  });
  const endpoints = (slice.endpoints ?? []).flatMap((endpoint, i) => {
    if (slice.addressType === 'FQDN') return [endpoint];
    const addresses = (endpoint.addresses ?? []).filter((ip, j) => {
      const found = ipProblems(ip);
      if (found.length > 0) problems.push(invalidValue(`endpoints[${i}].addresses[${j}]`, ip, found));
      return found.length === 0;
    });
    return addresses.length > 0 ? [{ ...endpoint, addresses }] : [];
  });
  if (problems.length === 0) return { object: slice, problems, identified: true };
  return { object: { ...slice, ports, endpoints }, problems, identified: true };
}
