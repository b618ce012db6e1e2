/**
 * Who may do what with HorizontalPodAutoscalers, against a real server process with real
 * identities: a namespace admin writes them in its namespace only and never their status (the
 * controller's), a viewer reads them, a node and an unbound user touch none; each refusal is 403
 * with nothing stored or changed, and a malformed v1 annotation is 400 with nothing stored. The
 * server keeps answering its admin throughout.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCertificate } from '../../../controlplane/pki/certificates.ts';
import { adminIdentity, call, startServerProcess, type Identity, type ServerProcess } from '../server-process.ts';

type Any = Record<string, any>;

let server: ServerProcess;
let admin: Identity;
let teamAdmin: Identity;
let viewer: Identity;
let node: Identity;
let stranger: Identity;

function user(commonName: string, organizations: string[] = []): Identity {
  const ca = {
    cert: readFileSync(join(server.dataDir, 'pki/ca.crt'), 'utf8'),
    key: readFileSync(join(server.dataDir, 'pki/ca.key'), 'utf8'),
  };
  const pair = issueCertificate(ca, { commonName, organizations, usage: 'client' });
  return { cert: pair.cert, key: pair.key };
}

const hpas = (ns: string, version = 'v2') => `/apis/autoscaling/${version}/namespaces/${ns}/horizontalpodautoscalers`;
const hpa = (name: string) => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name },
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 3 },
});

async function must(reply: Promise<{ status: number; body: Any }>, status: number): Promise<Any> {
  const got = await reply;
  if (got.status !== status) throw new Error(`expected ${status}, got ${got.status}: ${JSON.stringify(got.body)}`);
  return got.body;
}

test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
  admin = adminIdentity(server.dataDir);
  teamAdmin = user('alice');
  viewer = user('victor');
  node = user('system:node:n1', ['system:nodes']);
  stranger = user('mallory');
  await must(call(server, 'POST', '/api/v1/namespaces', admin, { metadata: { name: 'team' } }), 201);
  for (const [name, role] of [
    ['alice', 'admin'],
    ['victor', 'view'],
  ])
    await must(
      call(server, 'POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/rolebindings', admin, {
        metadata: { name: `${name}-${role}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name }],
      }),
      201,
    );
});

test.after.always(async () => {
  await server?.destroy();
});

test('a namespace admin writes autoscalers in its namespace only, and never their status', async (t) => {
  const created = await must(call(server, 'POST', hpas('team'), teamAdmin, hpa('mine')), 201);
  const elsewhere = await call(server, 'POST', hpas('default'), teamAdmin, hpa('theirs'));
  t.is(elsewhere.status, 403);
  t.is((await call(server, 'GET', `${hpas('default')}/theirs`, admin)).status, 404);
  // the status is the controller's: a forged one would claim scaling that never happened
  const forged = await call(server, 'PUT', `${hpas('team')}/mine/status`, teamAdmin, {
    ...created,
    status: { currentReplicas: 99, desiredReplicas: 99 },
  });
  t.is(forged.status, 403);
  t.is((await must(call(server, 'GET', `${hpas('team')}/mine`, admin), 200)).status?.desiredReplicas, undefined);
  // the v1 view is the same resource to RBAC
  t.is(
    (
      await call(server, 'POST', hpas('default', 'v1'), teamAdmin, {
        ...hpa('v1-theirs'),
        apiVersion: 'autoscaling/v1',
      })
    ).status,
    403,
  );
  t.is((await call(server, 'GET', `${hpas('default')}/v1-theirs`, admin)).status, 404);
});

test('a viewer reads autoscalers through both versions and writes none', async (t) => {
  await must(call(server, 'POST', hpas('team'), admin, hpa('seen')), 201);
  t.is((await call(server, 'GET', `${hpas('team')}/seen`, viewer)).status, 200);
  t.is((await call(server, 'GET', `${hpas('team', 'v1')}/seen`, viewer)).status, 200);
  t.is((await call(server, 'POST', hpas('team'), viewer, hpa('viewers'))).status, 403);
  t.is((await call(server, 'GET', `${hpas('team')}/viewers`, admin)).status, 404);
  t.is((await call(server, 'DELETE', `${hpas('team')}/seen`, viewer)).status, 403);
  t.is((await call(server, 'GET', `${hpas('team')}/seen`, admin)).status, 200);
});

test('a node and a user bound to nothing touch no autoscaler', async (t) => {
  for (const [who, identity] of [
    ['node', node],
    ['stranger', stranger],
  ] as const) {
    t.is((await call(server, 'GET', hpas('team'), identity)).status, 403, who);
    t.is((await call(server, 'POST', hpas('team'), identity, hpa(`by-${who}`))).status, 403, who);
    t.is((await call(server, 'GET', `${hpas('team')}/by-${who}`, admin)).status, 404, who);
  }
});

test('a malformed autoscaling/v1 annotation is 400, nothing is stored, and the server still answers', async (t) => {
  const reply = await call(server, 'POST', hpas('team', 'v1'), admin, {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'garbled', annotations: { 'autoscaling.alpha.kubernetes.io/metrics': '[{"type":' } },
    spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 2 },
  });
  t.is(reply.status, 400, JSON.stringify(reply.body));
  t.regex(String(reply.body.message), /autoscaling.alpha.kubernetes.io\/metrics/);
  t.is((await call(server, 'GET', `${hpas('team')}/garbled`, admin)).status, 404);
  const notList = await call(server, 'POST', hpas('team', 'v1'), admin, {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'garbled2', annotations: { 'autoscaling.alpha.kubernetes.io/metrics': '{"a":1}' } },
    spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, maxReplicas: 2 },
  });
  t.is(notList.status, 400);
  t.is((await call(server, 'GET', `${hpas('team')}/garbled2`, admin)).status, 404);
  t.is((await call(server, 'GET', '/version', admin)).status, 200);
  t.is((await call(server, 'GET', hpas('team'), admin)).status, 200);
});
