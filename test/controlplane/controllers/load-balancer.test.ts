import test from 'ava';
import type { Node, Service } from '../../../kube/corev1.ts';
import type { EndpointSlice } from '../../../kube/discoveryv1.ts';
import { addressNodeOf, loadBalancerNames } from '../../../kube/load-balancer-names.ts';
import type { Action } from '../../../controlplane/controllers/actions.ts';
import { planLoadBalancer } from '../../../controlplane/controllers/load-balancer.ts';
import { loadBalancersConcerned } from '../../../controlplane/controllers/load-balancer-controller.ts';
import { parseAddressPool, type AddressPool } from '../../../controlplane/controllers/load-balancer-addresses.ts';
import { at, now } from './fixtures.ts';

// Nodes a, b, c at 10.0.0.1-3; Services in "default", created at second `index`.

function node(name: string, ip: string, opts: { ready?: boolean; labels?: Record<string, string> } = {}): Node {
  return {
    metadata: { name, uid: `uid-${name}`, ...(opts.labels ? { labels: opts.labels } : {}) },
    status: {
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'Unknown' : 'True' }],
      addresses: [{ type: 'InternalIP', address: ip }],
    },
  };
}

const nodes = [node('a', '10.0.0.1'), node('b', '10.0.0.2'), node('c', '10.0.0.3')];

function service(
  name: string,
  opts: Partial<Service['spec']> & {
    index?: number;
    annotations?: Record<string, string>;
    ingress?: string[];
    /** the node the status names to bind the pool address */
    holder?: string;
  } = {},
): Service {
  const { index, annotations, ingress, holder, ...spec } = opts;
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      resourceVersion: '1',
      creationTimestamp: at(index ?? 0),
      ...(annotations ? { annotations } : {}),
    },
    spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], ...spec },
    ...(ingress
      ? {
          status: {
            loadBalancer: { ingress: ingress.map((ip) => ({ ip })) },
            ...(holder
              ? {
                  conditions: [
                    {
                      type: loadBalancerNames.addressNodeCondition,
                      status: 'True' as const,
                      lastTransitionTime: at(0),
                      reason: 'NodeChosen',
                      message: holder,
                    },
                  ],
                }
              : {}),
          },
        }
      : {}),
  };
}

function slice(serviceName: string, nodeNames: string[]): EndpointSlice {
  return {
    metadata: { name: `${serviceName}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    endpoints: nodeNames.map((n, i) => ({
      addresses: [`10.244.0.${i + 1}`],
      nodeName: n,
      conditions: { ready: true },
    })),
  };
}

function plan(
  svc: Service,
  more: { nodes?: Node[]; slices?: EndpointSlice[]; services?: Service[]; pool?: AddressPool } = {},
) {
  return planLoadBalancer({
    service: svc,
    nodes: more.nodes ?? nodes,
    slices: more.slices ?? [],
    services: more.services ?? [svc],
    pool: more.pool,
    now,
  }).actions;
}

function writtenStatus(actions: Action[]): Service['status'] | undefined {
  const a = actions.find((x) => x.kind === 'updateStatus');
  return a?.kind === 'updateStatus' ? (a.object as Service).status : undefined;
}

const holderOf = (actions: Action[]) => {
  const status = writtenStatus(actions);
  return status === undefined ? undefined : addressNodeOf({ metadata: {}, spec: {}, status });
};
const ingressOf = (actions: Action[]) => writtenStatus(actions)?.loadBalancer?.ingress?.map((i) => i.ip);
const events = (actions: Action[]) =>
  actions.flatMap((a) => (a.kind === 'event' ? [`${a.type} ${a.reason}: ${a.message}`] : []));
const pool = parseAddressPool('192.0.2.0/28') as AddressPool;

test('a LoadBalancer Service is announced on every Ready node, NotReady nodes and excluded nodes left out', (t) => {
  const withExtra = [
    ...nodes,
    node('d', '10.0.0.4', { ready: false }),
    node('e', '10.0.0.5', { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } }),
  ];
  const actions = plan(service('web'), { nodes: withExtra });
  t.deepEqual(ingressOf(actions), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  // the addresses are the nodes themselves, not virtual IPs for every node to take over
  t.true(writtenStatus(actions)?.loadBalancer?.ingress?.every((i) => i.ipMode === 'Proxy'));
  t.deepEqual(events(actions), ['Normal EnsuredLoadBalancer: announced on 10.0.0.1, 10.0.0.2, 10.0.0.3']);
  const condition = writtenStatus(actions)?.conditions?.find((c) => c.type === loadBalancerNames.portsCondition);
  t.is(condition?.status, 'True');
});

test('an unchanged status is not written again', (t) => {
  const first = plan(service('web'));
  const settled = { ...service('web'), status: writtenStatus(first)! };
  t.deepEqual(plan(settled), []);
});

test('a pool annotation limits the announcing nodes to that pool', (t) => {
  const pooled = [node('a', '10.0.0.1', { labels: { 'bosun.io/lb-pool': 'edge' } }), node('b', '10.0.0.2')];
  t.deepEqual(ingressOf(plan(service('web', { annotations: { 'bosun.io/lb-pool': 'edge' } }), { nodes: pooled })), [
    '10.0.0.1',
  ]);
  t.deepEqual(
    ingressOf(plan(service('web', { annotations: { 'bosun.io/lb-pool': 'none' } }), { nodes: pooled })),
    undefined,
  );
});

test('externalTrafficPolicy Local announces only the nodes with a ready endpoint', (t) => {
  const svc = service('web', { externalTrafficPolicy: 'Local' });
  t.deepEqual(ingressOf(plan(svc, { slices: [slice('web', ['b'])] })), ['10.0.0.2']);
  t.deepEqual(ingressOf(plan(svc, { slices: [] })), undefined);
});

test('another loadBalancerClass is left alone; the built-in class is served', (t) => {
  t.deepEqual(plan(service('web', { loadBalancerClass: 'example.com/other' })), []);
  t.deepEqual(ingressOf(plan(service('web', { loadBalancerClass: 'bosun.io/servicelb' }))), [
    '10.0.0.1',
    '10.0.0.2',
    '10.0.0.3',
  ]);
});

test('a port an older Service serves on a node is not announced there: condition False and a Warning event', (t) => {
  const older = service('first', { index: 1, ingress: ['10.0.0.1', '10.0.0.2'] });
  const newer = service('second', { index: 2 });
  const actions = plan(newer, { services: [older, newer] });
  t.deepEqual(ingressOf(actions), ['10.0.0.3']);
  const condition = writtenStatus(actions)?.conditions?.find((c) => c.type === loadBalancerNames.portsCondition);
  t.is(condition?.status, 'False');
  t.is(condition?.reason, 'PortConflict');
  t.regex(
    events(actions).join('\n'),
    /Warning PortConflict: port 80\/TCP is already served on 10\.0\.0\.1 by Service default\/first/,
  );
  // the older Service keeps its nodes whatever the newer one holds
  const newerHolding = service('second', { index: 2, ingress: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] });
  t.deepEqual(ingressOf(plan(older, { services: [older, newerHolding] })), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  // another port or protocol is no conflict
  const udp = service('dns', { index: 3, ports: [{ port: 80, protocol: 'UDP' }] });
  t.deepEqual(ingressOf(plan(udp, { services: [older, udp] })), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
});

test('a Service that stops being a LoadBalancer has its status and address node taken back', (t) => {
  const svc = service('web', { holder: 'a', ingress: ['192.0.2.1'] });
  svc.spec.type = 'ClusterIP';
  const actions = plan(svc);
  t.deepEqual(writtenStatus(actions), { loadBalancer: {} });
  t.deepEqual(plan(service('plain', { type: 'ClusterIP' })), []);
});

test('with an address pool a Service gets one pool address, bound on one announcing node named in its status', (t) => {
  const actions = plan(service('web'), { pool });
  t.deepEqual(ingressOf(actions), ['192.0.2.1']);
  t.true(['a', 'b', 'c'].includes(holderOf(actions) ?? ''));
  t.false(
    actions.some((a) => a.kind === 'update'),
    'nothing outside the status is written',
  );
  // the next Service takes the next free address; a requested one is honoured
  const held = service('web', { ingress: ['192.0.2.1'] });
  t.deepEqual(ingressOf(plan(service('two', { index: 1 }), { pool, services: [held] })), ['192.0.2.2']);
  t.deepEqual(ingressOf(plan(service('three', { loadBalancerIP: '192.0.2.9' }), { pool })), ['192.0.2.9']);
});

test('the pool address moves to another node when its node stops being Ready, and stays otherwise', (t) => {
  const svc = service('web', { holder: 'b', ingress: ['192.0.2.1'] });
  t.is(holderOf(plan(svc, { pool })) ?? 'b', 'b');
  const partitioned = [node('a', '10.0.0.1'), node('b', '10.0.0.2', { ready: false }), node('c', '10.0.0.3')];
  const actions = plan(svc, { pool, nodes: partitioned });
  const holder = holderOf(actions);
  t.true(holder === 'a' || holder === 'c');
  t.deepEqual(ingressOf(actions), ['192.0.2.1']);
  t.regex(events(actions).join('\n'), /EnsuredLoadBalancer: announced on 192\.0\.2\.1 \(bound on node [ac]\)/);
});

test('an annotation a Service editor writes does not choose the node that binds the address', (t) => {
  const svc = service('web', { holder: 'b', ingress: ['192.0.2.1'], annotations: { 'bosun.io/lb-address-node': 'c' } });
  t.is(holderOf(plan(svc, { pool })) ?? 'b', 'b');
});

test('pool problems are reported, not guessed around', (t) => {
  t.deepEqual(events(plan(service('web', { loadBalancerIP: '198.51.100.7' }), { pool })), [
    'Warning AllocationFailed: spec.loadBalancerIP 198.51.100.7 is not in the address pool 192.0.2.0/28',
  ]);
  const tiny = parseAddressPool('192.0.2.0/30') as AddressPool;
  const full = [service('x', { index: 1, ingress: ['192.0.2.1'] }), service('y', { index: 2, ingress: ['192.0.2.2'] })];
  const late = service('z', { index: 3 });
  t.deepEqual(events(plan(late, { pool: tiny, services: [...full, late] })), [
    'Warning AllocationFailed: the address pool 192.0.2.0/30 is full',
  ]);
  t.is(typeof parseAddressPool('192.0.2.0/32'), 'string');
  t.is(typeof parseAddressPool('300.0.2.0/24'), 'string');
});

test('a port the nodes use themselves is never announced on their addresses: kubelet, API server, other node ports', (t) => {
  const kubelet = service('grab', { ports: [{ port: 10250, protocol: 'TCP' }] });
  const actions = plan(kubelet);
  t.deepEqual(ingressOf(actions), undefined);
  t.deepEqual(events(actions), ['Warning PortConflict: port 10250/TCP is reserved on every node for the kubelet port']);
  t.is(writtenStatus(actions)?.conditions?.find((c) => c.type === loadBalancerNames.portsCondition)?.status, 'False');
  t.deepEqual(events(plan(service('api', { ports: [{ port: 6443, protocol: 'TCP' }] }))), [
    'Warning PortConflict: port 6443/TCP is reserved on every node for the API server',
  ]);
  const nodePort: Service = {
    metadata: { name: 'np', namespace: 'other', uid: 'uid-np' },
    spec: { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }] },
  };
  const shadow = service('shadow', { ports: [{ port: 30080, protocol: 'TCP' }] });
  t.deepEqual(events(plan(shadow, { services: [nodePort, shadow] })), [
    'Warning PortConflict: port 30080/TCP is a node port of Service other/np',
  ]);
  // the same number over UDP is another port; with an address pool the nodes' own ports are not in the way
  const udp = service('udp', { ports: [{ port: 30080, protocol: 'UDP' }] });
  t.deepEqual(ingressOf(plan(udp, { services: [nodePort, udp] })), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  t.deepEqual(ingressOf(plan(kubelet, { pool })), ['192.0.2.1']);
});

test('a node whose ingress proxy serves 80/443 does not announce a LoadBalancer on those ports; other nodes and ports do', (t) => {
  const withIngress = (n: Node): Node => ({
    ...n,
    metadata: { ...n.metadata, annotations: { 'bosun.io/ingress-proxy': 'http=80,https=443' } },
  });
  const mixed = [withIngress(nodes[0]!), nodes[1]!, nodes[2]!];
  const actions = plan(service('web'), { nodes: mixed });
  t.deepEqual(ingressOf(actions), ['10.0.0.2', '10.0.0.3']);
  t.deepEqual(
    events(actions).filter((e) => e.startsWith('Warning')),
    [
      "Warning PortConflict: port 80/TCP is served on 10.0.0.1 by the node's ingress proxy (--disable ingress frees it)",
    ],
  );
  t.deepEqual(ingressOf(plan(service('other', { ports: [{ port: 8080, protocol: 'TCP' }] }), { nodes: mixed })), [
    '10.0.0.1',
    '10.0.0.2',
    '10.0.0.3',
  ]);
});

test('many conflicting ports on many nodes make a short message, not a status too big to store', (t) => {
  const ports = Array.from({ length: 200 }, (_, i) => ({ name: `p${i}`, port: 1000 + i, protocol: 'TCP' as const }));
  const many = Array.from({ length: 50 }, (_, i) => node(`n${i}`, `10.1.0.${i + 1}`));
  const older = service('first', { index: 1, ports, ingress: many.map((n) => n.status!.addresses![0]!.address) });
  const newer = service('second', { index: 2, ports });
  const actions = plan(newer, { nodes: many, services: [older, newer] });
  const message =
    writtenStatus(actions)?.conditions?.find((c) => c.type === loadBalancerNames.portsCondition)?.message ?? '';
  t.true(message.length < 1000, `${message.length} characters`);
  t.regex(message, /; and 9995 more$/);
});

test('a node whose address is not an IP is not announced, and the others still are', (t) => {
  const hostile = node('h', '10.0.0.9');
  hostile.status!.addresses = [{ type: 'ExternalIP', address: '10.0.0.9; rm -rf /' }];
  t.deepEqual(ingressOf(plan(service('web'), { nodes: [...nodes, hostile] })), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
});

test('a Service change replans only the LoadBalancers that share a port with it on the nodes; with a pool, all', (t) => {
  const np: Service = {
    metadata: { name: 'np', namespace: 'default', uid: 'uid-np' },
    spec: { type: 'NodePort', ports: [{ port: 8080, protocol: 'TCP', nodePort: 31443 }] },
  };
  const all = [
    service('a'),
    service('b'),
    service('c', { ports: [{ port: 31443, protocol: 'TCP' }] }),
    service('d', { ports: [{ port: 80, protocol: 'UDP' }] }),
    np,
  ];
  const caches = { list: () => all, get: () => undefined, claimable: () => [] };
  t.deepEqual(loadBalancersConcerned(all[0]!, caches, undefined), ['default/b']);
  t.deepEqual(loadBalancersConcerned(np, caches, undefined), ['default/c']);
  t.deepEqual(loadBalancersConcerned(all[0]!, caches, pool), ['default/b', 'default/c', 'default/d']);
  t.deepEqual(loadBalancersConcerned(np, caches, pool), []);
});
