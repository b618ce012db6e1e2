/**
 * Node IPAM: each node gets its own pod subnet (spec.podCIDR) cut from --cluster-cidr, /24 by
 * default for IPv4 as upstream. Allocation is the lowest free block, so the same set of nodes
 * always gets the same blocks, and a block is free again when its node is gone.
 */
import type { Node } from '../../kube/corev1.ts';
import { podNetworkAnnotations } from '../../kube/pod-network-annotations.ts';

function ipToNumber(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`"${ip}" is not an IPv4 address`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function numberToIp(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

interface CidrRange {
  readonly base: number;
  readonly prefix: number;
}

function parseIpv4Cidr(text: string): CidrRange {
  const match = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(text.trim());
  if (match === null) throw new Error(`"${text}" is not an IPv4 CIDR`);
  const prefix = Number(match[2]);
  if (prefix < 0 || prefix > 32) throw new Error(`"${text}" has a bad prefix length`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (ipToNumber(match[1]!) & mask) >>> 0, prefix };
}

/** The blocks the nodes hold. */
export function usedPodCidrs(nodes: readonly Node[]): Set<string> {
  return new Set(nodes.map((n) => n.spec?.podCIDR).filter((c): c is string => c !== undefined));
}

/** The lowest block of size /maskSize inside `clusterCidr` not in `used`, or undefined when full. */
export function nextPodCidr(clusterCidr: string, maskSize: number, used: ReadonlySet<string>): string | undefined {
  const range = parseIpv4Cidr(clusterCidr);
  if (maskSize < range.prefix || maskSize > 32)
    throw new Error(`node mask /${maskSize} does not fit in ${clusterCidr}`);
  const blocks = 2 ** (maskSize - range.prefix);
  const size = 2 ** (32 - maskSize);
  for (let i = 0; i < blocks; i++) {
    const cidr = `${numberToIp((range.base + i * size) >>> 0)}/${maskSize}`;
    if (!used.has(cidr)) return cidr;
  }
  return undefined;
}

/** The node with a pod CIDR assigned, or undefined when it has one or none is free. */
export function assignPodCidr(
  node: Node,
  clusterCidr: string,
  maskSize: number,
  used: ReadonlySet<string>,
): Node | undefined {
  if (node.spec?.podCIDR) return undefined;
  const cidr = nextPodCidr(clusterCidr, maskSize, used);
  if (cidr === undefined) return undefined;
  return { ...node, spec: { ...node.spec, podCIDR: cidr, podCIDRs: [cidr] } };
}

/**
 * The node with the cluster's pod CIDR in its annotations, or undefined when it carries it already.
 * Agents route and masquerade by it: reading their own Node is cheaper than any other way of
 * learning a server flag, and needs no extra permission.
 */
export function annotateClusterCidr(node: Node, clusterCidr: string): Node | undefined {
  const annotations = node.metadata.annotations ?? {};
  if (annotations[podNetworkAnnotations.clusterCIDR] === clusterCidr) return undefined;
  return {
    ...node,
    metadata: { ...node.metadata, annotations: { ...annotations, [podNetworkAnnotations.clusterCIDR]: clusterCidr } },
  };
}
