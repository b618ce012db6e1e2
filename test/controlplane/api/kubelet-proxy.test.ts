/**
 * kubectl logs and kubectl exec reach the pod's node through the server: the request goes to the
 * node's kubelet address and port with the server's kubelet client certificate.
 */
import test from 'ava';
import { kubectl } from '../kubectl-scenario.ts';
import { startFakeKubelet, type FakeKubelet } from '../fake-kubelet.ts';
import { adminIdentity, call, startServerProcess, type ServerProcess } from '../server-process.ts';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority } from '../../../controlplane/pki/certificates.ts';

let server: ServerProcess | undefined;
let kubelet: FakeKubelet | undefined;
test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
  kubelet = await startFakeKubelet(server.dataDir);
  const admin = adminIdentity(server.dataDir);
  await call(server, 'POST', '/api/v1/nodes', admin, { metadata: { name: 'n1' } });
  await call(
    server,
    'PATCH',
    '/api/v1/nodes/n1/status',
    admin,
    {
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: kubelet.port } },
      },
    },
    'application/merge-patch+json',
  );
  await call(server, 'POST', '/api/v1/namespaces/default/pods', admin, {
    metadata: { name: 'p1' },
    spec: { nodeName: 'n1', containers: [{ name: 'main', image: 'img:1' }] },
  });
  await call(server, 'POST', '/api/v1/namespaces/default/pods', admin, {
    metadata: { name: 'two' },
    spec: {
      nodeName: 'n1',
      containers: [
        { name: 'a', image: 'img:1' },
        { name: 'b', image: 'img:1' },
      ],
    },
  });
  await call(server, 'POST', '/api/v1/namespaces/default/pods', admin, {
    metadata: { name: 'unbound' },
    spec: { containers: [{ name: 'a', image: 'img:1' }] },
  });
});
test.after.always(async () => {
  await kubelet?.close();
  await server?.destroy();
});

test.serial("kubectl logs streams the kubelet's answer, with the query passed on", async (t) => {
  const r = await kubectl(server!, ['logs', 'p1', '--tail=2']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'log line 1\nlog line 2\ntail=2\n');
  const seen = kubelet!.requests.at(-1)!;
  t.is(seen.clientCN, 'kube-apiserver-kubelet-client');
  t.regex(seen.path, /^\/containerLogs\/default\/p1\/main\?/);
});

test.serial('kubectl exec runs through to the kubelet over a websocket', async (t) => {
  const r = await kubectl(server!, ['exec', 'p1', '--', 'echo', 'hi']);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'ran: echo hi\n');
  const seen = kubelet!.requests.at(-1)!;
  t.regex(seen.path, /^\/exec\/default\/p1\/main\?.*command=echo&command=hi/);
  t.is(seen.clientCN, 'kube-apiserver-kubelet-client');
});

test('errors: no container named in a pod of two, an unbound pod, an unauthorized user', async (t) => {
  // kubectl picks a container itself; a raw client that names none gets told which exist.
  const two = await call(server!, 'GET', '/api/v1/namespaces/default/pods/two/log', adminIdentity(server!.dataDir));
  t.is(two.status, 400);
  t.regex(two.body.message, /a container name must be specified for pod two, choose one of: \[a b\]/);
  const unbound = await kubectl(server!, ['logs', 'unbound']);
  t.regex(unbound.stderr, /does not have a host assigned/);
  const anonymous = await call(server!, 'GET', '/api/v1/namespaces/default/pods/p1/log');
  t.is(anonymous.status, 403);
  // Alice may read pods but not exec into them.
  const admin = adminIdentity(server!.dataDir);
  await call(server!, 'POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', admin, {
    metadata: { name: 'alice-view' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [{ kind: 'User', name: 'alice' }],
  });
  let viaAlice = await kubectl(server!, ['exec', 'p1', '--as=alice', '--', 'true']);
  for (let i = 0; i < 50 && /cannot get resource "pods"/.test(viaAlice.stderr); i++) {
    await new Promise((r) => setTimeout(r, 100)); // the policy reload after the new binding
    viaAlice = await kubectl(server!, ['exec', 'p1', '--as=alice', '--', 'true']);
  }
  t.not(viaAlice.code, 0);
  t.regex(viaAlice.stderr, /cannot create resource "pods\/exec"/i);
});

test('a node address or kubelet port a node writes is dialled only when it is one: no CONNECT line, no host, from hostile text', async (t) => {
  const { kubeletAddress } = await import('../../../controlplane/api/kubelet-proxy.ts');
  const nodeWith = (address: string, port?: unknown) => ({
    metadata: { name: 'n1' },
    status: {
      addresses: [{ type: 'InternalIP', address }],
      ...(port === undefined ? {} : { daemonEndpoints: { kubeletEndpoint: { Port: port } } }),
    },
  });
  t.deepEqual(kubeletAddress(nodeWith('10.0.0.5')), { host: '10.0.0.5', port: 10250 });
  t.deepEqual(kubeletAddress(nodeWith('node-1.example', 11250)), { host: 'node-1.example', port: 11250 });
  for (const hostile of ['10.0.0.5:6443 HTTP/1.1\r\nX-Injected: 1\r\n', '"quoted"', '../../etc', 'a'.repeat(1 << 20)]) {
    const err = t.throws(() => kubeletAddress(nodeWith(hostile)));
    t.regex(err?.message ?? '', /neither an IP nor a host name/);
    t.true((err?.message.length ?? 0) < 300, 'the refusal does not echo a 1 MB address');
  }
  for (const port of [70000, -1, 1.5, '10250\r\n', 'x'.repeat(1 << 20)])
    t.regex(t.throws(() => kubeletAddress(nodeWith('10.0.0.5', port)))?.message ?? '', /not a port number/);
});

test.serial('a kubelet port whose certificate the cluster CA did not sign is never spoken to', async (t) => {
  // an impostor on a node's kubelet address: its serving certificate comes from a CA of its own
  const folder = mkdtempSync(join(tmpdir(), 'bosun-impostor-'));
  t.teardown(() => rmSync(folder, { recursive: true, force: true }));
  const otherCa = createCertificateAuthority('impostor-ca');
  mkdirSync(join(folder, 'pki'));
  writeFileSync(join(folder, 'pki/ca.crt'), otherCa.cert);
  writeFileSync(join(folder, 'pki/ca.key'), otherCa.key);
  const impostor = await startFakeKubelet(folder);
  t.teardown(() => impostor.close());
  const admin = adminIdentity(server!.dataDir);
  await call(server!, 'POST', '/api/v1/nodes', admin, { metadata: { name: 'n2' } });
  await call(
    server!,
    'PATCH',
    '/api/v1/nodes/n2/status',
    admin,
    {
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: impostor.port } },
      },
    },
    'application/merge-patch+json',
  );
  await call(server!, 'POST', '/api/v1/namespaces/default/pods', admin, {
    metadata: { name: 'on-n2' },
    spec: { nodeName: 'n2', containers: [{ name: 'main', image: 'img:1' }] },
  });
  const logs = await call(server!, 'GET', '/api/v1/namespaces/default/pods/on-n2/log?container=main', admin);
  t.is(logs.status, 503);
  t.regex(logs.body.message, /the kubelet at 127\.0\.0\.1:\d+ is not reachable: .*certificate/);
  t.deepEqual(impostor.requests, [], 'no request reached the impostor');
  // the real kubelet is still reached with the same client identity afterwards
  const r = await kubectl(server!, ['logs', 'p1', '--tail=1']);
  t.is(r.code, 0, r.stderr);
  t.is(kubelet!.requests.at(-1)!.clientCN, 'kube-apiserver-kubelet-client');
});
