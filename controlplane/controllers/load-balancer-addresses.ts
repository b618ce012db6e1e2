/**
 * The optional address pool of the built-in load balancer (`bosun server --lb-address-pool`): which
 * pool address a Service gets, and which announcing node binds it. Pure; the controller stores
 * the answers in the Service (status.loadBalancer.ingress and an annotation) and the chosen node's
 * agent adds the address to its interface, so the address answers ARP there.
 */
import { createHash } from 'node:crypto';
import type { Service } from '../../kube/corev1.ts';
import { inRange, numberToIp, parseCidr } from '../admission/allocators.ts';

export interface AddressPool {
  /** As given, for messages. */
  readonly cidr: string;
  readonly base: number;
  readonly size: number;
}

const ipv4Cidr = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Reads `--lb-address-pool`; a message says what is wrong with it. Needs at least one usable address. */
export function parseAddressPool(text: string): AddressPool | string {
  const match = ipv4Cidr.exec(text.trim());
  if (match === null || match.slice(1, 5).some((o) => Number(o) > 255))
    return `${JSON.stringify(text)} is not an IPv4 CIDR such as 192.0.2.0/28`;
  const prefix = Number(match[5]);
  if (prefix > 30) return `${text} holds no usable address (the prefix must be /30 or shorter)`;
  return { cidr: text.trim(), ...parseCidr(text.trim()) };
}

/** Whether `ip` is a usable address of the pool (not its network or broadcast address). */
export function inPool(pool: AddressPool, ip: string): boolean {
  return inRange(pool, ip);
}

/** The lowest usable pool address not in `used`, or undefined when the pool is full. */
export function freePoolAddress(pool: AddressPool, used: ReadonlySet<string>): string | undefined {
  for (let n = pool.base + 1; n < pool.base + pool.size - 1; n++) {
    const ip = numberToIp(n);
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

/** The pool address in the Service's status, if it has one. */
export function poolAddressOf(pool: AddressPool, service: Service): string | undefined {
  return (service.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).find((ip) => ip && inPool(pool, ip));
}

/**
 * The node that binds a Service's pool address: the current one while it may still announce,
 * otherwise the candidate ranked highest for this Service (rendezvous hashing: Services spread
 * over the nodes, and a node leaving moves only the addresses it held).
 */
export function chooseAddressNode(
  serviceKey: string,
  current: string | undefined,
  candidates: readonly string[],
): string | undefined {
  if (current !== undefined && candidates.includes(current)) return current;
  let best: { node: string; rank: string } | undefined;
  for (const node of candidates) {
    const rank = createHash('sha256').update(`${serviceKey}\0${node}`).digest('hex');
    if (best === undefined || rank > best.rank) best = { node, rank };
  }
  return best?.node;
}
