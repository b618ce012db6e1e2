/**
 * ClusterIP and NodePort allocation: a free value is picked from what the Services that exist hold
 * (within one server, Service writes run one at a time, so a value seen free stays free until its
 * write lands), then claimed in the datastore (../allocation/claims.ts), which settles a race with
 * another server sharing it.
 */
import { ApiError } from '../../kube/errors.ts';

interface CidrRange {
  readonly base: number;
  readonly size: number;
}

export function parseCidr(cidr: string): CidrRange {
  const [ip, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const base = ipToNumber(ip ?? '') & (bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0);
  return { base: base >>> 0, size: 2 ** (32 - bits) };
}

function ipToNumber(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return NaN;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function inRange(range: CidrRange, ip: string): boolean {
  const n = ipToNumber(ip);
  return n > range.base && n < range.base + range.size - 1;
}

/** A free address of the range (not network, broadcast or used), chosen at random to spread out. */
export function allocateIp(range: CidrRange, used: ReadonlySet<string>, random = Math.random): string {
  const usable = range.size - 2;
  const start = Math.floor(random() * usable);
  for (let i = 0; i < usable; i++) {
    const candidate = numberToIp(range.base + 1 + ((start + i) % usable));
    if (!used.has(candidate)) return candidate;
  }
  throw new ApiError('InternalError', 'the service IP range is full');
}

export const nodePortRange = { first: 30000, last: 32767 } as const;

export function allocatePort(used: ReadonlySet<number>, random = Math.random): number {
  const count = nodePortRange.last - nodePortRange.first + 1;
  const start = Math.floor(random() * count);
  for (let i = 0; i < count; i++) {
    const port = nodePortRange.first + ((start + i) % count);
    if (!used.has(port)) return port;
  }
  throw new ApiError('InternalError', 'the NodePort range is full');
}
