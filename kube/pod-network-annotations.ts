/**
 * Node annotations of the pod network: what an agent publishes on its own Node for its peers, and
 * what the control plane tells every agent. Shared by the agent (agent/pod-network/) and the
 * controller that hands out node subnets.
 */
/** Keys under bosun.io/: the first three a node writes on its own Node, the last the control plane writes. */
export const podNetworkAnnotations = {
  backend: 'bosun.io/pod-network-backend',
  /** The address peers send pod traffic to (host-gw next hop, VXLAN outer destination). */
  publicIP: 'bosun.io/public-ip',
  vtepMac: 'bosun.io/vtep-mac',
  /**
   * The cluster's pod CIDR (the server's --cluster-cidr), written by the controller that hands
   * out node subnets, so agents learn it with the Node they already read.
   */
  clusterCIDR: 'bosun.io/cluster-cidr',
} as const;
