/**
 * Where a pods/proxy or services/proxy request goes, decided from the objects alone (no I/O), by
 * upstream's rules:
 *  - the name in the URL is `name`, `name:port` or `scheme:name:port` (scheme http or https);
 *  - a pod is reached at its own status.podIP, on the port named (or, when none is, the first port
 *    its containers declare);
 *  - a Service is reached at one of its ready endpoints, on the endpoint port whose name is the
 *    Service port's name (a numeric port is first mapped to the Service port that has it); an
 *    endpoint counts only when it points at a pod of the namespace that really has that address,
 *    so an EndpointSlice written by hand cannot send the server to an arbitrary host;
 *  - only global unicast addresses are proxied: loopback, link-local (cloud metadata at
 *    169.254.169.254), multicast, broadcast and unspecified addresses are refused, as upstream
 *    refuses them, since they would reach the server's own host.
 */
import { BlockList, isIP } from 'node:net';
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';

type Any = Record<string, any>;

export interface ProxyTarget {
  readonly scheme: 'http' | 'https';
  readonly host: string;
  /** Absent: the scheme's own port. */
  readonly port?: number;
}

interface ProxyId {
  readonly scheme: 'http' | 'https';
  readonly name: string;
  /** As written: a number, a port name, or '' for none. */
  readonly port: string;
}

/** Splits `[scheme:]name[:port]`; anything else is a 400 naming what kind of request it was. */
export function parseProxyId(id: string, what: 'pod' | 'service'): ProxyId {
  const parts = id.split(':');
  const [scheme, name, port] = parts.length === 3 ? parts : ['', parts[0] ?? '', parts[1] ?? ''];
  if (parts.length > 3 || name === '' || (scheme !== '' && scheme !== 'http' && scheme !== 'https')) {
    throw new ApiError('BadRequest', `invalid ${what} request ${JSON.stringify(id)}`);
  }
  return { scheme: scheme === 'https' ? 'https' : 'http', name: name!, port: port! };
}

const notProxyable = new BlockList();
notProxyable.addSubnet('0.0.0.0', 32, 'ipv4');
notProxyable.addSubnet('127.0.0.0', 8, 'ipv4');
notProxyable.addSubnet('169.254.0.0', 16, 'ipv4');
notProxyable.addSubnet('224.0.0.0', 4, 'ipv4');
notProxyable.addSubnet('255.255.255.255', 32, 'ipv4');
notProxyable.addSubnet('::', 128, 'ipv6');
notProxyable.addSubnet('::1', 128, 'ipv6');
notProxyable.addSubnet('fe80::', 10, 'ipv6');
notProxyable.addSubnet('ff00::', 8, 'ipv6');

/** A global unicast IP address (Go's net.IP.IsGlobalUnicast); names and malformed text are not. */
export function isProxyableAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  // IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) are checked against the IPv4 rules too.
  return !notProxyable.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function portNumber(text: string): number | undefined {
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/** pods/<id>/proxy: the pod's own address and the port asked for (by number or container port name). */
export function podProxyTarget(pod: KubeObject, id: ProxyId): ProxyTarget {
  const containers = ((pod.spec as Any | undefined)?.containers ?? []) as Any[];
  const ports = containers.flatMap((c) => (c.ports ?? []) as Any[]);
  let port = portNumber(id.port);
  if (id.port === '') port = containers.find((c) => (c.ports ?? []).length > 0)?.ports[0].containerPort;
  else if (port === undefined) {
    port = ports.find((p) => p.name === id.port)?.containerPort;
    if (port === undefined)
      throw new ApiError('BadRequest', `pod ${pod.metadata.name} has no port named ${JSON.stringify(id.port)}`);
  }
  const ip = String((pod.status as Any | undefined)?.podIP ?? '');
  if (!isProxyableAddress(ip)) throw new ApiError('BadRequest', 'address not allowed');
  return { scheme: id.scheme, host: ip, ...(port !== undefined ? { port } : {}) };
}

/** The Service port name a request means: its name as written, or the name of the port with that number. */
function servicePortName(service: KubeObject, id: ProxyId): string {
  const number = portNumber(id.port);
  if (number === undefined) return id.port;
  const port = (((service.spec as Any | undefined)?.ports ?? []) as Any[]).find((p) => p.port === number);
  if (port === undefined)
    throw new ApiError('ServiceUnavailable', `no service port ${number} found for service ${JSON.stringify(id.name)}`);
  return String(port.name ?? '');
}

/** Whether an endpoint address is the address of the pod it names, in the Service's namespace. */
function isPodAddress(endpoint: Any, address: string, podsByName: ReadonlyMap<string, KubeObject>): boolean {
  const ref = endpoint.targetRef as Any | undefined;
  if (ref?.kind !== 'Pod' || typeof ref.name !== 'string') return false;
  const pod = podsByName.get(ref.name);
  const status = (pod?.status ?? {}) as Any;
  const ips = [status.podIP, ...((status.podIPs ?? []) as Any[]).map((p) => p.ip)];
  return ips.includes(address);
}

/**
 * services/<id>/proxy: the first ready endpoint, among the Service's EndpointSlices, that serves the
 * port asked for and is really one of the namespace's pods.
 */
export function serviceProxyTarget(
  service: KubeObject,
  slices: readonly KubeObject[],
  pods: readonly KubeObject[],
  id: ProxyId,
  rawId: string,
): ProxyTarget {
  const portName = servicePortName(service, id);
  const podsByName = new Map(pods.map((p) => [p.metadata.name ?? '', p]));
  const ready = slices
    .flatMap((slice) => ((slice as Any).endpoints ?? []) as Any[])
    .filter((e) => e.conditions?.ready !== false && (e.addresses ?? []).length > 0);
  if (ready.length === 0)
    throw new ApiError('ServiceUnavailable', `no endpoints available for service ${JSON.stringify(id.name)}`);
  for (const slice of slices as readonly Any[]) {
    const port = ((slice.ports ?? []) as Any[]).find((p) => String(p.name ?? '') === portName);
    if (typeof port?.port !== 'number') continue;
    for (const endpoint of (slice.endpoints ?? []) as Any[]) {
      if (endpoint.conditions?.ready === false) continue;
      const address = ((endpoint.addresses ?? []) as string[]).find(
        (a) => isProxyableAddress(a) && isPodAddress(endpoint, a, podsByName),
      );
      if (address !== undefined) return { scheme: id.scheme, host: address, port: port.port };
    }
  }
  throw new ApiError('ServiceUnavailable', `no endpoints available for service ${JSON.stringify(rawId)}`);
}
