/**
 * EndpointSlice planner (and the legacy Endpoints object), for one Service with a selector.
 * Every selected pod with an IP that has not finished becomes an endpoint:
 *   ready = Ready and not terminating (always true with publishNotReadyAddresses),
 *   serving = Ready (also while terminating), terminating = being deleted.
 * Named target ports are resolved per pod, so pods that name a port differently land in different
 * slices; each slice holds at most 100 endpoints. Existing slices are reused in name order so that
 * a change rewrites as few slices as possible. Legacy Endpoints leave terminating pods out.
 */
import type { Pod } from '../../kube/corev1.ts';
import { matchesLabels } from '../../kube/labels.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Action, Plan } from './actions.ts';
import { controllerReference, isReady } from './pods.ts';
import { canonicalJson } from './template-hash.ts';
import type { Service } from '../../kube/corev1.ts';
import type { Endpoint, EndpointPort, EndpointSlice } from '../../kube/discoveryv1.ts';

export const serviceNameLabel = 'kubernetes.io/service-name';
const managedByLabel = 'endpointslice.kubernetes.io/managed-by';
const managedByValue = 'endpointslice-controller.k8s.io';
const maxEndpointsPerSlice = 100;

function resolvePorts(service: Service, pod: Pod): EndpointPort[] {
  const ports: EndpointPort[] = [];
  for (const servicePort of service.spec?.ports ?? []) {
    const protocol = servicePort.protocol ?? 'TCP';
    const target = servicePort.targetPort ?? servicePort.port;
    let port: number | undefined;
    if (typeof target === 'number') port = target;
    else if (/^\d+$/.test(target)) port = Number(target);
    else {
      for (const container of pod.spec.containers) {
        const named = container.ports?.find((p) => p.name === target && (p.protocol ?? 'TCP') === protocol);
        if (named) {
          port = named.containerPort;
          break;
        }
      }
    }
    if (port === undefined) continue; // this pod does not offer the named port
    ports.push({
      name: servicePort.name ?? '',
      port,
      protocol,
      ...(servicePort.appProtocol ? { appProtocol: servicePort.appProtocol } : {}),
    });
  }
  return ports;
}

function selects(service: Service, pod: Pod): boolean {
  const selector = service.spec?.selector ?? {};
  if (Object.keys(selector).length === 0 || pod.metadata.namespace !== service.metadata.namespace) return false;
  return matchesLabels(
    Object.entries(selector).map(([key, value]) => ({ key, operator: 'Equals' as const, values: [value] })),
    pod.metadata.labels,
  );
}

function eligible(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return !!pod.status?.podIP && phase !== 'Succeeded' && phase !== 'Failed';
}

function endpointFor(service: Service, pod: Pod): Endpoint {
  const terminating = pod.metadata.deletionTimestamp !== undefined;
  const publishAll = service.spec?.publishNotReadyAddresses === true;
  const ready = isReady(pod);
  const endpoint: Endpoint = {
    addresses: [pod.status!.podIP!],
    conditions: { ready: publishAll || (ready && !terminating), serving: publishAll || ready, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
  };
  if (pod.spec.nodeName) endpoint.nodeName = pod.spec.nodeName;
  // A pod gets a DNS name under a headless service when its subdomain names that service.
  if (pod.spec.hostname && pod.spec.subdomain === service.metadata.name) endpoint.hostname = pod.spec.hostname;
  return endpoint;
}

interface Group {
  addressType: NonNullable<EndpointSlice['addressType']>;
  ports: EndpointPort[];
  endpoints: Endpoint[];
}

function desiredGroups(service: Service, pods: readonly Pod[]): Group[] {
  const groups = new Map<string, Group>();
  const selected = pods
    .filter((p) => selects(service, p) && eligible(p))
    .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
  for (const pod of selected) {
    const ports = resolvePorts(service, pod);
    const addressType = pod.status!.podIP!.includes(':') ? 'IPv6' : 'IPv4';
    const key = `${addressType}|${canonicalJson(ports)}`;
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { addressType, ports, endpoints: [] }));
    group.endpoints.push(endpointFor(service, pod));
  }
  return [...groups.values()];
}

function sliceLabels(service: Service): Record<string, string> {
  return {
    ...service.metadata.labels,
    [serviceNameLabel]: service.metadata.name ?? '',
    [managedByLabel]: managedByValue,
  };
}

function managedSlicesOf(service: Service, slices: readonly EndpointSlice[]): EndpointSlice[] {
  return slices
    .filter(
      (s) =>
        s.metadata.namespace === service.metadata.namespace &&
        s.metadata.labels?.[serviceNameLabel] === service.metadata.name &&
        s.metadata.labels?.[managedByLabel] === managedByValue,
    )
    .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
}

export function planEndpointSlices(service: Service, pods: readonly Pod[], existing: readonly EndpointSlice[]): Plan {
  const actions: Action[] = [];
  const mine = managedSlicesOf(service, existing);
  const hasSelector = Object.keys(service.spec?.selector ?? {}).length > 0 && !service.metadata.deletionTimestamp;
  if (!hasSelector) {
    for (const slice of mine)
      actions.push({
        kind: 'delete',
        resource: 'endpointslices',
        namespace: slice.metadata.namespace,
        name: slice.metadata.name ?? '',
      });
    return { actions };
  }
  const wanted: {
    addressType: NonNullable<EndpointSlice['addressType']>;
    ports: EndpointPort[];
    endpoints: Endpoint[];
  }[] = [];
  for (const group of desiredGroups(service, pods)) {
    for (let i = 0; i < group.endpoints.length; i += maxEndpointsPerSlice) {
      wanted.push({
        addressType: group.addressType,
        ports: group.ports,
        endpoints: group.endpoints.slice(i, i + maxEndpointsPerSlice),
      });
    }
  }
  // No endpoints at all still gets one empty slice, so readers can tell "none" from "not synced".
  if (wanted.length === 0) wanted.push({ addressType: 'IPv4', ports: [], endpoints: [] });

  const unused = [...mine];
  const labels = sliceLabels(service);
  for (const slice of wanted) {
    const sameShape = unused.findIndex(
      (s) => s.addressType === slice.addressType && canonicalJson(s.ports ?? []) === canonicalJson(slice.ports),
    );
    const reuse = sameShape >= 0 ? unused.splice(sameShape, 1)[0] : undefined;
    if (reuse) {
      const unchanged =
        canonicalJson(reuse.endpoints ?? []) === canonicalJson(slice.endpoints) &&
        canonicalJson(reuse.metadata.labels ?? {}) === canonicalJson(labels);
      if (!unchanged)
        actions.push({
          kind: 'update',
          resource: 'endpointslices',
          object: { ...reuse, metadata: { ...reuse.metadata, labels }, endpoints: slice.endpoints, ports: slice.ports },
        });
      continue;
    }
    const created: EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        generateName: `${service.metadata.name}-`,
        namespace: service.metadata.namespace,
        labels,
        ownerReferences: [controllerReference({ ...service, apiVersion: 'v1', kind: 'Service' })],
      },
      addressType: slice.addressType,
      endpoints: slice.endpoints,
      ports: slice.ports,
    };
    actions.push({ kind: 'create', resource: 'endpointslices', object: created });
  }
  for (const slice of unused)
    actions.push({
      kind: 'delete',
      resource: 'endpointslices',
      namespace: slice.metadata.namespace,
      name: slice.metadata.name ?? '',
    });
  return { actions };
}

interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef: NonNullable<Endpoint['targetRef']>;
}

/** The legacy core/v1 Endpoints object for the service (one per service, named like it). */
export function desiredEndpoints(service: Service, pods: readonly Pod[]): KubeObject {
  const subsets = new Map<
    string,
    {
      addresses: EndpointAddress[];
      notReadyAddresses: EndpointAddress[];
      ports: { name?: string; port: number | undefined; protocol: string | undefined }[];
    }
  >();
  for (const group of desiredGroups(service, pods)) {
    const key = canonicalJson(group.ports);
    let subset = subsets.get(key);
    if (subset === undefined) {
      subset = {
        addresses: [],
        notReadyAddresses: [],
        ports: group.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol })),
      };
      subsets.set(key, subset);
    }
    for (const endpoint of group.endpoints) {
      if (endpoint.conditions?.terminating && service.spec?.publishNotReadyAddresses !== true) continue;
      const address: EndpointAddress = { ip: endpoint.addresses[0]!, targetRef: endpoint.targetRef! };
      if (endpoint.hostname) address.hostname = endpoint.hostname;
      if (endpoint.nodeName) address.nodeName = endpoint.nodeName;
      (endpoint.conditions?.ready ? subset.addresses : subset.notReadyAddresses).push(address);
    }
  }
  const list = [...subsets.values()]
    .filter((s) => s.addresses.length + s.notReadyAddresses.length > 0)
    .map((s) => ({
      ...(s.addresses.length > 0 ? { addresses: s.addresses } : {}),
      ...(s.notReadyAddresses.length > 0 ? { notReadyAddresses: s.notReadyAddresses } : {}),
      ports: s.ports,
    }));
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: service.metadata.name,
      namespace: service.metadata.namespace,
      ...(service.metadata.labels ? { labels: { ...service.metadata.labels } } : {}),
    },
    subsets: list,
  };
}

export function planEndpoints(service: Service, pods: readonly Pod[], existing: KubeObject | undefined): Plan {
  if (Object.keys(service.spec?.selector ?? {}).length === 0) return { actions: [] };
  const wanted = desiredEndpoints(service, pods);
  if (existing === undefined) return { actions: [{ kind: 'create', resource: 'endpoints', object: wanted }] };
  if (
    canonicalJson(existing.subsets ?? []) === canonicalJson(wanted.subsets) &&
    canonicalJson(existing.metadata.labels ?? {}) === canonicalJson(wanted.metadata.labels ?? {})
  )
    return { actions: [] };
  return {
    actions: [
      {
        kind: 'update',
        resource: 'endpoints',
        object: {
          ...existing,
          metadata: { ...existing.metadata, labels: wanted.metadata.labels ?? {} },
          subsets: wanted.subsets,
        },
      },
    ],
  };
}
