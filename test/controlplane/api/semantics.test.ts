/**
 * API conventions clients depend on, checked over HTTPS against a live server: watch resume,
 * 410 on compacted history, bookmarks, paging, generateName, finalizers, graceful pod deletion,
 * status subresource and generation, errors by reason with field causes, namespace existence,
 * Table output, aggregated discovery, ClusterIP/NodePort allocation, default tolerations.
 */
import test from 'ava';
import { KubeClient } from '../../../kube/client.ts';
import { ApiError, isApiError } from '../../../kube/errors.ts';
import { refs } from '../../../kube/resource-ref.ts';
import type { KubeObject, WatchEvent } from '../../../kube/types.ts';
import { startInProcess, type InProcessServer } from '../in-process.ts';
import { call, type Identity } from '../server-process.ts';

let env: InProcessServer;
let client: KubeClient;
let admin: Identity;
test.before(async () => {
  env = await startInProcess({ bookmarkIntervalMs: 200 });
  client = new KubeClient(env.admin);
  admin = { cert: env.admin.cert!, key: env.admin.key! };
});
test.after.always(async () => {
  client?.close();
  await env?.destroy();
});

const http = (method: string, path: string, body?: unknown, contentType?: string) =>
  call({ dataDir: env.dataDir, port: env.server.port }, method, path, admin, body, contentType);
const pod = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { containers: [{ name: 'c', image: 'img:1' }], ...extra },
});

async function collect(events: AsyncGenerator<WatchEvent>, count: number, timeoutMs = 5000): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  const timer = setTimeout(() => void events.return(undefined), timeoutMs);
  for await (const event of events) {
    out.push(event);
    if (out.length >= count) break;
  }
  clearTimeout(timer);
  return out;
}

test.serial('watch: 410 Expired for a compacted resourceVersion; bookmarks carry progress', async (t) => {
  const first = await client.create(refs.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'old', namespace: 'default' },
  });
  await client.patch(refs.configmaps, 'old', { data: { a: '1' } }, { namespace: 'default' });
  await env.server.storage.compact(await env.server.storage.currentRevision());
  const err = await t.throwsAsync(
    collect(
      client.watch(refs.configmaps, { namespace: 'default', resourceVersion: first.metadata.resourceVersion! }),
      1,
    ),
  );
  t.true(isApiError(err, 'Expired'), String(err));
  t.is((err as ApiError).code, 410);
  const current = await client.list(refs.configmaps, { namespace: 'default' });
  const events = await collect(
    client.watch(refs.configmaps, {
      namespace: 'default',
      resourceVersion: current.metadata.resourceVersion!,
      allowBookmarks: true,
    }),
    1,
  );
  t.is(events[0]!.type, 'BOOKMARK');
  // the server's own start-up writes may still land in between: the bookmark is at the list's
  // version or later, never past what the store holds
  const bookmarked = Number(events[0]!.object.metadata.resourceVersion);
  t.true(bookmarked >= Number(current.metadata.resourceVersion), `${bookmarked}`);
  t.true(bookmarked <= (await env.server.storage.currentRevision()), `${bookmarked}`);
});

test('watch with resourceVersion 0 starts with the current objects', async (t) => {
  await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'w0' } });
  await client.create(refs.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'a', namespace: 'w0' },
  });
  const events = await collect(client.watch(refs.configmaps, { namespace: 'w0', resourceVersion: '0' }), 1);
  t.deepEqual(
    events.map((e) => `${e.type} ${e.object.metadata.name}`),
    ['ADDED a'],
  );
});

test('watch with a label selector: entering is ADDED, leaving is DELETED', async (t) => {
  await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sel' } });
  const start = await client.create(refs.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'm', namespace: 'sel', labels: { role: 'other' } },
  });
  const events = client.watch(refs.configmaps, {
    namespace: 'sel',
    labelSelector: 'role=web',
    resourceVersion: start.metadata.resourceVersion!,
  });
  const collected = collect(events, 3);
  await client.patch(refs.configmaps, 'm', { metadata: { labels: { role: 'web' } } }, { namespace: 'sel' });
  await client.patch(refs.configmaps, 'm', { data: { x: '1' } }, { namespace: 'sel' });
  await client.patch(refs.configmaps, 'm', { metadata: { labels: { role: 'db' } } }, { namespace: 'sel' });
  const seen = await collected;
  t.deepEqual(
    seen.map((e) => `${e.type} ${e.object.metadata.labels?.role}`),
    ['ADDED web', 'MODIFIED web', 'DELETED web'],
  );
});

test('list: limit and continue page through everything once', async (t) => {
  await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'pages' } });
  for (let i = 0; i < 7; i++)
    await client.create(refs.configmaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `c${i}`, namespace: 'pages' },
    });
  const names: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.list(refs.configmaps, {
      namespace: 'pages',
      limit: 3,
      ...(token ? { continue: token } : {}),
    });
    names.push(...page.items.map((i) => i.metadata.name!));
    token = page.metadata.continue;
  } while (token);
  t.deepEqual(names, ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6']);
  t.is((await http('GET', '/api/v1/namespaces/pages/configmaps?limit=2&continue=garbage')).status, 400);
});

test('create: generateName, AlreadyExists, Invalid with field causes, missing namespace', async (t) => {
  const generated = await client.create(refs.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { generateName: 'gen-', namespace: 'default' },
  });
  t.regex(generated.metadata.name!, /^gen-[a-z0-9]{5}$/);
  const dup = await http('POST', '/api/v1/namespaces/default/configmaps', {
    metadata: { name: generated.metadata.name },
  });
  t.is(dup.status, 409);
  t.is(dup.body.reason, 'AlreadyExists');
  const invalid = await http('POST', '/api/v1/namespaces/default/pods', {
    metadata: { name: 'Bad_Name' },
    spec: { containers: [{ name: 'c' }] },
  });
  t.is(invalid.status, 422);
  t.is(invalid.body.reason, 'Invalid');
  t.deepEqual(invalid.body.details.causes.map((c: { field: string }) => c.field).sort(), [
    'metadata.name',
    'spec.containers[0].image',
  ]);
  const nowhere = await http('POST', '/api/v1/namespaces/nowhere/configmaps', { metadata: { name: 'x' } });
  t.is(nowhere.status, 404);
  t.regex(nowhere.body.message, /namespaces "nowhere" not found/);
  const wrongKind = await http('POST', '/api/v1/namespaces/default/configmaps', {
    kind: 'Secret',
    metadata: { name: 'x' },
  });
  t.is(wrongKind.status, 400);
  const malformed = await http('POST', '/api/v1/namespaces/default/configmaps', '{"metadata": {');
  t.is(malformed.status, 400);
  t.is(malformed.body.kind, 'Status');
  const longName = await http('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'x'.repeat(254) } });
  t.is(longName.status, 422);
  t.is((await http('GET', '/apis/nope.example.com/v1/things')).status, 404);
});

test('finalizers hold a deleted object until they are removed', async (t) => {
  await client.create(refs.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'fin', namespace: 'default', finalizers: ['example.com/keep'] },
  });
  const marked = await client.delete(refs.configmaps, 'fin', { namespace: 'default' });
  t.truthy(marked.metadata.deletionTimestamp);
  t.truthy((await client.get(refs.configmaps, 'fin', 'default')).metadata.deletionTimestamp);
  await client.patch(refs.configmaps, 'fin', { metadata: { finalizers: null } }, { namespace: 'default' });
  t.true(isApiError(await t.throwsAsync(client.get(refs.configmaps, 'fin', 'default')), 'NotFound'));
});

test('graceful pod deletion: a bound pod waits for its node; unbound pods go at once', async (t) => {
  await client.create(refs.pods, pod('bound', { nodeName: 'n1', terminationGracePeriodSeconds: 20 }));
  const marked = await client.delete(refs.pods, 'bound', { namespace: 'default' });
  t.is(marked.metadata.deletionGracePeriodSeconds, 20);
  const deadline = Date.parse(marked.metadata.deletionTimestamp!);
  t.true(deadline > Date.now() + 15_000, 'deletionTimestamp is now + grace');
  const shorter = await client.delete(refs.pods, 'bound', { namespace: 'default', gracePeriodSeconds: 5 });
  t.is(shorter.metadata.deletionGracePeriodSeconds, 5, 'a second delete may shorten the grace');
  t.is((await client.get(refs.pods, 'bound', 'default')).metadata.deletionGracePeriodSeconds, 5);
  await client.delete(refs.pods, 'bound', { namespace: 'default', gracePeriodSeconds: 0 });
  t.true(isApiError(await t.throwsAsync(client.get(refs.pods, 'bound', 'default')), 'NotFound'));
  await client.create(refs.pods, pod('loose'));
  await client.delete(refs.pods, 'loose', { namespace: 'default' });
  t.true(isApiError(await t.throwsAsync(client.get(refs.pods, 'loose', 'default')), 'NotFound'));
});

test('status subresource and generation', async (t) => {
  const created = await client.create(refs.deployments, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'gen', namespace: 'default' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i:1' }] } },
    },
  });
  t.is(created.metadata.generation, 1);
  const labelled = await client.patch(
    refs.deployments,
    'gen',
    { metadata: { labels: { x: 'y' } }, status: { replicas: 99 } },
    { namespace: 'default' },
  );
  t.is(labelled.metadata.generation, 1, 'metadata changes do not bump generation');
  t.is((labelled.status as { replicas?: number } | undefined)?.replicas, undefined, 'the main resource ignores status');
  const scaled = await client.patch(refs.deployments, 'gen', { spec: { replicas: 3 } }, { namespace: 'default' });
  t.is(scaled.metadata.generation, 2);
  const status = await client.patch(
    refs.deployments,
    'gen',
    { status: { observedGeneration: 2, replicas: 3 }, spec: { replicas: 7 } },
    { namespace: 'default', subresource: 'status' },
  );
  t.deepEqual(status.status, { observedGeneration: 2, replicas: 3 });
  t.is((status.spec as { replicas: number }).replicas, 3, 'the status subresource ignores spec');
  const scale = await http('GET', '/apis/apps/v1/namespaces/default/deployments/gen/scale');
  t.deepEqual([scale.body.kind, scale.body.spec.replicas, scale.body.status.selector], ['Scale', 3, 'a=b']);
});

test('services: ClusterIP from the range, NodePort from 30000-32767, duplicates refused', async (t) => {
  const a = await client.create(refs.services, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'a', namespace: 'default' },
    spec: { type: 'NodePort', ports: [{ port: 80 }] },
  });
  const spec = a.spec as { clusterIP: string; ports: { nodePort: number; targetPort: number }[] };
  t.regex(spec.clusterIP, /^10\.(9[6-9]|10\d|11[01])\.\d+\.\d+$/);
  t.true(spec.ports[0]!.nodePort >= 30000 && spec.ports[0]!.nodePort <= 32767);
  t.is(spec.ports[0]!.targetPort, 80);
  const dupIp = await http('POST', '/api/v1/namespaces/default/services', {
    metadata: { name: 'b' },
    spec: { clusterIP: spec.clusterIP, ports: [{ port: 80 }] },
  });
  t.is(dupIp.status, 422);
  t.regex(dupIp.body.message, /already allocated/);
  const dupPort = await http('POST', '/api/v1/namespaces/default/services', {
    metadata: { name: 'c' },
    spec: { type: 'NodePort', ports: [{ port: 80, nodePort: spec.ports[0]!.nodePort }] },
  });
  t.is(dupPort.status, 422);
  const outOfRange = await http('POST', '/api/v1/namespaces/default/services', {
    metadata: { name: 'd' },
    spec: { clusterIP: '192.168.1.1', ports: [{ port: 80 }] },
  });
  t.is(outOfRange.status, 422);
  const immutable = await client
    .patch(refs.services, 'a', { spec: { clusterIP: '10.96.99.99' } }, { namespace: 'default' })
    .catch((e: unknown) => e);
  t.true(isApiError(immutable, 'Invalid'), String(immutable));
});

test('pods get the default not-ready/unreachable tolerations once', async (t) => {
  const created = await client.create(
    refs.pods,
    pod('tol', {
      tolerations: [
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 },
      ],
    }),
  );
  const tolerations = (created.spec as { tolerations: { key: string; tolerationSeconds: number }[] }).tolerations;
  t.deepEqual(tolerations.map((x) => `${x.key}:${x.tolerationSeconds}`).sort(), [
    'node.kubernetes.io/not-ready:300',
    'node.kubernetes.io/unreachable:60',
  ]);
});

test('Table output and aggregated discovery answer in the formats kubectl asks for', async (t) => {
  const table = await call({ dataDir: env.dataDir, port: env.server.port }, 'GET', '/api/v1/namespaces', admin);
  t.is(table.body.kind, 'NamespaceList');
  const { request } = await import('node:https');
  const get = (path: string, accept: string) =>
    new Promise<{ type: string; body: any }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: env.server.port,
          path,
          ca: env.admin.ca,
          cert: env.admin.cert,
          key: env.admin.key,
          headers: { Accept: accept },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c));
          res.on('end', () => resolve({ type: String(res.headers['content-type']), body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  const asTable = await get('/api/v1/namespaces', 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json');
  t.is(asTable.body.kind, 'Table');
  t.deepEqual(
    asTable.body.columnDefinitions.map((c: { name: string }) => c.name),
    ['Name', 'Status', 'Age'],
  );
  t.true(asTable.body.rows.some((r: { cells: string[] }) => r.cells[0] === 'kube-system' && r.cells[1] === 'Active'));
  const aggregated = await get(
    '/apis',
    'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
  );
  t.regex(aggregated.type, /g=apidiscovery\.k8s\.io;v=v2;as=APIGroupDiscoveryList/);
  const apps = aggregated.body.items.find((g: { metadata: { name: string } }) => g.metadata.name === 'apps');
  const deployments = apps.versions[0].resources.find((r: { resource: string }) => r.resource === 'deployments');
  t.deepEqual(
    deployments.subresources.map((s: { subresource: string }) => s.subresource),
    ['status', 'scale'],
  );
  const legacy = await get('/apis', 'application/json');
  t.is(legacy.body.kind, 'APIGroupList');
});

test('LimitRange fills container defaults and enforces max; ResourceQuota counts and refuses', async (t) => {
  await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'quota' } });
  t.is(
    (
      await http('POST', '/api/v1/namespaces/quota/limitranges', {
        metadata: { name: 'limits' },
        spec: {
          limits: [
            {
              type: 'Container',
              default: { cpu: '500m', memory: '128Mi' },
              defaultRequest: { cpu: '100m' },
              max: { cpu: '1' },
            },
          ],
        },
      })
    ).status,
    201,
  );
  t.is(
    (
      await http('POST', '/api/v1/namespaces/quota/resourcequotas', {
        metadata: { name: 'small' },
        spec: { hard: { pods: '2', 'requests.cpu': '250m' } },
      })
    ).status,
    201,
  );
  const first = await http('POST', '/api/v1/namespaces/quota/pods', {
    metadata: { name: 'a' },
    spec: { containers: [{ name: 'c', image: 'i:1' }] },
  });
  t.is(first.status, 201);
  t.deepEqual(first.body.spec.containers[0].resources, {
    limits: { cpu: '500m', memory: '128Mi' },
    requests: { cpu: '100m', memory: '128Mi' },
  });
  const tooBig = await http('POST', '/api/v1/namespaces/quota/pods', {
    metadata: { name: 'big' },
    spec: { containers: [{ name: 'c', image: 'i:1', resources: { limits: { cpu: '2' } } }] },
  });
  t.is(tooBig.status, 403);
  t.regex(tooBig.body.message, /maximum cpu usage per Container is 1, but limit is 2/);
  t.is(
    (
      await http('POST', '/api/v1/namespaces/quota/pods', {
        metadata: { name: 'b' },
        spec: { containers: [{ name: 'c', image: 'i:1' }] },
      })
    ).status,
    201,
  );
  const third = await http('POST', '/api/v1/namespaces/quota/pods', {
    metadata: { name: 'c' },
    spec: { containers: [{ name: 'c', image: 'i:1' }] },
  });
  t.is(third.status, 403);
  t.regex(
    third.body.message,
    /exceeded quota: small, requested: pods=1,requests.cpu=100m, used: pods=2,requests.cpu=200m, limited: pods=2,requests.cpu=250m/,
  );
  t.is((await http('GET', '/api/v1/namespaces/quota/pods/c')).status, 404);
  const quota = await http('GET', '/api/v1/namespaces/quota/resourcequotas/small');
  t.deepEqual(quota.body.status.used, { pods: '2', 'requests.cpu': '200m' });
});

test('the kubernetes Service leads to this server: Endpoints, EndpointSlice and cluster-info', async (t) => {
  const svc = await client.get(refs.services, 'kubernetes', 'default');
  t.is((svc.spec as { clusterIP: string }).clusterIP, '10.96.0.1');
  t.is((svc.spec as { ports: { targetPort: number }[] }).ports[0]!.targetPort, env.server.port);
  const endpoints = await client.get(refs.endpoints, 'kubernetes', 'default');
  t.deepEqual(endpoints.subsets, [
    { addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port: env.server.port, protocol: 'TCP' }] },
  ]);
  const slices = await client.list(refs.endpointslices, {
    namespace: 'default',
    labelSelector: 'kubernetes.io/service-name=kubernetes',
  });
  t.is(slices.items.length, 1);
  t.deepEqual(slices.items[0]!.endpoints, [{ addresses: ['127.0.0.1'], conditions: { ready: true } }]);
  const info = await client.get(refs.configmaps, 'cluster-info', 'kube-public');
  t.true((info.data as { kubeconfig: string }).kubeconfig.includes(`server: ${env.server.url}`));
});

test('/metrics counts requests with upstream metric names; anonymous may not read it', async (t) => {
  await client.create(refs.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'metered', namespace: 'default' },
  });
  await t.throwsAsync(client.get(refs.configmaps, 'not-there', 'default'));
  const scrape = await http('GET', '/metrics');
  t.is(scrape.status, 200);
  const text = String(scrape.body);
  t.regex(
    text,
    /apiserver_request_total\{verb="POST",group="",version="v1",resource="configmaps",subresource="",scope="namespace",component="apiserver",code="201"\} [1-9]/,
  );
  t.regex(
    text,
    /apiserver_request_total\{verb="GET",group="",version="v1",resource="configmaps",subresource="",scope="resource",component="apiserver",code="404"\} [1-9]/,
  );
  t.regex(text, /apiserver_request_duration_seconds_bucket\{verb="POST",.*resource="configmaps".*le="\+Inf"\} [1-9]/);
  t.regex(
    text,
    /apiserver_current_inflight_requests\{request_kind="readOnly"\} [1-9]\d*/,
    'at least the scrape itself is in flight',
  );
  t.regex(text, /^process_resident_memory_bytes [1-9]\d*$/m, 'the process_* family, as every upstream component has');
  t.regex(text, /^process_cpu_seconds_total \d/m);
  t.regex(text, /^nodejs_heap_size_used_bytes [1-9]\d*$/m, 'how much of the resident memory is live objects');
  t.regex(text, /^nodejs_heap_size_total_bytes [1-9]\d*$/m);
  t.regex(text, /^nodejs_array_buffers_bytes \d+$/m, 'the Buffers among the memory outside the heap');
  const anonymous = await call({ dataDir: env.dataDir, port: env.server.port }, 'GET', '/metrics');
  t.is(anonymous.status, 403);
});

test('a quiet watch gets bookmarks that keep up with the store (sqlite), so it can resume later', async (t) => {
  await client.create(refs.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'quiet' } });
  const list = await client.list(refs.configmaps, { namespace: 'quiet' });
  const elsewhere = await client.create(refs.configmaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'busy', namespace: 'default' },
  });
  const abort = new AbortController();
  let bookmark = 0;
  for await (const event of client.watch(refs.configmaps, {
    namespace: 'quiet',
    resourceVersion: list.metadata.resourceVersion!,
    allowBookmarks: true,
    signal: abort.signal,
  })) {
    t.is(event.type, 'BOOKMARK');
    bookmark = Number(event.object.metadata.resourceVersion);
    if (bookmark >= Number(elsewhere.metadata.resourceVersion)) abort.abort();
  }
  t.true(
    bookmark >= Number(elsewhere.metadata.resourceVersion),
    `bookmark ${bookmark} never reached ${elsewhere.metadata.resourceVersion}`,
  );
});

test('immutable fields: deployment selector, immutable configmaps, secret type, roleRef', async (t) => {
  const deployment = await http('POST', '/apis/apps/v1/namespaces/default/deployments', {
    metadata: { name: 'fixed' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: { metadata: { labels: { a: 'b', c: 'd' } }, spec: { containers: [{ name: 'c', image: 'i:1' }] } },
    },
  });
  t.is(deployment.status, 201);
  const moved = await http(
    'PATCH',
    '/apis/apps/v1/namespaces/default/deployments/fixed',
    { spec: { selector: { matchLabels: { c: 'd' } } } },
    'application/merge-patch+json',
  );
  t.is(moved.status, 422);
  t.is(moved.body.details.causes[0].field, 'spec.selector');
  t.is(
    (
      await http('POST', '/api/v1/namespaces/default/configmaps', {
        metadata: { name: 'frozen' },
        data: { k: 'v' },
        immutable: true,
      })
    ).status,
    201,
  );
  t.is(
    (
      await http(
        'PATCH',
        '/api/v1/namespaces/default/configmaps/frozen',
        { data: { k: 'w' } },
        'application/merge-patch+json',
      )
    ).status,
    422,
  );
  t.is(
    (
      await http(
        'PATCH',
        '/api/v1/namespaces/default/configmaps/frozen',
        { metadata: { labels: { ok: 'yes' } } },
        'application/merge-patch+json',
      )
    ).status,
    200,
    'metadata may still change',
  );
  t.is(
    (await http('POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 'typed' }, type: 'Opaque' })).status,
    201,
  );
  t.is(
    (
      await http(
        'PATCH',
        '/api/v1/namespaces/default/secrets/typed',
        { type: 'kubernetes.io/tls' },
        'application/merge-patch+json',
      )
    ).status,
    422,
  );
  t.is(
    (
      await http('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
        metadata: { name: 'rb' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [],
      })
    ).status,
    201,
  );
  t.is(
    (
      await http(
        'PATCH',
        '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/rb',
        { roleRef: { name: 'edit' } },
        'application/merge-patch+json',
      )
    ).status,
    422,
  );
});

test('dryRun=All checks and answers but writes nothing (query or DeleteOptions)', async (t) => {
  const created = await http('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', {
    metadata: { name: 'dry' },
    data: { k: 'v' },
  });
  t.is(created.status, 201);
  t.is(created.body.metadata.name, 'dry');
  t.is((await http('GET', '/api/v1/namespaces/default/configmaps/dry')).status, 404);
  t.is(
    (
      await http('POST', '/api/v1/namespaces/default/pods?dryRun=All', {
        metadata: { name: 'x' },
        spec: { containers: [{ name: 'c' }] },
      })
    ).status,
    422,
    'validation still runs',
  );
  await http('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'wet' }, data: { k: 'v' } });
  const patched = await http(
    'PATCH',
    '/api/v1/namespaces/default/configmaps/wet?dryRun=All',
    { data: { k: 'changed' } },
    'application/merge-patch+json',
  );
  t.is(patched.body.data.k, 'changed');
  t.is((await http('GET', '/api/v1/namespaces/default/configmaps/wet')).body.data.k, 'v');
  t.is(
    (
      await http('DELETE', '/api/v1/namespaces/default/configmaps/wet', {
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        dryRun: ['All'],
      })
    ).status,
    200,
  );
  t.is(
    (await http('GET', '/api/v1/namespaces/default/configmaps/wet')).status,
    200,
    'still there after a dry-run delete',
  );
  t.is(
    (await http('DELETE', '/api/v1/namespaces/default/configmaps/wet?dryRun=Some')).status,
    422,
    'DeleteOptions.dryRun may only say All (upstream: 422 Invalid)',
  );
});

test('clients that hang up mid-watch leave no watcher behind', async (t) => {
  const watchers = async () => {
    const text = String((await http('GET', '/metrics')).body);
    return Number(/apiserver_registered_watchers\{group="",version="v1",kind="Secret"\} (\d+)/.exec(text)?.[1] ?? 0);
  };
  // the server's own loops may watch Secrets too (the certificate loop watches bootstrap tokens)
  const before = await watchers();
  const controllers = Array.from({ length: 20 }, () => new AbortController());
  const list = await client.list(refs.secrets, { namespace: 'default' });
  const streams = controllers.map(async (abort) => {
    try {
      for await (const _ of client.watch(refs.secrets, {
        namespace: 'default',
        resourceVersion: list.metadata.resourceVersion!,
        signal: abort.signal,
      })) {
        // nothing arrives; the client leaves
      }
    } catch {
      // aborted
    }
  });
  const deadline = Date.now() + 5000;
  while ((await watchers()) < before + 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.is(await watchers(), before + 20, 'all twenty watches were open');
  for (const abort of controllers) abort.abort();
  await Promise.all(streams);
  while ((await watchers()) > before && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 20));
  t.is(await watchers(), before, 'every watch was torn down when its client left');
});

test('malformed protobuf and unknown protobuf kinds are refused with a Status', async (t) => {
  const garbage = await http(
    'POST',
    '/api/v1/namespaces/default/configmaps',
    'k8s\u0000\u00ff\u00ff\u00ff',
    'application/vnd.kubernetes.protobuf',
  );
  t.is(garbage.status, 400);
  t.is(garbage.body.kind, 'Status');
  const notEnvelope = await http(
    'POST',
    '/api/v1/namespaces/default/configmaps',
    'hello',
    'application/vnd.kubernetes.protobuf',
  );
  t.is(notEnvelope.status, 400);
  // An envelope naming a kind the schema does not have: 415, so the client can send JSON.
  const typeMeta = Buffer.concat([
    Buffer.from([0x0a, 2]),
    Buffer.from('v1'),
    Buffer.from([0x12, 6]),
    Buffer.from('Widget'),
  ]);
  const envelope = Buffer.concat([Buffer.from('k8s\u0000', 'latin1'), Buffer.from([0x0a, typeMeta.length]), typeMeta]);
  const unknown = await http(
    'POST',
    '/api/v1/nodes',
    envelope.toString('latin1'),
    'application/vnd.kubernetes.protobuf',
  );
  t.is(unknown.status, 415, JSON.stringify(unknown.body));
});
