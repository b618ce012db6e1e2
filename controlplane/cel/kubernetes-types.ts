/**
 * Kubernetes' CEL libraries for typed values, as upstream registers them for CRD rules and
 * admission policies: IP addresses and CIDRs (`ip()`, `cidr()`, `isIP()`, `isCIDR()`), URLs
 * (`url()`, `isURL()`) and resource quantities (`quantity()`, `isQuantity()`, comparisons and
 * arithmetic). The values are small immutable classes; errors are thrown as the evaluation's error.
 */
import { isIP as nodeIsIp } from 'node:net';
import type { Environment } from '@marcbachmann/cel-js';
import { parseQuantity } from '../../kube/quantity.ts';

class CelIp {
  readonly address: string;
  constructor(address: string) {
    this.address = address;
  }
  get family(): 4 | 6 {
    return nodeIsIp(this.address) === 6 ? 6 : 4;
  }
  /** The address as 4 or 16 bytes. */
  bytes(): number[] {
    if (this.family === 4) return this.address.split('.').map(Number);
    const [head = '', tail = ''] = this.address.split('::');
    const groups = (part: string) => (part === '' ? [] : part.split(':'));
    const expand = (list: string[]) =>
      list.flatMap((g) =>
        g.includes('.') ? new CelIp(g).bytes() : [Number.parseInt(g, 16) >> 8, Number.parseInt(g, 16) & 255],
      );
    const left = expand(groups(head));
    const right = this.address.includes('::') ? expand(groups(tail)) : [];
    return [...left, ...new Array(16 - left.length - right.length).fill(0), ...right];
  }
}

class CelCidr {
  readonly ip: CelIp;
  readonly prefix: number;
  constructor(ip: CelIp, prefix: number) {
    this.ip = ip;
    this.prefix = prefix;
  }
  contains(ip: CelIp): boolean {
    if (ip.family !== this.ip.family) return false;
    const a = this.ip.bytes();
    const b = ip.bytes();
    for (let bit = 0; bit < this.prefix; bit++) {
      const mask = 128 >> (bit % 8);
      if ((a[bit >> 3]! & mask) !== (b[bit >> 3]! & mask)) return false;
    }
    return true;
  }
}

class CelUrl {
  readonly url: URL;
  constructor(url: URL) {
    this.url = url;
  }
}

/** A quantity as written, and its value in base units (throws QuantityError when it does not parse). */
class CelQuantity {
  readonly text: string;
  readonly value: number;
  constructor(text: string) {
    this.value = parseQuantity(text);
    this.text = text;
  }
}

function parseIp(text: string): CelIp {
  // upstream refuses zones and IPv4-mapped IPv6 forms
  if (nodeIsIp(text) === 0 || text.includes('%'))
    throw new Error(`IP Address '${text}' parse error during conversion from string`);
  return new CelIp(text);
}

function parseCidr(text: string): CelCidr {
  const [address = '', prefix, extra] = text.split('/');
  const ip = nodeIsIp(address) === 0 ? undefined : new CelIp(address);
  const bits = prefix !== undefined && /^\d+$/.test(prefix) ? Number(prefix) : Number.NaN;
  if (ip === undefined || extra !== undefined || Number.isNaN(bits) || bits > (ip.family === 4 ? 32 : 128))
    throw new Error(
      `network address parse error during conversion from string: network address '${text}' is not a valid CIDR`,
    );
  return new CelCidr(ip, bits);
}

function parseUrl(text: string): CelUrl {
  try {
    return new CelUrl(new URL(text));
  } catch {
    throw new Error(`URL parse error during conversion from string: parse "${text}": invalid URL`);
  }
}

function parseKubeQuantity(text: string): CelQuantity {
  try {
    return new CelQuantity(text);
  } catch {
    throw new Error(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`);
  }
}

const succeeds = (parse: () => unknown): boolean => {
  try {
    parse();
    return true;
  } catch {
    return false;
  }
};

function maskedCidr(cidr: CelCidr): CelCidr {
  const bytes = cidr.ip.bytes().map((byte, i) => {
    const keep = Math.max(0, Math.min(8, cidr.prefix - i * 8));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
  const address =
    cidr.ip.family === 4
      ? bytes.join('.')
      : Array.from({ length: 8 }, (_, g) => ((bytes[g * 2]! << 8) | bytes[g * 2 + 1]!).toString(16)).join(':');
  return new CelCidr(new CelIp(address), cidr.prefix);
}

const quantityOf = (value: CelQuantity | bigint): number => (typeof value === 'bigint' ? Number(value) : value.value);

export function registerKubernetesTypes(env: Environment): Environment {
  return env
    .registerType('net.IP', CelIp)
    .registerType('net.CIDR', CelCidr)
    .registerType('kubernetes.URL', CelUrl)
    .registerType('kubernetes.Quantity', CelQuantity)
    .registerFunction('ip(string): net.IP', parseIp)
    .registerFunction('isIP(string): bool', (text: string) => succeeds(() => parseIp(text)))
    .registerFunction('string(net.IP): string', (ip: CelIp) => ip.address)
    .registerFunction('net.IP.family(): int', (ip: CelIp) => BigInt(ip.family))
    .registerFunction('net.IP.isUnspecified(): bool', (ip: CelIp) => ip.bytes().every((b) => b === 0))
    .registerFunction('net.IP.isLoopback(): bool', (ip: CelIp) =>
      ip.family === 4 ? ip.bytes()[0] === 127 : ip.bytes().every((b, i) => b === (i === 15 ? 1 : 0)),
    )
    .registerFunction('net.IP.isGlobalUnicast(): bool', (ip: CelIp) => {
      const b = ip.bytes();
      if (ip.family === 4)
        return (
          !(b[0] === 0 || b[0] === 127 || b[0]! >= 224 || (b[0] === 169 && b[1] === 254)) && !b.every((x) => x === 255)
        );
      return !(
        b.every((x) => x === 0) ||
        b[0] === 0xff ||
        (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) ||
        b.every((x, i) => x === (i === 15 ? 1 : 0))
      );
    })
    .registerFunction('net.IP.isLinkLocalUnicast(): bool', (ip: CelIp) => {
      const b = ip.bytes();
      return ip.family === 4 ? b[0] === 169 && b[1] === 254 : b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
    })
    .registerFunction('net.IP.isLinkLocalMulticast(): bool', (ip: CelIp) => {
      const b = ip.bytes();
      return ip.family === 4 ? b[0] === 224 && b[1] === 0 && b[2] === 0 : b[0] === 0xff && (b[1]! & 0x0f) === 0x02;
    })
    .registerFunction('cidr(string): net.CIDR', parseCidr)
    .registerFunction('isCIDR(string): bool', (text: string) => succeeds(() => parseCidr(text)))
    .registerFunction('string(net.CIDR): string', (c: CelCidr) => `${c.ip.address}/${c.prefix}`)
    .registerFunction('net.CIDR.containsIP(net.IP): bool', (c: CelCidr, ip: CelIp) => c.contains(ip))
    .registerFunction('net.CIDR.containsIP(string): bool', (c: CelCidr, ip: string) => c.contains(parseIp(ip)))
    .registerFunction(
      'net.CIDR.containsCIDR(net.CIDR): bool',
      (c: CelCidr, o: CelCidr) => o.prefix >= c.prefix && c.contains(o.ip),
    )
    .registerFunction('net.CIDR.containsCIDR(string): bool', (c: CelCidr, text: string) => {
      const o = parseCidr(text);
      return o.prefix >= c.prefix && c.contains(o.ip);
    })
    .registerFunction('net.CIDR.ip(): net.IP', (c: CelCidr) => c.ip)
    .registerFunction('net.CIDR.prefixLength(): int', (c: CelCidr) => BigInt(c.prefix))
    .registerFunction('net.CIDR.masked(): net.CIDR', maskedCidr)
    .registerFunction('url(string): kubernetes.URL', parseUrl)
    .registerFunction('isURL(string): bool', (text: string) => succeeds(() => parseUrl(text)))
    .registerFunction('kubernetes.URL.getScheme(): string', (u: CelUrl) => u.url.protocol.replace(/:$/, ''))
    .registerFunction('kubernetes.URL.getHost(): string', (u: CelUrl) => u.url.host)
    .registerFunction('kubernetes.URL.getHostname(): string', (u: CelUrl) => u.url.hostname.replace(/^\[(.*)\]$/, '$1'))
    .registerFunction('kubernetes.URL.getPort(): string', (u: CelUrl) => u.url.port)
    .registerFunction('kubernetes.URL.getEscapedPath(): string', (u: CelUrl) => u.url.pathname)
    .registerFunction('kubernetes.URL.getQuery(): map<string, list<string>>', (u: CelUrl) => {
      const out: Record<string, string[]> = {};
      for (const [k, v] of u.url.searchParams) (out[k] ??= []).push(v);
      return out;
    })
    .registerFunction('quantity(string): kubernetes.Quantity', parseKubeQuantity)
    .registerFunction('isQuantity(string): bool', (text: string) => succeeds(() => parseKubeQuantity(text)))
    .registerFunction(
      'kubernetes.Quantity.isGreaterThan(kubernetes.Quantity): bool',
      (a: CelQuantity, b: CelQuantity) => a.value > b.value,
    )
    .registerFunction(
      'kubernetes.Quantity.isLessThan(kubernetes.Quantity): bool',
      (a: CelQuantity, b: CelQuantity) => a.value < b.value,
    )
    .registerFunction('kubernetes.Quantity.compareTo(kubernetes.Quantity): int', (a: CelQuantity, b: CelQuantity) =>
      BigInt(Math.sign(a.value - b.value)),
    )
    .registerFunction('kubernetes.Quantity.sign(): int', (a: CelQuantity) => BigInt(Math.sign(a.value)))
    .registerFunction('kubernetes.Quantity.isInteger(): bool', (a: CelQuantity) => Number.isInteger(a.value))
    .registerFunction('kubernetes.Quantity.asInteger(): int', (a: CelQuantity) => {
      if (!Number.isInteger(a.value)) throw new Error('cannot convert value to integer');
      return BigInt(a.value);
    })
    .registerFunction('kubernetes.Quantity.asApproximateFloat(): double', (a: CelQuantity) => a.value)
    .registerFunction(
      'kubernetes.Quantity.add(kubernetes.Quantity): kubernetes.Quantity',
      (a: CelQuantity, b: CelQuantity) => {
        const sum = a.value + quantityOf(b);
        return new CelQuantity(String(sum));
      },
    )
    .registerFunction('kubernetes.Quantity.add(int): kubernetes.Quantity', (a: CelQuantity, b: bigint) => {
      const sum = a.value + quantityOf(b);
      return new CelQuantity(String(sum));
    })
    .registerFunction(
      'kubernetes.Quantity.sub(kubernetes.Quantity): kubernetes.Quantity',
      (a: CelQuantity, b: CelQuantity) => {
        const diff = a.value - quantityOf(b);
        return new CelQuantity(String(diff));
      },
    )
    .registerFunction('kubernetes.Quantity.sub(int): kubernetes.Quantity', (a: CelQuantity, b: bigint) => {
      const diff = a.value - quantityOf(b);
      return new CelQuantity(String(diff));
    });
}
