/**
 * Names of everything the proxy creates in iptables, and the rules that hook our chains into the
 * built-in ones. Our prefix is BOSUN- so that we never collide with kube-proxy's KUBE- chains.
 * Per-service names hash the service port key, so they are deterministic across restarts (a new
 * process recognises its own chains) and fit iptables' 28-character limit.
 */
import { hash } from 'node:crypto';

export const chainPrefix = 'BOSUN-';
/** iptables refuses longer chain names. */
export const maxChainNameLength = 28;

export const chains = {
  services: 'BOSUN-SERVICES',
  externalServices: 'BOSUN-EXTERNAL-SERVICES',
  nodePorts: 'BOSUN-NODEPORTS',
  postrouting: 'BOSUN-POSTROUTING',
  markMasq: 'BOSUN-MARK-MASQ',
  forward: 'BOSUN-FORWARD',
  canary: 'BOSUN-PROXY-CANARY',
} as const;

export type Table = 'nat' | 'filter';

export interface HookRule {
  table: Table;
  /** The built-in chain the rule lives in. */
  chain: string;
  /** Rule arguments after `-A <chain>`, target included. */
  args: string;
  /** Our chain it jumps to; one hook per (chain, target) pair. */
  target: string;
}

/** Where traffic enters our chains. NEW-only in filter so established flows skip the REJECT lists. */
export const hookRules: readonly HookRule[] = [
  {
    table: 'nat',
    chain: 'PREROUTING',
    target: chains.services,
    args: '-m comment --comment "bosun service portals" -j BOSUN-SERVICES',
  },
  {
    table: 'nat',
    chain: 'OUTPUT',
    target: chains.services,
    args: '-m comment --comment "bosun service portals" -j BOSUN-SERVICES',
  },
  {
    table: 'nat',
    chain: 'POSTROUTING',
    target: chains.postrouting,
    args: '-m comment --comment "bosun postrouting" -j BOSUN-POSTROUTING',
  },
  {
    table: 'filter',
    chain: 'INPUT',
    target: chains.externalServices,
    args: '-m conntrack --ctstate NEW -m comment --comment "bosun external services" -j BOSUN-EXTERNAL-SERVICES',
  },
  {
    table: 'filter',
    chain: 'FORWARD',
    target: chains.services,
    args: '-m conntrack --ctstate NEW -m comment --comment "bosun service portals" -j BOSUN-SERVICES',
  },
  {
    table: 'filter',
    chain: 'FORWARD',
    target: chains.externalServices,
    args: '-m conntrack --ctstate NEW -m comment --comment "bosun external services" -j BOSUN-EXTERNAL-SERVICES',
  },
  {
    table: 'filter',
    chain: 'FORWARD',
    target: chains.forward,
    args: '-m comment --comment "bosun forwarding rules" -j BOSUN-FORWARD',
  },
  {
    table: 'filter',
    chain: 'OUTPUT',
    target: chains.services,
    args: '-m conntrack --ctstate NEW -m comment --comment "bosun service portals" -j BOSUN-SERVICES',
  },
];

const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const memo = new Map<string, string>();

/** 16 base32 characters (80 bits) of sha256(input): collisions are not a practical concern. */
export function shortHash(input: string): string {
  let out = memo.get(input);
  if (out !== undefined) return out;
  const hex = hash('sha256', input, 'hex');
  out = '';
  // 20 hex digits = 80 bits = 16 groups of 5 bits; 4 hex digits (16 bits) at a time keeps it exact.
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < 20; i++) {
    acc = (acc << 4) | parseInt(hex[i]!, 16);
    bits += 4;
    while (bits >= 5) {
      bits -= 5;
      out += base32Alphabet[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (memo.size > 500_000) memo.clear(); // churn safety; a miss only costs one hash
  memo.set(input, out);
  return out;
}

/** Entry for node ports, external IPs and load-balancer IPs of a port. */
export const externalChain = (portKey: string) => `BOSUN-EXT-${shortHash(portKey)}`;
/** The xt_recent list that remembers clients of one endpoint (ClientIP affinity). */
export const affinityList = (portKey: string, endpoint: string) => `BOSUN-SEP-${shortHash(`${portKey}|${endpoint}`)}`;

/**
 * Service destinations are dispatched through a two-level tree on the destination address
 * (/16, then /20) instead of one long list: a packet walks a few hundred rules instead of one per
 * service, and a partial sync rewrites only the small chains that hold the changed services.
 * /20 keeps the number of dispatch chains small (at most 256 inside the service CIDR): every extra
 * chain makes iptables-nft restores slower.
 */
export function bucketOf(ip: string): string {
  const lastDot = ip.lastIndexOf('.');
  const prefix = ip.slice(0, lastDot);
  const thirdDot = prefix.lastIndexOf('.');
  return `${prefix.slice(0, thirdDot)}.${Number(prefix.slice(thirdDot + 1)) & 0xf0}`;
}
/** The /16 that holds a bucket ("10.96.48" -> "10.96"). */
export function parentOf(bucket: string): string {
  return bucket.slice(0, bucket.lastIndexOf('.'));
}
export const bucketChain = (bucket: string) => `BOSUN-SVCS-${bucket.replaceAll('.', '-')}`;
