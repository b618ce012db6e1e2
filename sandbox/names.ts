/**
 * Address and naming conventions of a sandbox (a cluster of network namespaces on one machine).
 * Addresses are private to the sandbox's own namespaces: nothing in them has a route off the machine.
 */
import { busyboxImageReference, pauseImageReference } from '../agent/oci/local-images.ts';

export const sandboxAddresses = {
  bridgeCIDR: '172.30.0.0/24',
  hubIP: '172.30.0.1',
  /** Every segment's addresses: segment s is 172.30.s.0/24, the hub (its router) 172.30.s.1. */
  segmentsCIDR: '172.30.0.0/16',
  segmentCIDR: (segment: number) => `172.30.${segment}.0/24`,
  routerIP: (segment: number) => `172.30.${segment}.1`,
  /** node k (1-based) on segment s gets 172.30.s.(10+k); the test bed gives it pod subnet 10.244.k.0/24 */
  nodeIP: (k: number, segment = 0) => `172.30.${segment}.${10 + k}`,
  podCIDR: (k: number) => `10.244.${k}.0/24`,
  /** the node's end of its link into the sink: 198.18.k.1/30, the sink's end 198.18.k.2 */
  sinkLink: (k: number) => ({ node: `198.18.${k}.1`, sink: `198.18.${k}.2` }),
  serviceCIDR: '10.96.0.0/12',
  clusterCIDR: '10.244.0.0/16',
} as const;

export const sandboxImages = {
  pause: pauseImageReference,
  busybox: busyboxImageReference,
} as const;

export type SandboxImage = keyof typeof sandboxImages;

/**
 * How the sandbox's "machines" are wired: flat puts every node on one L2 segment (the agents route
 * pods with host-gw); routed spreads them over two segments joined by the hub as a router, so
 * peers on the other segment are reachable only through VXLAN.
 */
export type SandboxTopology = 'flat' | 'routed';

/** The segment of node k (1-based): all on 0 when flat, alternating 0, 1, 0, ... when routed. */
export function nodeSegment(topology: SandboxTopology, k: number): number {
  return topology === 'routed' ? (k - 1) % 2 : 0;
}

/** Where sandboxes keep their state: test beds and users' sandboxes never share a folder. */
export const sandboxRoots = {
  tests: '/var/lib/bosun-test',
  users: '/var/lib/bosun/sandbox',
} as const;

export function namespaceNames(prefix: string) {
  return {
    hub: `${prefix}-hub`,
    sink: `${prefix}-sink`,
    node: (k: number) => `${prefix}-n${k}`,
  };
}

/**
 * The cgroup subtree of a sandbox's pods (each node's agent gets <this>/<node> as --cgroup-root),
 * so that taking the sandbox down can remove the pod cgroups the runtime leaves behind.
 */
export const sandboxCgroupParent = '/bosun-sandbox';

export function sandboxCgroupRoot(id: string): string {
  return `${sandboxCgroupParent}/${id}`;
}
