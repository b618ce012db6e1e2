/**
 * Each identity gets exactly its access: anonymous (version, health, kube-public/cluster-info only),
 * a service-account token (what RBAC grants it, while the account exists),
 * a bootstrap token (CSRs only), a node (its own Node, Lease, and the Secrets its pods use), admin.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCertificate } from '../../../controlplane/pki/certificates.ts';
import { adminIdentity, call, startServerProcess, type Identity, type ServerProcess } from '../server-process.ts';

let server: ServerProcess;
let admin: Identity;
test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
  admin = adminIdentity(server.dataDir);
});
test.after.always(async () => {
  await server?.destroy();
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('anonymous: version, health and cluster-info only', async (t) => {
  t.is((await call(server, 'GET', '/version')).status, 200);
  t.is((await call(server, 'GET', '/healthz')).status, 200);
  t.is((await call(server, 'GET', '/readyz')).status, 200);
  t.is((await call(server, 'GET', '/api/v1/namespaces/kube-public/configmaps/cluster-info')).status, 200);
  for (const path of [
    '/api',
    '/api/v1/namespaces/kube-public/configmaps',
    '/api/v1/namespaces/default/secrets',
    '/api/v1/nodes',
  ]) {
    const reply = await call(server, 'GET', path);
    t.is(reply.status, 403, path);
    t.is(reply.body.reason, 'Forbidden');
  }
});

test('bootstrap token: may create CSRs, nothing else; a wrong secret is 401', async (t) => {
  const created = await call(server, 'POST', '/api/v1/namespaces/kube-system/secrets', admin, {
    metadata: { name: 'bootstrap-token-abcdef' },
    type: 'bootstrap.kubernetes.io/token',
    data: {
      'token-id': b64('abcdef'),
      'token-secret': b64('0123456789abcdef'),
      'usage-bootstrap-authentication': b64('true'),
    },
  });
  t.is(created.status, 201);
  const token = { token: 'abcdef.0123456789abcdef' };
  const csr = await call(server, 'POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', token, {
    metadata: { name: 'node-csr-1' },
    spec: {
      request: b64('not a real csr'),
      signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
      usages: ['client auth'],
    },
  });
  t.is(csr.status, 201, JSON.stringify(csr.body));
  t.is((await call(server, 'GET', '/api/v1/pods', token)).status, 403);
  t.is((await call(server, 'GET', '/api/v1/namespaces/kube-system/secrets', token)).status, 403);
  t.is((await call(server, 'GET', '/api/v1/pods', { token: 'abcdef.0000000000000000' })).status, 401);
});

test('node: its own Node and Lease, secrets of its own pods only', async (t) => {
  const ca = {
    cert: readFileSync(join(server.dataDir, 'pki/ca.crt'), 'utf8'),
    key: readFileSync(join(server.dataDir, 'pki/ca.key'), 'utf8'),
  };
  const pair = issueCertificate(ca, { commonName: 'system:node:n1', organizations: ['system:nodes'], usage: 'client' });
  const node: Identity = { cert: pair.cert, key: pair.key };
  t.is((await call(server, 'POST', '/api/v1/nodes', node, { metadata: { name: 'n1' } })).status, 201);
  t.is((await call(server, 'POST', '/api/v1/nodes', admin, { metadata: { name: 'n2' } })).status, 201);
  t.is(
    (
      await call(
        server,
        'PATCH',
        '/api/v1/nodes/n1/status',
        node,
        { status: { phase: 'Running' } },
        'application/merge-patch+json',
      )
    ).status,
    200,
  );
  t.is(
    (
      await call(
        server,
        'PATCH',
        '/api/v1/nodes/n2',
        node,
        { metadata: { labels: { x: 'y' } } },
        'application/merge-patch+json',
      )
    ).status,
    403,
  );
  t.is(
    (
      await call(server, 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', node, {
        metadata: { name: 'n1' },
        spec: { holderIdentity: 'n1' },
      })
    ).status,
    201,
  );
  t.is(
    (
      await call(server, 'PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n2', node, {
        metadata: { name: 'n2' },
      })
    ).status,
    403,
  );
  for (const name of ['mine', 'theirs']) {
    t.is(
      (await call(server, 'POST', '/api/v1/namespaces/default/secrets', admin, { metadata: { name }, data: {} }))
        .status,
      201,
    );
  }
  const pod = (name: string, nodeName: string, secret: string) => ({
    metadata: { name },
    spec: {
      nodeName,
      containers: [{ name: 'c', image: 'img:1' }],
      volumes: [{ name: 's', secret: { secretName: secret } }],
    },
  });
  t.is((await call(server, 'POST', '/api/v1/namespaces/default/pods', admin, pod('p1', 'n1', 'mine'))).status, 201);
  t.is((await call(server, 'POST', '/api/v1/namespaces/default/pods', admin, pod('p2', 'n2', 'theirs'))).status, 201);
  t.is((await call(server, 'GET', '/api/v1/namespaces/default/secrets/mine', node)).status, 200);
  t.is((await call(server, 'GET', '/api/v1/namespaces/default/secrets/theirs', node)).status, 403);
  t.is((await call(server, 'GET', '/api/v1/namespaces/default/secrets', node)).status, 403);
  t.is(
    (
      await call(
        server,
        'PATCH',
        '/api/v1/namespaces/default/pods/p1/status',
        node,
        { status: { phase: 'Running' } },
        'application/merge-patch+json',
      )
    ).status,
    200,
  );
  t.is(
    (
      await call(
        server,
        'PATCH',
        '/api/v1/namespaces/default/pods/p2/status',
        node,
        { status: { phase: 'Running' } },
        'application/merge-patch+json',
      )
    ).status,
    403,
  );
  t.is((await call(server, 'GET', '/api/v1/pods', node)).status, 200);

  // NodeRestriction: no restricted labels, no taint changes, only mirror pods bound to itself.
  const restricted = await call(
    server,
    'PATCH',
    '/api/v1/nodes/n1',
    node,
    { metadata: { labels: { 'node-restriction.kubernetes.io/pool': 'gold' } } },
    'application/merge-patch+json',
  );
  t.is(restricted.status, 403);
  t.is(
    (
      await call(
        server,
        'PATCH',
        '/api/v1/nodes/n1',
        node,
        { metadata: { labels: { 'kubernetes.io/arch': 'amd64' } } },
        'application/merge-patch+json',
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
        node,
        { spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] } },
        'application/merge-patch+json',
      )
    ).status,
    403,
  );
  t.is(
    (await call(server, 'POST', '/api/v1/nodes', node, { metadata: { name: 'impostor' } })).status,
    403,
    'a node registers only itself',
  );
  const plain = { metadata: { name: 'own' }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'img:1' }] } };
  t.is((await call(server, 'POST', '/api/v1/namespaces/default/pods', node, plain)).status, 403, 'not a mirror pod');
  const mirror = { ...plain, metadata: { name: 'mirror', annotations: { 'kubernetes.io/config.mirror': 'abc' } } };
  t.is(
    (await call(server, 'POST', '/api/v1/namespaces/default/pods', node, mirror)).status,
    403,
    'a mirror pod not owned by its Node is refused by NodeRestriction',
  );
  // the mirror of a static pod: bound to the node, owned by its Node object
  const n1 = (await call(server, 'GET', '/api/v1/nodes/n1', admin)).body;
  const owned = {
    ...mirror,
    metadata: {
      ...mirror.metadata,
      name: 'static-n1',
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: n1.metadata.uid, controller: true }],
    },
  };
  t.is((await call(server, 'POST', '/api/v1/namespaces/default/pods', node, owned)).status, 201, 'its mirror pod');
  const stolen = {
    ...owned,
    metadata: { ...owned.metadata, name: 'static-x' },
    spec: { ...owned.spec, nodeName: 'n2' },
  };
  t.is(
    (await call(server, 'POST', '/api/v1/namespaces/default/pods', node, stolen)).status,
    403,
    'never a mirror pod bound to another node',
  );
  t.is((await call(server, 'GET', '/api/v1/namespaces/default/pods/static-x', admin)).status, 404);
});

test('admin: everything; a body over 3 MiB is 413 with a Status', async (t) => {
  t.is((await call(server, 'GET', '/api/v1/secrets', admin)).status, 200);
  const big = await call(server, 'POST', '/api/v1/namespaces/default/configmaps', admin, {
    metadata: { name: 'big' },
    data: { x: 'y'.repeat(3 * 1024 * 1024 + 10) },
  });
  t.is(big.status, 413);
  t.is(big.body.kind, 'Status');
  t.is(
    (await call(server, 'GET', '/api/v1/namespaces/default/configmaps/big', admin)).status,
    404,
    'nothing half-stored',
  );
});

test('service account token: issued by TokenRequest, limited by RBAC, dead with its account', async (t) => {
  t.is(
    (await call(server, 'POST', '/api/v1/namespaces/default/serviceaccounts', admin, { metadata: { name: 'robot' } }))
      .status,
    201,
  );
  const short = await call(server, 'POST', '/api/v1/namespaces/default/serviceaccounts/robot/token', admin, {
    spec: { expirationSeconds: 60 },
  });
  t.is(short.status, 422, 'tokens shorter than 10 minutes are refused');
  const issued = await call(server, 'POST', '/api/v1/namespaces/default/serviceaccounts/robot/token', admin, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: {},
  });
  t.is(issued.status, 201);
  const robot: Identity = { token: issued.body.status.token };
  t.is((await call(server, 'GET', '/api/v1/namespaces/default/pods', robot)).status, 403);
  t.is(
    (
      await call(server, 'POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', admin, {
        metadata: { name: 'robot-view' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ kind: 'ServiceAccount', name: 'robot', namespace: 'default' }],
      })
    ).status,
    201,
  );
  // Policy reloads shortly after a change: wait for it rather than sleeping a fixed time.
  const deadline = Date.now() + 5000;
  let status = 0;
  while (
    Date.now() < deadline &&
    (status = (await call(server, 'GET', '/api/v1/namespaces/default/pods', robot)).status) !== 200
  )
    await new Promise((r) => setTimeout(r, 50));
  t.is(status, 200, 'the rolebinding to view lets the robot list pods');
  t.is(
    (await call(server, 'GET', '/api/v1/namespaces/default/secrets', robot)).status,
    403,
    'view does not read secrets',
  );
  t.is((await call(server, 'DELETE', '/api/v1/namespaces/default/serviceaccounts/robot', admin)).status, 200);
  t.is(
    (await call(server, 'GET', '/api/v1/namespaces/default/pods', robot)).status,
    401,
    'the token dies with its account',
  );
  const forged = `${issued.body.status.token.slice(0, -4)}AAAA`;
  t.is((await call(server, 'GET', '/api/v1/namespaces/default/pods', { token: forged })).status, 401);
});
