/**
 * The built-in load balancer as a ControllerSpec: a LoadBalancer Service is looked at again when
 * a node changes (readiness, labels, addresses), when its EndpointSlices change (Local policy
 * announces only where endpoints are) and when another Service changes that shares a port with it
 * on the nodes (with a pool: when any other LoadBalancer changes, as addresses are shared).
 */
import type { Node, Service } from '../../kube/corev1.ts';
import { serviceNameLabel, type EndpointSlice } from '../../kube/discoveryv1.ts';
import type { KubeObject } from '../../kube/types.ts';
import { objectKey } from './client.ts';
import type { AddressPool } from './load-balancer-addresses.ts';
import { planLoadBalancer } from './load-balancer.ts';
import type { Caches, ControllerSpec } from './manager.ts';

function loadBalancers(caches: Caches): Service[] {
  return (caches.list('services') as Service[]).filter((s) => s.spec?.type === 'LoadBalancer');
}

/** "port/PROTOCOL" keys a Service holds on node addresses: its ports, node ports and health check port. */
function portsHeld(svc: Service): Set<string> {
  const out = new Set<string>();
  for (const p of svc.spec?.ports ?? []) {
    const protocol = p.protocol ?? 'TCP';
    out.add(`${p.port}/${protocol}`);
    if (p.nodePort) out.add(`${p.nodePort}/${protocol}`);
  }
  if (svc.spec?.healthCheckNodePort) out.add(`${svc.spec.healthCheckNodePort}/TCP`);
  return out;
}

/**
 * The other LoadBalancer Services a change of `svc` may concern. With node addresses only those
 * sharing a port with it (conflicts are per port; a cluster with many LoadBalancers must not
 * replan all of them for each status write); with a pool every one (a freed address may serve any).
 */
export function loadBalancersConcerned(svc: Service, caches: Caches, pool: AddressPool | undefined): string[] {
  const others = loadBalancers(caches).filter((s) => s.metadata.uid !== svc.metadata.uid);
  if (pool !== undefined) return svc.spec?.type === 'LoadBalancer' ? others.map(objectKey) : [];
  const held = portsHeld(svc);
  return others
    .filter((s) => (s.spec?.ports ?? []).some((p) => held.has(`${p.port}/${p.protocol ?? 'TCP'}`)))
    .map(objectKey);
}

export function loadBalancerController(pool?: AddressPool): ControllerSpec {
  return {
    name: 'service-lb',
    primary: 'services',
    triggers: [
      { resource: 'nodes', keysFor: (_node, caches) => loadBalancers(caches).map(objectKey) },
      {
        resource: 'endpointslices',
        keysFor: (slice) => {
          const service = slice.metadata.labels?.[serviceNameLabel];
          return service ? [`${slice.metadata.namespace}/${service}`] : [];
        },
      },
      {
        resource: 'services',
        keysFor: (svc: KubeObject, caches) => loadBalancersConcerned(svc as Service, caches, pool),
      },
    ],
    // it writes only the Services' own status and annotation, never dependents to wait for
    ownsWhatItTouches: false,
    plan: (svc, caches, now) => {
      const service = svc as Service;
      // only what it may have to take back: nothing else of the cluster matters then
      if (service.spec?.type !== 'LoadBalancer')
        return planLoadBalancer({ service, nodes: [], slices: [], services: [], pool, now });
      return planLoadBalancer({
        service,
        nodes: caches.list('nodes') as Node[],
        slices: (caches.list('endpointslices', service.metadata.namespace) as EndpointSlice[]).filter(
          (s) => s.metadata.labels?.[serviceNameLabel] === service.metadata.name,
        ),
        services: caches.list('services') as Service[],
        pool,
        now,
      });
    },
  };
}
