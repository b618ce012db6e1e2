/**
 * metrics.k8s.io/v1beta1 served by `bosun server` from its own scrapes of kubelets' /metrics/resource
 * (here stand-in kubelets over real TLS): discovery as metrics-server's APIService gives it, the
 * objects' shape, selectors and namespaces, upstream's errors, RBAC through the aggregated
 * metrics-reader role, and what happens when a kubelet fails or speaks of pods that are not its own.
 */
import test from 'ava';
import { adminCalls } from '../admin-calls.ts';
import { sharedInProcess } from '../in-process.ts';
import { waitFor } from '../ports.ts';
import { adminIdentity, call, callBytes, userIdentity } from '../server-process.ts';
import { readFields } from '../protobuf-wire.ts';
import { parseGoDuration } from '../../../kube/go-duration.ts';
import { decodeProtobufObject } from '../../../controlplane/api/protobuf/envelope.ts';
import { cores, metricsCluster } from './metrics-cluster.ts';

const shared = sharedInProcess(test, { metricResolutionMs: 2_500 });
const api = adminCalls(shared);
const cluster = metricsCluster(test, shared);
const kubelets = cluster.kubelets;

test('discovery lists metrics.k8s.io/v1beta1 with nodes and pods as metrics-server does, legacy and aggregated', async (t) => {
  await cluster.ready();
  const groups = await api.sendOk('GET', '/apis');
  const group = groups.groups.find((g: any) => g.name === 'metrics.k8s.io');
  t.deepEqual(group?.preferredVersion, { groupVersion: 'metrics.k8s.io/v1beta1', version: 'v1beta1' });
  const list = await api.sendOk('GET', '/apis/metrics.k8s.io/v1beta1');
  t.is(list.kind, 'APIResourceList');
  t.is(list.groupVersion, 'metrics.k8s.io/v1beta1');
  t.deepEqual(
    list.resources.map((r: any) => [r.name, r.namespaced, r.kind, r.verbs]),
    [
      ['nodes', false, 'NodeMetrics', ['get', 'list']],
      ['pods', true, 'PodMetrics', ['get', 'list']],
    ],
  );
  const aggregated = await api.send('GET', '/apis', undefined, undefined, {
    Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
  });
  const entry = aggregated.body.items.find((g: any) => g.metadata.name === 'metrics.k8s.io');
  t.deepEqual(
    entry?.versions[0].resources.map((r: any) => [r.resource, r.scope, r.responseKind.kind]),
    [
      ['nodes', 'Cluster', 'NodeMetrics'],
      ['pods', 'Namespaced', 'PodMetrics'],
    ],
  );
  const apiService = await api.sendOk('GET', '/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io');
  t.like(apiService.spec, {
    group: 'metrics.k8s.io',
    version: 'v1beta1',
    groupPriorityMinimum: 100,
    versionPriority: 100,
  });
});

test('NodeMetrics: CPU as the rate over the window, memory as the working set, with the node labels', async (t) => {
  await cluster.ready();
  const list = await api.sendOk('GET', '/apis/metrics.k8s.io/v1beta1/nodes');
  t.is(list.kind, 'NodeMetricsList');
  t.is(list.apiVersion, 'metrics.k8s.io/v1beta1');
  t.deepEqual(
    list.items.map((n: any) => n.metadata.name),
    ['node-a', 'node-b'],
  );
  const a = list.items[0];
  t.is(a.kind, 'NodeMetrics');
  t.deepEqual(a.metadata.labels, { zone: 'east' });
  t.regex(a.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.regex(a.window, /^\d+(\.\d+)?s$|^\d+ms$/);
  t.true(Math.abs(cores(a.usage.cpu) - 0.5) < 0.05, a.usage.cpu);
  t.is(a.usage.memory, '2Gi');
  const one = await api.sendOk('GET', '/apis/metrics.k8s.io/v1beta1/nodes/node-b');
  t.is(one.kind, 'NodeMetrics');
  t.is(one.usage.memory, '3Gi');
  const west = await api.sendOk('GET', '/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=zone%3Dwest');
  t.deepEqual(
    west.items.map((n: any) => n.metadata.name),
    ['node-b'],
  );
  const named = await api.sendOk('GET', '/apis/metrics.k8s.io/v1beta1/nodes?fieldSelector=metadata.name%3Dnode-a');
  t.deepEqual(
    named.items.map((n: any) => n.metadata.name),
    ['node-a'],
  );
});

test('PodMetrics: per container, in one namespace or all, by label; a pod without samples is left out', async (t) => {
  await cluster.ready();
  const all = await api.sendOk('GET', '/apis/metrics.k8s.io/v1beta1/pods');
  t.is(all.kind, 'PodMetricsList');
  t.deepEqual(
    all.items.map((p: any) => `${p.metadata.namespace}/${p.metadata.name}`),
    ['office/desk', 'shop/db', 'shop/web'],
  );
  const shop = await api.sendOk('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods');
  t.deepEqual(
    shop.items.map((p: any) => p.metadata.name),
    ['db', 'web'],
  );
  const web = await api.sendOk('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web');
  t.is(web.kind, 'PodMetrics');
  t.deepEqual(web.metadata.labels, { app: 'web' });
  t.deepEqual(
    web.containers.map((c: any) => c.name),
    ['app', 'sidecar'],
  );
  t.true(Math.abs(cores(web.containers[0].usage.cpu) - 0.25) < 0.03, web.containers[0].usage.cpu);
  t.is(web.containers[0].usage.memory, '64Mi');
  const selected = await api.sendOk('GET', '/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%20in%20(db,desk)');
  t.deepEqual(
    selected.items.map((p: any) => p.metadata.name),
    ['desk', 'db'],
  );
});

test('errors are worded as metrics-server words them; watch and writes are refused', async (t) => {
  await cluster.ready();
  const noNode = await api.send('GET', '/apis/metrics.k8s.io/v1beta1/nodes/nowhere');
  t.is(noNode.status, 404);
  t.is(noNode.body.message, 'node "nowhere" not found');
  const noPod = await api.send('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/nobody');
  t.is(noPod.status, 404);
  t.is(noPod.body.message, 'pods "nobody" not found');
  const unmeasured = await api.send('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/quiet');
  t.is(unmeasured.status, 404);
  t.is(unmeasured.body.message, 'podmetrics.metrics.k8s.io "shop/quiet" not found');
  t.like(unmeasured.body.details, { name: 'shop/quiet', group: 'metrics.k8s.io', kind: 'podmetrics' });
  const watch = await api.send('GET', '/apis/metrics.k8s.io/v1beta1/pods?watch=true');
  t.is(watch.status, 405);
  t.is(watch.body.message, 'watch is not supported on resources of kind "pods.metrics.k8s.io"');
  const create = await api.send('POST', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods', {
    apiVersion: 'metrics.k8s.io/v1beta1',
    kind: 'PodMetrics',
    metadata: { name: 'fake' },
    containers: [],
  });
  t.is(create.status, 405);
  t.is(create.body.reason, 'MethodNotAllowed');
  const unknown = await api.send('GET', '/apis/metrics.k8s.io/v1beta1/services');
  t.is(unknown.status, 404);
});

test('the Table kubectl get asks for has the name, cpu, memory and window', async (t) => {
  await cluster.ready();
  const table = await api.send('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods', undefined, undefined, {
    Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
  });
  t.is(table.status, 200);
  t.is(table.body.kind, 'Table');
  t.deepEqual(
    table.body.columnDefinitions.map((c: any) => c.name),
    ['Name', 'cpu', 'memory', 'Window'],
  );
  const web = table.body.rows.find((r: any) => r.cells[0] === 'web');
  t.is(web.cells[2], '80Mi');
  t.is(web.object.kind, 'PartialObjectMetadata');
});

test('RBAC: view (through system:aggregated-metrics-reader) reads its namespace; nobody else reads anything', async (t) => {
  await cluster.ready();
  const { dataDir, server } = shared.server();
  const port = Number(new URL(server.url).port);
  await api.sendOk('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings', {
    metadata: { name: 'viewer' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'viewer' }],
  });
  const viewer = userIdentity(dataDir, 'viewer');
  const stranger = userIdentity(dataDir, 'stranger');
  await waitFor('the viewer binding to apply', async () => {
    const r = await call({ dataDir, port }, 'GET', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods', viewer);
    return r.status === 200;
  });
  const own = await call({ dataDir, port }, 'GET', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods', viewer);
  t.is(own.body.items.length, 2);
  const other = await call({ dataDir, port }, 'GET', '/apis/metrics.k8s.io/v1beta1/namespaces/office/pods', viewer);
  t.is(other.status, 403);
  const everywhere = await call({ dataDir, port }, 'GET', '/apis/metrics.k8s.io/v1beta1/pods', viewer);
  t.is(everywhere.status, 403);
  const nodes = await call({ dataDir, port }, 'GET', '/apis/metrics.k8s.io/v1beta1/nodes', viewer);
  t.is(nodes.status, 403);
  const strangers = await call({ dataDir, port }, 'GET', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods', stranger);
  t.is(strangers.status, 403);
  t.regex(strangers.body.message, /cannot list resource "pods" in API group "metrics.k8s.io" in the namespace "shop"/);
  const role = await api.sendOk(
    'GET',
    '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:aggregated-metrics-reader',
  );
  t.like(role.metadata.labels, {
    'rbac.authorization.k8s.io/aggregate-to-view': 'true',
    'rbac.authorization.k8s.io/aggregate-to-edit': 'true',
    'rbac.authorization.k8s.io/aggregate-to-admin': 'true',
  });
});

test.serial(
  'a kubelet that speaks of another node’s pod is not believed; a failing kubelet drops its node and pods',
  async (t) => {
    await cluster.ready();
    // node-b claims office/desk (which runs on node-a) with a huge usage
    const b = kubelets.get('node-b')!;
    const honest = b.pods;
    t.teardown(() => {
      b.pods = honest;
    });
    b.pods = [
      ...b.pods,
      { namespace: 'office', name: 'desk', containers: [{ name: 'main', cores: 64, memoryBytes: 1 }] },
    ];
    const a = kubelets.get('node-a')!;
    const seen = a.scrapedBy.length;
    await waitFor('two more scrapes', () => a.scrapedBy.length >= seen + 2);
    const desk = await api.sendOk('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/office/pods/desk');
    t.true(cores(desk.containers[0].usage.cpu) < 1, desk.containers[0].usage.cpu);
    t.is(desk.containers[0].usage.memory, '32Mi');
    t.true(
      a.scrapedBy.every((cn) => cn === 'kube-apiserver-kubelet-client'),
      a.scrapedBy.join(','),
    );
    // node-a stops answering well: its node and pods leave the API, node-b's stay
    a.mode = 'fail';
    await waitFor('node-a to leave the metrics', async () => {
      const nodes = await api.sendOk('GET', '/apis/metrics.k8s.io/v1beta1/nodes');
      return nodes.items.length === 1;
    });
    const pods = await api.sendOk('GET', '/apis/metrics.k8s.io/v1beta1/pods');
    t.deepEqual(
      pods.items.map((p: any) => p.metadata.name),
      ['db'],
    );
    const gone = await api.send('GET', '/apis/metrics.k8s.io/v1beta1/nodes/node-a');
    t.is(gone.status, 404);
    t.is(gone.body.message, 'nodemetrics.metrics.k8s.io "node-a" not found');
    a.mode = 'ok';
    await waitFor('node-a to come back after two good scrapes', async () => {
      const nodes = await api.sendOk('GET', '/apis/metrics.k8s.io/v1beta1/nodes');
      return nodes.items.length === 2;
    });
    t.pass();
  },
);

test('hostile identities: a node, a service account and a namespace admin read no more than upstream lets them', async (t) => {
  await cluster.ready();
  const { dataDir, server } = shared.server();
  const endpoint = { dataDir, port: Number(new URL(server.url).port) };
  await api.sendOk('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings', {
    metadata: { name: 'shop-admin' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'shop-admin' }],
  });
  const admin = userIdentity(dataDir, 'shop-admin');
  await waitFor('the shop-admin binding to apply', async () => {
    const r = await call(endpoint, 'GET', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods', admin);
    return r.status === 200;
  });
  const node = userIdentity(dataDir, 'system:node:node-a', ['system:nodes']);
  const serviceAccount = userIdentity(dataDir, 'system:serviceaccount:shop:default', [
    'system:serviceaccounts',
    'system:serviceaccounts:shop',
  ]);
  const expectations: [string, typeof admin, string, string, number][] = [
    ['namespace admin', admin, 'GET', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web', 200],
    ['namespace admin', admin, 'GET', '/apis/metrics.k8s.io/v1beta1/namespaces/office/pods', 403],
    ['namespace admin', admin, 'GET', '/apis/metrics.k8s.io/v1beta1/nodes', 403],
    ['namespace admin', admin, 'POST', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods', 403],
    ['node', node, 'GET', '/apis/metrics.k8s.io/v1beta1/nodes/node-a', 403],
    ['node', node, 'GET', '/apis/metrics.k8s.io/v1beta1/pods', 403],
    ['service account', serviceAccount, 'GET', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods', 403],
    ['anonymous', {}, 'GET', '/apis/metrics.k8s.io/v1beta1/nodes', 403],
  ];
  for (const [who, identity, method, path, status] of expectations) {
    const body =
      method === 'POST'
        ? { apiVersion: 'metrics.k8s.io/v1beta1', kind: 'PodMetrics', metadata: { name: 'web' } }
        : undefined;
    const reply = await call(endpoint, method, path, identity, body);
    t.is(reply.status, status, `${who} ${method} ${path}: ${JSON.stringify(reply.body)}`);
  }
  // the refused write changed nothing: web's metrics are still the kubelet's
  const web = await api.sendOk('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web');
  t.deepEqual(
    web.containers.map((c: any) => c.name),
    ['app', 'sidecar'],
  );
  // and the server still answers a normal client
  t.is((await api.send('GET', '/api/v1/namespaces/shop/pods')).status, 200);
});

test('the server’s /metrics counts scrapes with metrics-server’s names', async (t) => {
  await cluster.ready();
  const text = (await api.send('GET', '/metrics')).body as string;
  const value = (series: string) => Number(new RegExp(`^${series} (\\S+)$`, 'm').exec(text)?.[1]);
  t.true(value('metrics_server_kubelet_request_total\\{success="true"\\}') >= 4, 'two nodes, two rounds at least');
  t.true(value('metrics_server_manager_tick_duration_seconds_count') >= 2);
  t.regex(text, /^metrics_server_kubelet_request_duration_seconds_bucket\{le="\+Inf"\} \d+$/m);
  t.true(value('metrics_server_storage_points\\{type="container"\\}') >= 3);
});

test('a client that prefers protobuf (kubectl top does) gets NodeMetrics and PodMetrics in it, upstream’s field numbers', async (t) => {
  await cluster.ready();
  const { dataDir, server } = shared.server();
  const endpoint = { dataDir, port: Number(new URL(server.url).port) };
  const admin = adminIdentity(dataDir);
  const accept = { Accept: 'application/vnd.kubernetes.protobuf, */*' };
  const nodes = await callBytes(endpoint, 'GET', '/apis/metrics.k8s.io/v1beta1/nodes', admin, accept);
  t.is(nodes.status, 200);
  t.is(nodes.headers['content-type'], 'application/vnd.kubernetes.protobuf');
  const decoded = decodeProtobufObject(nodes.bytes) as any;
  t.is(decoded.kind, 'NodeMetricsList');
  const json = await api.sendOk('GET', '/apis/metrics.k8s.io/v1beta1/nodes');
  t.deepEqual(
    decoded.items.map((n: any) => [n.metadata.name, n.usage.memory, n.window]),
    json.items.map((n: any) => [n.metadata.name, n.usage.memory, n.window]),
  );
  const pod = await callBytes(endpoint, 'GET', '/apis/metrics.k8s.io/v1beta1/namespaces/shop/pods/web', admin, accept);
  const web = decodeProtobufObject(pod.bytes) as any;
  t.is(web.kind, 'PodMetrics');
  t.deepEqual(
    web.containers.map((c: any) => [c.name, c.usage.memory]),
    [
      ['app', '64Mi'],
      ['sidecar', '16Mi'],
    ],
  );
  // PodMetrics: window is field 3, a Duration whose field 1 holds nanoseconds; containers field 4
  // the envelope: 'k8s\0', then runtime.Unknown whose field 2 holds the object's bytes
  const raw = readFields(readFields(pod.bytes.subarray(4)).find((f) => f.number === 2)!.bytes!);
  const window = readFields(raw.find((f) => f.number === 3)!.bytes!)[0]!;
  t.is(Number(window.varint), parseGoDuration(web.window) ?? Number.NaN);
  t.is(raw.filter((f) => f.number === 4).length, 2);
});

test('malformed escapes in a metrics path are a 400, never a server error', async (t) => {
  await cluster.ready();
  for (const path of [
    '/apis/metrics.k8s.io/v1beta1/nodes/%ff',
    '/apis/metrics.k8s.io/v1beta1/namespaces/%ff/pods',
    '/apis/%ff/v1beta1/nodes',
  ]) {
    const reply = await api.send('GET', path);
    t.is(reply.status, 400, `${path}: ${JSON.stringify(reply.body)}`);
  }
  t.is((await api.send('GET', '/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=%3D%3D')).status, 400);
  t.is((await api.send('GET', '/apis/metrics.k8s.io/v1beta1/nodes')).status, 200);
});
