import test from 'ava';
import type { Pod } from '../../../kube/corev1.ts';
import type { KubeObject } from '../../../kube/types.ts';
import {
  desiredEndpoints,
  planEndpoints,
  planEndpointSlices,
} from '../../../controlplane/controllers/endpointslice.ts';
import type { Action } from '../../../controlplane/controllers/actions.ts';
import type { Service } from '../../../kube/corev1.ts';
import type { Endpoint, EndpointConditions, EndpointSlice } from '../../../kube/discoveryv1.ts';
import { describe, pod } from './fixtures.ts';

function service(extra: Partial<NonNullable<Service['spec']>> = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-svc' },
    spec: {
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
      ...extra,
    },
  };
}

function serving(
  name: string,
  ip: string,
  opts: { ready?: boolean; deleting?: boolean; port?: number; portName?: string; labels?: Record<string, string> } = {},
): Pod {
  const p = pod(name, {
    node: 'node-a',
    ready: opts.ready ?? true,
    ip,
    ...(opts.deleting ? { deleting: true } : {}),
    labels: opts.labels ?? { app: 'web' },
  });
  p.spec.containers[0]!.ports = [{ name: opts.portName ?? 'http', containerPort: opts.port ?? 8080 }];
  return p;
}

/** A slice as this controller writes it: every endpoint list and condition filled in. */
type WrittenSlice = EndpointSlice & { endpoints: (Endpoint & { conditions: EndpointConditions })[] };

function createdSlices(actions: readonly Action[]): WrittenSlice[] {
  return actions.flatMap((a) =>
    a.kind === 'create' && a.resource === 'endpointslices' ? [a.object as WrittenSlice] : [],
  );
}

test('ready, not ready and terminating pods get the right conditions; named ports resolve', (t) => {
  const pods = [
    serving('a', '10.0.0.1'),
    serving('b', '10.0.0.2', { ready: false }),
    serving('c', '10.0.0.3', { deleting: true }),
  ];
  const [slice] = createdSlices(planEndpointSlices(service(), pods, []).actions);
  t.deepEqual(slice!.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  t.deepEqual(
    slice!.endpoints.map((e) => [e.addresses[0], e.conditions]),
    [
      ['10.0.0.1', { ready: true, serving: true, terminating: false }],
      ['10.0.0.2', { ready: false, serving: false, terminating: false }],
      ['10.0.0.3', { ready: false, serving: true, terminating: true }],
    ],
  );
  t.like(slice!.metadata.labels, {
    'kubernetes.io/service-name': 'web',
    'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
  });
  t.deepEqual(slice!.endpoints[0]!.targetRef, { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' });
  t.is(slice!.endpoints[0]!.nodeName, 'node-a');
});

test('publishNotReadyAddresses makes every endpoint ready', (t) => {
  const [slice] = createdSlices(
    planEndpointSlices(service({ publishNotReadyAddresses: true }), [serving('b', '10.0.0.2', { ready: false })], [])
      .actions,
  );
  t.deepEqual(slice!.endpoints[0]!.conditions, { ready: true, serving: true, terminating: false });
});

test('pods without an IP, finished pods and pods not selected are left out', (t) => {
  const noIp = serving('x', '');
  const done = serving('y', '10.0.0.9');
  done.status!.phase = 'Succeeded';
  const other = serving('z', '10.0.0.8', { labels: { app: 'api' } });
  const [slice] = createdSlices(planEndpointSlices(service(), [noIp, done, other], []).actions);
  t.deepEqual(slice!.endpoints, [], 'one empty slice says "no endpoints"');
});

test('pods whose named port differs go into separate slices', (t) => {
  const pods = [serving('a', '10.0.0.1', { port: 8080 }), serving('b', '10.0.0.2', { port: 9090 })];
  const slices = createdSlices(planEndpointSlices(service(), pods, []).actions);
  t.deepEqual(
    slices.map((s) => [s.ports?.[0]?.port, s.endpoints.length]),
    [
      [8080, 1],
      [9090, 1],
    ],
  );
});

test('more than 100 endpoints split into slices of at most 100', (t) => {
  const pods = Array.from({ length: 250 }, (_, i) =>
    serving(`p${String(i).padStart(3, '0')}`, `10.1.${Math.floor(i / 200)}.${i % 200}`),
  );
  t.deepEqual(
    createdSlices(planEndpointSlices(service(), pods, []).actions).map((s) => s.endpoints.length),
    [100, 100, 50],
  );
});

test('existing slices are reused: unchanged means no write, a change updates in place, extras go', (t) => {
  const pods = [serving('a', '10.0.0.1')];
  const first = createdSlices(planEndpointSlices(service(), pods, []).actions)[0]!;
  const stored: EndpointSlice = { ...first, metadata: { ...first.metadata, name: 'web-abcde', resourceVersion: '4' } };
  const spare: EndpointSlice = { ...stored, metadata: { ...stored.metadata, name: 'web-zzzzz' } };
  t.deepEqual(planEndpointSlices(service(), pods, [stored]).actions, []);
  t.deepEqual(describe(planEndpointSlices(service(), [...pods, serving('b', '10.0.0.2')], [stored, spare]).actions), [
    'update endpointslices web-abcde',
    'delete endpointslices web-zzzzz',
  ]);
});

test('a service that loses its selector loses its managed slices', (t) => {
  const stored: EndpointSlice = {
    ...createdSlices(planEndpointSlices(service(), [], []).actions)[0]!,
    metadata: {
      name: 'web-abcde',
      namespace: 'default',
      labels: {
        'kubernetes.io/service-name': 'web',
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      },
    },
  };
  const { spec: _spec, ...bare } = service();
  t.deepEqual(describe(planEndpointSlices({ ...bare, spec: { ports: [] } }, [], [stored]).actions), [
    'delete endpointslices web-abcde',
  ]);
});

test('a pod whose subdomain names a headless service gets a hostname', (t) => {
  const p = serving('db-0', '10.0.0.5');
  p.spec.hostname = 'db-0';
  p.spec.subdomain = 'web';
  const [slice] = createdSlices(planEndpointSlices(service({ clusterIP: 'None' }), [p], []).actions);
  t.is(slice!.endpoints[0]!.hostname, 'db-0');
});

test('legacy Endpoints: ready in addresses, not ready in notReadyAddresses, terminating left out', (t) => {
  const pods = [
    serving('a', '10.0.0.1'),
    serving('b', '10.0.0.2', { ready: false }),
    serving('c', '10.0.0.3', { deleting: true }),
  ];
  const endpoints = desiredEndpoints(service(), pods) as KubeObject & {
    subsets: { addresses?: { ip: string }[]; notReadyAddresses?: { ip: string }[]; ports: unknown[] }[];
  };
  t.deepEqual(
    endpoints.subsets.map((s) => [s.addresses?.map((a) => a.ip), s.notReadyAddresses?.map((a) => a.ip), s.ports]),
    [[['10.0.0.1'], ['10.0.0.2'], [{ name: 'http', port: 8080, protocol: 'TCP' }]]],
  );
  t.deepEqual(describe(planEndpoints(service(), pods, undefined).actions), ['create endpoints web']);
  t.deepEqual(
    planEndpoints(service(), pods, { ...endpoints, metadata: { ...endpoints.metadata, resourceVersion: '9' } }).actions,
    [],
  );
});
