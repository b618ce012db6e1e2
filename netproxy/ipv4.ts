/** Small IPv4 helpers shared by the renderers and the tracer. */

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

export function ipToNumber(ip: string): number {
  let n = 0;
  let part = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      n = n * 256 + part;
      part = 0;
    } else part = part * 10 + (c - 48);
  }
  return n * 256 + part;
}

/** True when `ip` lies in `cidr` ("10.96.0.0/12"; a bare address means /32). */
export function cidrContains(cidr: string, ip: string): boolean {
  let parsed = cidrCache.get(cidr);
  if (parsed === undefined) {
    const [base = '', bitsText] = cidr.split('/');
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    const divisor = 2 ** (32 - bits);
    parsed = { divisor, prefix: Math.floor(ipToNumber(base) / divisor) };
    if (cidrCache.size > 100_000) cidrCache.clear();
    cidrCache.set(cidr, parsed);
  }
  return Math.floor(ipToNumber(ip) / parsed.divisor) === parsed.prefix;
}

const cidrCache = new Map<string, { divisor: number; prefix: number }>();

/**
 * An IPv4 CIDR as iptables prints it back: base address masked to the prefix ("10.1.2.3/8" ->
 * "10.0.0.0/8"), surrounding spaces dropped as the API's validation allows. Undefined for anything
 * else (IPv6 ranges, malformed text).
 */
export function normalizeIPv4Cidr(text: string): string | undefined {
  const [base = '', bitsText, ...rest] = text.trim().split('/');
  if (rest.length > 0 || bitsText === undefined || !/^\d{1,2}$/.test(bitsText) || !isIPv4(base)) return undefined;
  const bits = Number(bitsText);
  if (bits > 32) return undefined;
  const size = 2 ** (32 - bits);
  const n = Math.floor(ipToNumber(base) / size) * size;
  return `${[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')}/${bits}`;
}
