/**
 * The proxy's own model of one service port and the endpoints behind it: what every backend
 * (iptables, IPVS) renders from. Built from the API objects by the change tracker.
 */
export type Protocol = 'tcp' | 'udp' | 'sctp';

export interface Endpoint {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** The endpoint's pod runs on this node. */
  local: boolean;
}

export interface ServicePortState {
  /** `namespace/name:portName/protocol`; unique and stable, the input of every hashed name. */
  key: string;
  /** `namespace/name` of the Service. */
  service: string;
  portName: string;
  protocol: Protocol;
  /** Undefined for headless services (clusterIP None), which the proxy does not program. */
  clusterIP: string | undefined;
  port: number;
  /** 0 when the port has no node port. */
  nodePort: number;
  externalIPs: readonly string[];
  loadBalancerIPs: readonly string[];
  /**
   * Client CIDRs allowed to reach the load-balancer IPs (spec.loadBalancerSourceRanges, IPv4 and
   * masked); empty: every client. Node ports and external IPs are not limited by them, as upstream.
   */
  loadBalancerSourceRanges: readonly string[];
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  /** 0 when there is no ClientIP affinity. */
  affinitySeconds: number;
  /** 0 when none; the agent answers it with the count of local endpoints. */
  healthCheckNodePort: number;
  /** Sorted by ip, then port; one entry per distinct ip:port. */
  endpoints: readonly Endpoint[];
}

/**
 * A source range no client is in (0.0.0.0 is never a packet's source on the wire): what a
 * loadBalancerSourceRanges list whose every entry is unusable turns into, so that a list meant to
 * restrict never opens the port to everyone.
 */
export const noClientRange = '0.0.0.0/32';

/** Where traffic may go: the endpoint sets a backend balances over. */
export interface TrafficTargets {
  /** For Cluster policy: every usable endpoint. */
  cluster: readonly Endpoint[];
  /** For Local policy: the usable endpoints on this node. */
  local: readonly Endpoint[];
}

/**
 * Ready endpoints when there are any; otherwise those that still serve while terminating, so a
 * rolling update that leaves only terminating pods keeps answering instead of refusing.
 */
function usable(endpoints: readonly Endpoint[]): Endpoint[] {
  const ready = endpoints.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return endpoints.filter((e) => e.serving && e.terminating);
}

export function trafficTargets(port: ServicePortState): TrafficTargets {
  return { cluster: usable(port.endpoints), local: usable(port.endpoints.filter((e) => e.local)) };
}

/** The endpoints that clients of the cluster IP reach (internal policy applied). */
export function internalTargets(port: ServicePortState, targets = trafficTargets(port)): readonly Endpoint[] {
  return port.internalPolicyLocal ? targets.local : targets.cluster;
}

/** Addresses other than the cluster IP that lead to this port. */
export function externalAddresses(port: ServicePortState): string[] {
  return [...port.externalIPs, ...port.loadBalancerIPs];
}

export function hasExternalEntry(port: ServicePortState): boolean {
  return port.nodePort > 0 || port.externalIPs.length > 0 || port.loadBalancerIPs.length > 0;
}

export function endpointAddress(e: Endpoint): string {
  return `${e.ip}:${e.port}`;
}
