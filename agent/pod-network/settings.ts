/**
 * The pod network's fixed names and numbers, and how a node tells its peers what they need to
 * reach its pods. Wire values (VNI 1, UDP 8472) are flannel's, so a packet capture reads the same;
 * the annotations are our own, under bosun.io/.
 */

/** How pod traffic reaches another node's pods; `none`: the user brings a CNI and its routes. */
export type PodNetworkBackend = 'host-gw' | 'vxlan' | 'auto' | 'none';
export const podNetworkBackends: readonly PodNetworkBackend[] = ['host-gw', 'vxlan', 'auto', 'none'];

export const vxlan = {
  device: 'bosun.1',
  vni: 1,
  port: 8472,
  /** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers. */
  overhead: 50,
} as const;

/**
 * The routing protocol number our routes carry (`ip route ... proto 98`): what the agent reads
 * back as its own, so a route someone else made is never removed.
 */
export const routeProtocol = 98;

export { podNetworkAnnotations } from '../../kube/pod-network-annotations.ts';

/** The CNI conflist's file name in the CNI configuration folder. */
export const conflistFileName = '10-bosun.conflist';
