/**
 * NodeRestriction against a real `bosun server` with real node certificates: a node writes only
 * its own Node (no labels that steer workloads to it, no taint changes after registration), only
 * its own Lease, only pods bound to it, and asks tokens only for them. Each refusal is checked for
 * its status and that nothing was stored or changed; the server keeps serving normal clients.
 */
import test from 'ava';
import {
  adminIdentity,
  call,
  userIdentity,
  startServerProcess,
  type Identity,
  type ServerProcess,
} from '../controlplane/server-process.ts';

let server: ServerProcess;
let admin: Identity;
let n1: Identity;
const merge = 'application/merge-patch+json';
const leases = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';

const pod = (name: string, nodeName: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name },
  spec: { nodeName, containers: [{ name: 'c', image: 'img:1' }], ...extra },
});

test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
  admin = adminIdentity(server.dataDir);
  n1 = userIdentity(server.dataDir, 'system:node:n1', ['system:nodes']);
  const labels = {
    'kubernetes.io/hostname': 'n1',
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': 'vm',
    'topology.kubernetes.io/zone': 'z1',
  };
  const registered = await call(server, 'POST', '/api/v1/nodes', n1, {
    metadata: { name: 'n1', labels },
    spec: { taints: [{ key: 'dedicated', value: 'x', effect: 'NoSchedule' }] },
  });
  if (registered.status !== 201)
    throw new Error(`n1 registers: ${registered.status} ${JSON.stringify(registered.body)}`);
  await call(server, 'POST', '/api/v1/nodes', admin, { metadata: { name: 'n2' } });
  await call(server, 'POST', '/api/v1/namespaces/default/serviceaccounts', admin, { metadata: { name: 'default' } });
  for (const [name, node] of [
    ['p1', 'n1'],
    ['p2', 'n2'],
  ])
    await call(server, 'POST', '/api/v1/namespaces/default/pods', admin, pod(name!, node!));
});
test.after.always(async () => {
  await server?.destroy();
});

async function stillServes(t: { is: (a: unknown, b: unknown, m?: string) => void }): Promise<void> {
  t.is((await call(server, 'GET', '/readyz', admin)).status, 200, 'the server still answers');
  t.is((await call(server, 'GET', '/api/v1/nodes/n1', n1)).status, 200, 'the node still reads its Node');
}

test('a node may not give itself labels that steer workloads to it', async (t) => {
  const before = (await call(server, 'GET', '/api/v1/nodes/n1', admin)).body.metadata.labels;
  for (const key of [
    'node-restriction.kubernetes.io/pool',
    'node-role.kubernetes.io/control-plane',
    'example.k8s.io/gpu',
    'kubernetes.io/role',
    'sub.node-restriction.kubernetes.io/x',
  ]) {
    const reply = await call(
      server,
      'PATCH',
      '/api/v1/nodes/n1',
      n1,
      { metadata: { labels: { [key]: 'true' } } },
      merge,
    );
    t.is(reply.status, 403, key);
    t.is(reply.body.message, `nodes "n1" is forbidden: is not allowed to modify labels: ${key}`);
  }
  t.deepEqual((await call(server, 'GET', '/api/v1/nodes/n1', admin)).body.metadata.labels, before, 'labels unchanged');

  // labels an operator set are not the node's to remove either
  t.is(
    (
      await call(
        server,
        'PATCH',
        '/api/v1/nodes/n1',
        admin,
        { metadata: { labels: { 'node-role.kubernetes.io/worker': '' } } },
        merge,
      )
    ).status,
    200,
  );
  t.is(
    (
      await call(
        server,
        'PATCH',
        '/api/v1/nodes/n1',
        n1,
        { metadata: { labels: { 'node-role.kubernetes.io/worker': null } } },
        merge,
      )
    ).status,
    403,
  );

  // the kubelet's own labels, and labels outside kubernetes.io and k8s.io, stay the node's to set
  const allowed = {
    'kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/arch': 'amd64',
    'kubelet.kubernetes.io/x': 'y',
    'node.kubernetes.io/exclude-from-external-load-balancers': 'true',
    'topology.kubernetes.io/region': 'r',
    'example.com/disk': 'ssd',
  };
  t.is((await call(server, 'PATCH', '/api/v1/nodes/n1', n1, { metadata: { labels: allowed } }, merge)).status, 200);

  // nor may it register with them
  const n3 = userIdentity(server.dataDir, 'system:node:n3', ['system:nodes']);
  const registered = await call(server, 'POST', '/api/v1/nodes', n3, {
    metadata: { name: 'n3', labels: { 'node-role.kubernetes.io/master': '', 'kubernetes.io/hostname': 'n3' } },
  });
  t.is(registered.status, 403);
  t.is(
    registered.body.message,
    'nodes "n3" is forbidden: node "n3" is not allowed to set the following labels: node-role.kubernetes.io/master',
  );
  t.is((await call(server, 'GET', '/api/v1/nodes/n3', admin)).status, 404, 'not registered');
  await stillServes(t);
});

test('a node may not put itself into a load-balancer pool, which would draw the pool’s traffic to it', async (t) => {
  const before = (await call(server, 'GET', '/api/v1/nodes/n1', admin)).body.metadata.labels;
  const reply = await call(
    server,
    'PATCH',
    '/api/v1/nodes/n1',
    n1,
    { metadata: { labels: { 'bosun.io/lb-pool': 'edge' } } },
    merge,
  );
  t.is(reply.status, 403);
  t.is(reply.body.message, 'nodes "n1" is forbidden: is not allowed to modify labels: bosun.io/lb-pool');
  t.deepEqual((await call(server, 'GET', '/api/v1/nodes/n1', admin)).body.metadata.labels, before, 'labels unchanged');
  await stillServes(t);
});

test('a node sets its taints and configSource only at registration, and writes no other Node', async (t) => {
  const current = (await call(server, 'GET', '/api/v1/nodes/n1', n1)).body;
  const untainted = await call(server, 'PUT', '/api/v1/nodes/n1', n1, {
    ...current,
    spec: { ...current.spec, taints: [] },
  });
  t.is(untainted.status, 403);
  t.is(untainted.body.message, 'nodes "n1" is forbidden: node "n1" is not allowed to modify taints');
  const configured = await call(
    server,
    'PATCH',
    '/api/v1/nodes/n1',
    n1,
    { spec: { configSource: { configMap: { name: 'c', namespace: 'kube-system', kubeletConfigKey: 'kubelet' } } } },
    merge,
  );
  t.is(configured.status, 403);
  t.is(
    configured.body.message,
    'nodes "n1" is forbidden: node "n1" is not allowed to update configSource to a new non-nil configSource',
  );
  const after = (await call(server, 'GET', '/api/v1/nodes/n1', admin)).body;
  t.deepEqual(after.spec, current.spec, 'spec unchanged');

  const n4 = userIdentity(server.dataDir, 'system:node:n4', ['system:nodes']);
  const withSource = await call(server, 'POST', '/api/v1/nodes', n4, {
    metadata: { name: 'n4' },
    spec: { configSource: { configMap: { name: 'c', namespace: 'kube-system', kubeletConfigKey: 'kubelet' } } },
  });
  t.is(withSource.status, 403);
  t.is((await call(server, 'GET', '/api/v1/nodes/n4', admin)).status, 404);

  for (const [method, path, body] of [
    ['PATCH', '/api/v1/nodes/n2/status', { status: { phase: 'Running' } }],
    ['PATCH', '/api/v1/nodes/n2', { metadata: { labels: { x: 'y' } } }],
    ['DELETE', '/api/v1/nodes/n2', undefined],
  ] as const) {
    t.is((await call(server, method, path, n1, body, merge)).status, 403, `${method} ${path}`);
  }
  const n2 = (await call(server, 'GET', '/api/v1/nodes/n2', admin)).body;
  t.is(n2.metadata.labels?.x, undefined);
  t.is(n2.status?.phase, undefined);
  await stillServes(t);
});

test('a node keeps only its own Lease', async (t) => {
  t.is(
    (await call(server, 'POST', leases, n1, { metadata: { name: 'n1' }, spec: { holderIdentity: 'n1' } })).status,
    201,
  );
  const other = await call(server, 'POST', leases, n1, { metadata: { name: 'n2' }, spec: { holderIdentity: 'n1' } });
  t.is(other.status, 403);
  t.is(
    other.body.message,
    'leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node',
  );
  t.is((await call(server, 'GET', `${leases}/n2`, admin)).status, 404, 'no lease stored for n2');
  t.is(
    (
      await call(server, 'POST', '/apis/coordination.k8s.io/v1/namespaces/default/leases', n1, {
        metadata: { name: 'n1' },
      })
    ).status,
    403,
    'only in kube-node-lease',
  );
  await stillServes(t);
});

test('a node writes only pods bound to it: status, evictions, tokens; no pods of its own making', async (t) => {
  const theirs = await call(
    server,
    'PATCH',
    '/api/v1/namespaces/default/pods/p2/status',
    n1,
    { status: { phase: 'Failed' } },
    merge,
  );
  t.is(theirs.status, 403);
  t.is(
    (await call(server, 'GET', '/api/v1/namespaces/default/pods/p2', admin)).body.status?.phase,
    'Pending',
    'status of p2 unchanged',
  );

  const evictTheirs = await call(server, 'POST', '/api/v1/namespaces/default/pods/p2/eviction', n1, {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name: 'p2' },
  });
  t.is(evictTheirs.status, 403);
  t.is(
    (await call(server, 'GET', '/api/v1/namespaces/default/pods/p2', admin)).body.metadata.deletionTimestamp,
    undefined,
    'p2 not evicted',
  );
  t.is(
    (
      await call(server, 'POST', '/api/v1/namespaces/default/pods/p1/eviction', n1, {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: 'p1' },
      })
    ).status,
    201,
    'its own pod it may evict',
  );

  const p2 = (await call(server, 'GET', '/api/v1/namespaces/default/pods/p2', admin)).body;
  const token = await call(server, 'POST', '/api/v1/namespaces/default/serviceaccounts/default/token', n1, {
    spec: { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'p2', uid: p2.metadata.uid } },
  });
  t.is(token.status, 403, 'no token for a pod on another node');
  t.is(token.body.status?.token, undefined);

  for (const [name, body] of [
    ['plain', pod('plain', 'n1')],
    [
      'mirror',
      { ...pod('mirror', 'n1'), metadata: { name: 'mirror', annotations: { 'kubernetes.io/config.mirror': 'abc' } } },
    ],
  ] as const) {
    t.is((await call(server, 'POST', '/api/v1/namespaces/default/pods', n1, body)).status, 403, name);
    t.is(
      (await call(server, 'GET', `/api/v1/namespaces/default/pods/${name}`, admin)).status,
      404,
      `${name} not stored`,
    );
  }
  await stillServes(t);
});

test("a node may not pick its own pod subnet, or take another node's, at registration or later", async (t) => {
  const admin = adminIdentity(server.dataDir);
  const victim = await call(server, 'POST', '/api/v1/nodes', admin, {
    metadata: { name: 'subnet-victim' },
    spec: { podCIDR: '10.244.7.0/24', podCIDRs: ['10.244.7.0/24'] },
  });
  t.is(victim.status, 201);
  // a join token's node identity, named to sort before the victim
  const thief = userIdentity(server.dataDir, 'system:node:a-thief', ['system:nodes']);
  const created = await call(server, 'POST', '/api/v1/nodes', thief, {
    metadata: { name: 'a-thief' },
    spec: { podCIDR: '10.244.7.0/24', podCIDRs: ['10.244.7.0/24'] },
  });
  t.is(created.status, 403);
  t.is(
    created.body.message,
    'nodes "a-thief" is forbidden: node "a-thief" is not allowed to set podCIDR: the control plane assigns it',
  );
  t.is((await call(server, 'GET', '/api/v1/nodes/a-thief', admin)).status, 404, 'nothing stored');

  t.is((await call(server, 'POST', '/api/v1/nodes', thief, { metadata: { name: 'a-thief' } })).status, 201);
  const patched = await call(
    server,
    'PATCH',
    '/api/v1/nodes/a-thief',
    thief,
    { spec: { podCIDR: '10.244.7.0/24', podCIDRs: ['10.244.7.0/24'] } },
    merge,
  );
  t.is(patched.status, 403);
  t.is((await call(server, 'GET', '/api/v1/nodes/a-thief', admin)).body.spec?.podCIDR, undefined, 'unchanged');
  await stillServes(t);
});
