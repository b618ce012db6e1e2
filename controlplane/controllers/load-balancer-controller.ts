/**
 * The built-in load balancer as a ControllerSpec: a LoadBalancer Service is looked at again when
 * a node changes (readiness, labels, addresses), when its EndpointSlices change (Local policy
 * announces only where endpoints are) and when another LoadBalancer Service changes (ports and
 * pool addresses are shared between them).
 */
import type { Node, Service } from '../../kube/corev1.ts';
import { serviceNameLabel, type EndpointSlice } from '../../kube/discoveryv1.ts';
import type { KubeObject } from '../../kube/types.ts';
import { objectKey } from './client.ts';
import type { AddressPool } from './load-balancer-addresses.ts';
import { planLoadBalancer } from './load-balancer.ts';
import type { Caches, ControllerSpec } from './manager.ts';

function loadBalancerKeys(caches: Caches): string[] {
  return caches
    .list('services')
    .filter((s) => (s as Service).spec?.type === 'LoadBalancer')
    .map(objectKey);
}

export function loadBalancerController(pool?: AddressPool): ControllerSpec {
  return {
    name: 'service-lb',
    primary: 'services',
    triggers: [
      { resource: 'nodes', keysFor: (_node, caches) => loadBalancerKeys(caches) },
      {
        resource: 'endpointslices',
        keysFor: (slice) => {
          const service = slice.metadata.labels?.[serviceNameLabel];
          return service ? [`${slice.metadata.namespace}/${service}`] : [];
        },
      },
      {
        resource: 'services',
        keysFor: (svc: KubeObject, caches) =>
          (svc as Service).spec?.type === 'LoadBalancer'
            ? loadBalancerKeys(caches).filter((key) => key !== objectKey(svc))
            : [],
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
