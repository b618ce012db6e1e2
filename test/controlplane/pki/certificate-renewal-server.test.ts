/**
 * A running server renews its own certificates in place: started with certificates that last
 * seconds, it serves a renewed certificate to new TLS handshakes while a client keeps working and
 * connections already open keep theirs, rewrites admin.kubeconfig with a renewed admin certificate,
 * and reaches kubelets (and itself, from its certificate loop) with renewed client certificates once
 * the first ones have expired. A client certificate that has expired is refused, also on a
 * connection opened while it was valid.
 */
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Agent, request, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { KubeClient } from '../../../kube/client.ts';
import { refs } from '../../../kube/resource-ref.ts';
import { loadKubeconfig } from '../../../kube/kubeconfig.ts';
import { keyMatchesCertificate } from '../../../kube/key-pair-files.ts';
import { createBootstrapToken } from '../../../host/init/bootstrap-token.ts';
import { waitClusterInfoSigned } from '../../../host/init/wait-cluster-info.ts';
import { issueCertificate } from '../../../controlplane/pki/certificates.ts';
import { startFakeKubelet, type FakeKubelet } from '../fake-kubelet.ts';
import { startInProcess, type InProcessServer } from '../in-process.ts';
import { waitFor } from '../ports.ts';
import { call, userIdentity, type Identity } from '../server-process.ts';

const lifetimeMs = 8_000;
let server: InProcessServer | undefined;
let kubelet: FakeKubelet | undefined;
let tester: Identity;
const copyDir = mkdtempSync(join(tmpdir(), `bosun-certrenew-copy-${process.pid}-`));
// bosun init's copy of admin.kubeconfig, in the config folder
const copy = join(copyDir, 'admin.kubeconfig');
test.before(async () => {
  server = await startInProcess({
    certificates: { certificateLifetimeMs: lifetimeMs, certificateCheckIntervalMs: 200, adminKubeconfigCopies: [copy] },
  });
  kubelet = await startFakeKubelet(server.dataDir);
  // a client of its own, valid for a year: the admin certificate is one of those being renewed
  tester = userIdentity(server.dataDir, 'tester', ['system:masters']);
  const at = { dataDir: server.dataDir, port: server.server.port };
  await call(at, 'POST', '/api/v1/nodes', tester, { metadata: { name: 'n1' } });
  await call(
    at,
    'PATCH',
    '/api/v1/nodes/n1/status',
    tester,
    {
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: kubelet.port } },
      },
    },
    'application/merge-patch+json',
  );
  await call(at, 'POST', '/api/v1/namespaces/default/pods', tester, {
    metadata: { name: 'p1' },
    spec: { nodeName: 'n1', containers: [{ name: 'main', image: 'img:1' }] },
  });
});
test.after.always(async () => {
  await kubelet?.close();
  await server?.destroy();
  rmSync(copyDir, { recursive: true, force: true });
});

const caPem = () => readFileSync(join(server!.dataDir, 'pki', 'ca.crt'), 'utf8');
const serialOf = (pem: string) => new X509Certificate(pem).serialNumber;

/** The serial of the certificate a new TLS handshake gets. */
function handshakeSerial(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server!.server.port, ca: caPem() }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.once('error', reject);
  });
}

/** One GET with the tester's identity; its status, body and the connection it went over. */
function get(
  path: string,
  agent: Agent | false,
): Promise<{ status: number; body: string; socket: TLSSocket; serving: string }> {
  const options: RequestOptions = {
    host: '127.0.0.1',
    port: server!.server.port,
    path,
    ca: caPem(),
    cert: tester.cert,
    key: tester.key,
    agent,
  };
  return new Promise((resolve, reject) => {
    request(options, (res) => {
      // read now: a kept-alive connection leaves the response when it goes back to the pool
      const socket = res.socket as TLSSocket;
      const serving = socket.getPeerCertificate().serialNumber;
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, socket, serving }));
    })
      .on('error', reject)
      .end();
  });
}

test('the serving, admin and kubelet-client certificates are renewed while the server runs; clients keep working', async (t) => {
  const first = {
    serving: await handshakeSerial(),
    admin: serialOf(loadKubeconfig(server!.server.kubeconfigPath).client.cert!),
  };
  const firstExpiry = Date.parse(
    new X509Certificate(readFileSync(join(server!.dataDir, 'pki', 'apiserver.crt'), 'utf8')).validTo,
  );
  // a connection opened before the renewal, kept open
  const kept = new Agent({ keepAlive: true, maxSockets: 1, ca: caPem(), cert: tester.cert!, key: tester.key! });
  const before = await get('/api/v1/namespaces/default', kept);
  t.is(before.status, 200);
  t.is(before.serving, first.serving);

  // a client that keeps asking, each time over a new connection, through the renewals
  let stop = false;
  t.teardown(() => (stop = true));
  const outcomes: string[] = [];
  const busy = (async () => {
    while (!stop) {
      try {
        outcomes.push(String((await get('/api/v1/namespaces/default', false)).status));
      } catch (err) {
        outcomes.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  let renewed = first.serving;
  await waitFor(
    'a new handshake to get a renewed serving certificate',
    async () => (renewed = await handshakeSerial()) !== first.serving,
    20_000,
  );
  t.not(renewed, first.serving);
  // the connection opened before goes on with the certificate it started with
  const after = await get('/api/v1/namespaces/default', kept);
  t.is(after.status, 200);
  t.is(after.socket, before.socket, 'the same connection');
  t.is(after.serving, first.serving);

  // admin.kubeconfig holds a renewed admin certificate, with its key, and works
  await waitFor(
    'admin.kubeconfig to be rewritten',
    () => serialOf(loadKubeconfig(server!.server.kubeconfigPath).client.cert!) !== first.admin,
    20_000,
  );
  const admin = loadKubeconfig(server!.server.kubeconfigPath).client;
  t.true(keyMatchesCertificate({ cert: admin.cert!, key: admin.key! }));
  t.is(readFileSync(copy, 'utf8'), readFileSync(server!.server.kubeconfigPath, 'utf8'), "bosun init's copy follows");
  const adminClient = new KubeClient(admin);
  t.is((await adminClient.get(refs.namespaces, 'default')).metadata.name, 'default');
  adminClient.close();

  // once the first certificates have expired: new handshakes still succeed, and the server reaches
  // the kubelet (which refuses expired client certificates) with its renewed one
  await new Promise((r) => setTimeout(r, Math.max(0, firstExpiry + 500 - Date.now())));
  t.not(await handshakeSerial(), first.serving);
  const logs = await get('/api/v1/namespaces/default/pods/p1/log', false);
  t.is(logs.status, 200, logs.body);
  t.is(logs.body, 'log line 1\nlog line 2\ntail=\n');
  // the certificate loop signs cluster-info for a new token: it writes with the renewed admin identity
  const testerClient = new KubeClient({
    server: server!.server.url,
    ca: caPem(),
    cert: tester.cert!,
    key: tester.key!,
  });
  const token = await createBootstrapToken(testerClient, {
    ttlSeconds: 600,
    usages: ['signing', 'authentication'],
    groups: [],
    description: 'renewal test',
  });
  await waitClusterInfoSigned(testerClient, token, 15_000);
  testerClient.close();

  stop = true;
  await busy;
  kept.destroy();
  t.true(outcomes.length > 20, `${outcomes.length} requests`);
  t.deepEqual(
    outcomes.filter((o) => o !== '200'),
    [],
    'every request of the busy client succeeded',
  );
});

test('a client certificate that expires is refused from then on (401), also on a connection opened while it was valid', async (t) => {
  const ca = { cert: caPem(), key: readFileSync(join(server!.dataDir, 'pki', 'ca.key'), 'utf8') };
  const brief = issueCertificate(ca, {
    commonName: 'brief',
    organizations: ['system:masters'],
    usage: 'client',
    lifetimeMs: 2_000,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: ca.cert, cert: brief.cert, key: brief.key });
  t.teardown(() => agent.destroy());
  const ask = (over: Agent | false) =>
    new Promise<{ status: number; body: string; socket: TLSSocket }>((resolve, reject) => {
      request(
        {
          host: '127.0.0.1',
          port: server!.server.port,
          path: '/api/v1/namespaces/default',
          ca: ca.cert,
          cert: brief.cert,
          key: brief.key,
          agent: over,
        },
        (res) => {
          const socket = res.socket as TLSSocket;
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, socket }));
        },
      )
        .on('error', reject)
        .end();
    });
  const valid = await ask(agent);
  t.is(valid.status, 200);
  await new Promise((r) =>
    setTimeout(r, Math.max(0, Date.parse(new X509Certificate(brief.cert).validTo) + 1_100 - Date.now())),
  );
  const kept = await ask(agent);
  t.is(kept.socket, valid.socket, 'the same connection');
  t.is(kept.status, 401);
  t.like(JSON.parse(kept.body), { kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
  // a new connection with it: 401 too, not an anonymous request
  t.is((await ask(false)).status, 401);
  // and the server goes on answering valid clients
  t.is(
    (await call({ dataDir: server!.dataDir, port: server!.server.port }, 'GET', '/api/v1/namespaces/default', tester))
      .status,
    200,
  );
});
