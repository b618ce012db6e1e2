/** Service proxy state for ingress proxy tests: one TCP port of a Service and its endpoints. */
import type { Endpoint, ServicePortState } from '../../../netproxy/service-port.ts';

export function endpoint(ip: string, port: number, extra: Partial<Endpoint> = {}): Endpoint {
  return { ip, port, ready: true, serving: true, terminating: false, local: false, ...extra };
}

export function portState(
  service: string,
  portName: string,
  port: number,
  endpoints: Endpoint[],
  protocol: ServicePortState['protocol'] = 'tcp',
): ServicePortState {
  return {
    key: `${service}:${portName}/${protocol}`,
    service,
    portName,
    protocol,
    clusterIP: '10.96.0.20',
    port,
    nodePort: 0,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    externalPolicyLocal: false,
    internalPolicyLocal: false,
    affinitySeconds: 0,
    healthCheckNodePort: 0,
    endpoints,
  };
}
