/**
 * Status belongs to the server and its controllers: a client that writes `status` into a create or
 * an update of the main resource gets it dropped (upstream's PrepareForCreate / PrepareForUpdate),
 * so a namespace admin cannot make a Pod look Running or a Deployment look ready, and a bootstrap
 * token cannot hand the signer a CSR that already says Approved. Secrets' stringData is folded
 * into data and never stored. Against a real server process with real identities.
 */
import test from 'ava';
import {
  adminIdentity,
  call,
  namespaceAdmin,
  type Identity,
  type ServerProcess,
  startServerProcess,
} from '../controlplane/server-process.ts';

let server: ServerProcess;
let admin: Identity;
let alice: Identity;
const ns = 'team-a';
const b64 = (s: string) => Buffer.from(s).toString('base64');

test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
  admin = adminIdentity(server.dataDir);
  alice = await namespaceAdmin(server, ns, 'alice');
});
test.after.always(async () => {
  await server?.destroy();
});

const pod = {
  metadata: { name: 'fake-running' },
  spec: { containers: [{ name: 'c', image: 'img:1' }] },
  status: {
    phase: 'Running',
    podIP: '10.244.9.9',
    podIPs: [{ ip: '10.244.9.9' }],
    conditions: [{ type: 'Ready', status: 'True' }],
    hostIP: '192.0.2.1',
  },
};

test('a Pod created with a status starts Pending, and an update does not change its status', async (t) => {
  const created = await call(server, 'POST', `/api/v1/namespaces/${ns}/pods`, alice, pod);
  t.is(created.status, 201, JSON.stringify(created.body));
  const stored = (await call(server, 'GET', `/api/v1/namespaces/${ns}/pods/fake-running`, admin)).body;
  t.deepEqual(stored.status, { phase: 'Pending', qosClass: 'BestEffort' });
  // the pod list a Service's endpoints come from does not see it as running
  const running = await call(
    server,
    'GET',
    `/api/v1/namespaces/${ns}/pods?fieldSelector=status.phase%3DRunning`,
    admin,
  );
  t.deepEqual(running.body.items, []);

  const put = await call(server, 'PUT', `/api/v1/namespaces/${ns}/pods/fake-running`, alice, {
    ...stored,
    metadata: { ...stored.metadata, labels: { x: 'y' } },
    status: pod.status,
  });
  t.is(put.status, 200, JSON.stringify(put.body));
  const patched = await call(
    server,
    'PATCH',
    `/api/v1/namespaces/${ns}/pods/fake-running`,
    alice,
    { status: { phase: 'Succeeded' } },
    'application/merge-patch+json',
  );
  t.is(patched.status, 200);
  const after = (await call(server, 'GET', `/api/v1/namespaces/${ns}/pods/fake-running`, admin)).body;
  t.deepEqual(after.status, { phase: 'Pending', qosClass: 'BestEffort' });
  t.deepEqual(after.metadata.labels, { x: 'y' }, 'the rest of the update applies');
  t.is((await call(server, 'GET', '/readyz')).status, 200);
});

test('a Deployment created with a status has none; status changes only through /status', async (t) => {
  const deployment = {
    metadata: { name: 'fake-ready' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'x' } },
      template: { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'img:1' }] } },
    },
    status: {
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      updatedReplicas: 3,
      observedGeneration: 7,
      conditions: [{ type: 'Available', status: 'True' }],
    },
  };
  const created = await call(server, 'POST', `/apis/apps/v1/namespaces/${ns}/deployments`, alice, deployment);
  t.is(created.status, 201, JSON.stringify(created.body));
  const path = `/apis/apps/v1/namespaces/${ns}/deployments/fake-ready`;
  t.is((await call(server, 'GET', path, admin)).body.status, undefined);
  const put = await call(server, 'PUT', path, alice, { ...created.body, status: deployment.status });
  t.is(put.status, 200);
  t.is((await call(server, 'GET', path, admin)).body.status, undefined);
  // the controllers' way still works
  const status = await call(
    server,
    'PATCH',
    `${path}/status`,
    admin,
    { status: { replicas: 1 } },
    'application/merge-patch+json',
  );
  t.is(status.status, 200);
  t.deepEqual((await call(server, 'GET', path, admin)).body.status, { replicas: 1 });
});

test('a CSR created with an Approved condition is stored without it, and an update cannot add it', async (t) => {
  t.is(
    (
      await call(server, 'POST', '/api/v1/namespaces/kube-system/secrets', admin, {
        metadata: { name: 'bootstrap-token-abcdef' },
        type: 'bootstrap.kubernetes.io/token',
        data: {
          'token-id': b64('abcdef'),
          'token-secret': b64('0123456789abcdef'),
          'usage-bootstrap-authentication': b64('true'),
        },
      })
    ).status,
    201,
  );
  const token = { token: 'abcdef.0123456789abcdef' };
  const approved = {
    conditions: [{ type: 'Approved', status: 'True', reason: 'AutoApproved', message: 'self' }],
    certificate: b64('not a certificate'),
  };
  const csr = await call(server, 'POST', '/apis/certificates.k8s.io/v1/certificatesigningrequests', token, {
    metadata: { name: 'masters-please' },
    spec: {
      request: b64('not a real csr'),
      signerName: 'kubernetes.io/kube-apiserver-client',
      usages: ['client auth'],
    },
    status: approved,
  });
  t.is(csr.status, 201, JSON.stringify(csr.body));
  const path = '/apis/certificates.k8s.io/v1/certificatesigningrequests/masters-please';
  const stored = (await call(server, 'GET', path, admin)).body;
  t.is(stored.status, undefined);
  // an update of the main resource by an identity allowed to update CSRs cannot add it either
  const put = await call(server, 'PUT', path, admin, { ...stored, status: approved });
  t.is(put.status, 200);
  t.is((await call(server, 'GET', path, admin)).body.status, undefined);
});

test('Secret stringData is merged into data on create and update, and never stored', async (t) => {
  const created = await call(server, 'POST', `/api/v1/namespaces/${ns}/secrets`, alice, {
    metadata: { name: 'creds' },
    data: { user: b64('old-user'), keep: b64('kept') },
    stringData: { user: 'admin', password: 'p@ss wörd' },
  });
  t.is(created.status, 201, JSON.stringify(created.body));
  t.is(created.body.stringData, undefined);
  const path = `/api/v1/namespaces/${ns}/secrets/creds`;
  const stored = (await call(server, 'GET', path, admin)).body;
  t.deepEqual(stored.data, { user: b64('admin'), keep: b64('kept'), password: b64('p@ss wörd') });
  t.is(stored.stringData, undefined);

  const patched = await call(
    server,
    'PATCH',
    path,
    alice,
    { stringData: { password: 'new' } },
    'application/merge-patch+json',
  );
  t.is(patched.status, 200, JSON.stringify(patched.body));
  const put = await call(server, 'PUT', path, alice, { ...patched.body, stringData: { token: 't0k' } });
  t.is(put.status, 200, JSON.stringify(put.body));
  const after = (await call(server, 'GET', path, admin)).body;
  t.deepEqual(after.data, { user: b64('admin'), keep: b64('kept'), password: b64('new'), token: b64('t0k') });
  t.is(after.stringData, undefined);
});
