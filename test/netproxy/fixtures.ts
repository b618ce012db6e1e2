/**
 * Builders and address conventions shared by the proxy's tests.
 *
 *   this node      "node-a", 172.30.0.11        other node  "node-b", 172.30.0.12
 *   pods on node-a 10.244.1.0/24                pods on node-b 10.244.2.0/24
 *   cluster CIDR   10.244.0.0/16                service CIDR   10.96.0.0/12
 *   off-cluster    203.0.113.7 (a client)       external IPs / LB IPs 192.0.2.0/24
 */
import type { Protocol, Service, ServicePort } from '../../kube/corev1.ts';
import type { EndpointSlice } from '../../kube/discoveryv1.ts';
import { ChangeTracker } from '../../netproxy/change-tracker.ts';
import { IptablesModel } from '../../netproxy/iptables-model.ts';
import { renderIptables, emptyMemory, type ProxyConfig } from '../../netproxy/iptables-renderer.ts';
import { hookRules } from '../../netproxy/chain-names.ts';
import { insertHooks } from '../../netproxy/hooks.ts';
import type { ServicePortState } from '../../netproxy/service-port.ts';

export const thisNode = { name: 'node-a', ip: '172.30.0.11' };
const otherNode = { name: 'node-b', ip: '172.30.0.12' };
export const clusterCIDR = '10.244.0.0/16';
export const offClusterClient = '203.0.113.7';
export const localPod = (n: number) => `10.244.1.${n}`;
export const remotePod = (n: number) => `10.244.2.${n}`;
export const testConfig: ProxyConfig = { clusterCIDR, masqueradeBit: 14 };
export const traceContext = { localAddresses: [thisNode.ip, '10.244.1.1'] };

interface ServiceOptions {
  namespace?: string;
  type?: Service['spec']['type'];
  clusterIP?: string;
  ports?: ServicePort[];
  externalIPs?: string[];
  lbIPs?: string[];
  affinitySeconds?: number;
  externalLocal?: boolean;
  internalLocal?: boolean;
  healthCheckNodePort?: number;
  sourceRanges?: string[];
}

export function service(name: string, o: ServiceOptions = {}): Service {
  const spec: Service['spec'] = {
    type: o.type ?? 'ClusterIP',
    clusterIP: o.clusterIP ?? '10.96.0.10',
    ports: o.ports ?? [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
  };
  if (o.externalIPs) spec.externalIPs = o.externalIPs;
  if (o.affinitySeconds !== undefined) {
    spec.sessionAffinity = 'ClientIP';
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: o.affinitySeconds } };
  }
  if (o.externalLocal) spec.externalTrafficPolicy = 'Local';
  if (o.internalLocal) spec.internalTrafficPolicy = 'Local';
  if (o.healthCheckNodePort !== undefined) spec.healthCheckNodePort = o.healthCheckNodePort;
  if (o.sourceRanges) spec.loadBalancerSourceRanges = o.sourceRanges;
  const svc: Service = { metadata: { name, namespace: o.namespace ?? 'default' }, spec };
  if (o.lbIPs) svc.status = { loadBalancer: { ingress: o.lbIPs.map((ip) => ({ ip })) } };
  return svc;
}

export interface EndpointOptions {
  ip: string;
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export function slice(
  serviceName: string,
  endpoints: (string | EndpointOptions)[],
  o: {
    name?: string;
    namespace?: string;
    ports?: { name?: string; port?: number; protocol?: Protocol }[];
  } = {},
): EndpointSlice {
  return {
    metadata: {
      name: o.name ?? `${serviceName}-abc`,
      namespace: o.namespace ?? 'default',
      labels: { 'kubernetes.io/service-name': serviceName },
    },
    addressType: 'IPv4',
    ports: o.ports ?? [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => {
      const spec = typeof e === 'string' ? { ip: e } : e;
      const node = spec.node ?? (spec.ip.startsWith('10.244.1.') ? thisNode.name : otherNode.name);
      const conditions: { ready?: boolean; serving?: boolean; terminating?: boolean } = {};
      if (spec.ready !== undefined) conditions.ready = spec.ready;
      if (spec.serving !== undefined) conditions.serving = spec.serving;
      if (spec.terminating !== undefined) conditions.terminating = spec.terminating;
      return { addresses: [spec.ip], nodeName: node, conditions };
    }),
  };
}

/** A tracker fed with the given objects and committed. */
export function stateOf(services: Service[], slices: EndpointSlice[]): ReadonlyMap<string, ServicePortState> {
  const tracker = new ChangeTracker(thisNode.name);
  for (const s of services) tracker.onServiceUpdate(undefined, s);
  for (const s of slices) tracker.onEndpointSliceUpdate(undefined, s);
  return tracker.commit().state;
}

/** A model holding a full render of the state, hooked into the built-in chains. */
export function modelOf(state: ReadonlyMap<string, ServicePortState>, config: ProxyConfig = testConfig): IptablesModel {
  const model = new IptablesModel();
  const { payload } = renderIptables({ state, config, changed: 'all', memory: emptyMemory });
  model.restore(insertHooks(payload, hookRules));
  return model;
}
