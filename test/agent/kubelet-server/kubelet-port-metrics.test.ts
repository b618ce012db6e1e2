/**
 * The kubelet port's request counter against a client that sends random paths: the number of
 * series stays bounded (known paths, `other`, and one `unauthorized` bucket for clients without
 * credentials), and the counter is kept after authentication. A real HTTPS server on loopback with
 * certificates from a test CA; the authorizer's access reviews always allow.
 */
import test from 'ava';
import { request, Agent } from 'node:https';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { KubeletServer } from '../../../agent/kubelet-server/server.ts';
import { KubeletAuthorizer } from '../../../agent/kubelet-server/authorization.ts';
import { requestLabels } from '../../../agent/kubelet-server/request-labels.ts';
import { FakeRuntime } from '../../../cri/fake.ts';
import { createCertificateAuthority, issueCertificate } from '../../../controlplane/pki/certificates.ts';

const ca = createCertificateAuthority('kubelet-metrics-test-ca');
const serving = issueCertificate(ca, { commonName: 'node-1', ipAddresses: ['127.0.0.1'], usage: 'server' });
const client = issueCertificate(ca, {
  commonName: 'kube-apiserver-kubelet-client',
  organizations: ['system:masters'],
  usage: 'client',
});
const server = new KubeletServer({
  nodeName: 'node-1',
  address: '127.0.0.1',
  port: 0,
  tls: { cert: serving.cert, key: serving.key, ca: ca.cert },
  runtime: new FakeRuntime(),
  pods: () => [],
  authorizer: new KubeletAuthorizer({ allowed: async () => true }, 'node-1'),
  podLogDir: '/nonexistent',
  rootDir: '/nonexistent',
  log: pino({ level: 'silent' }),
});
let port = 0;
const withCert = new Agent({ keepAlive: true, maxSockets: 8, ca: ca.cert, cert: client.cert, key: client.key });
const anonymous = new Agent({ keepAlive: true, maxSockets: 8, ca: ca.cert });

test.before(async () => {
  port = await server.listen();
});

test.after.always(async () => {
  withCert.destroy();
  anonymous.destroy();
  await server.close();
});

function send(agent: Agent, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent, servername: undefined }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function randomPath(): string {
  return `/${randomBytes(6).toString('hex')}/${randomBytes(3).toString('hex')}`;
}

test.serial(
  '1,000 random paths add a bounded number of series; unauthenticated ones count as one bucket',
  async (t) => {
    const batches = Array.from({ length: 20 }, (_, batch) =>
      Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const authenticated = (batch * 50 + i) % 2 === 0;
          const { status } = await send(authenticated ? withCert : anonymous, randomPath());
          t.is(status, authenticated ? 404 : 401);
        }),
      ),
    );
    for (const batch of batches) await batch;
    const metrics = await send(withCert, '/metrics');
    t.is(metrics.status, 200);
    const series = metrics.body.split('\n').filter((line) => line.startsWith('kubelet_http_requests_total{'));
    t.true(series.length <= 4, series.join('\n'));
    t.true(
      series.some(
        (line) => line.includes('path="unauthorized"') && line.includes('code="401"') && line.endsWith(' 500'),
      ),
      series.join('\n'),
    );
    t.true(
      series.some((line) => line.includes('path="other"') && line.includes('code="404"') && line.endsWith(' 500')),
      series.join('\n'),
    );
  },
);

test.serial('paths the port serves keep their own label', async (t) => {
  t.is((await send(withCert, '/healthz')).status, 200);
  const metrics = await send(withCert, '/metrics');
  t.regex(
    metrics.body,
    /kubelet_http_requests_total\{method="GET",path="healthz",server_type="readwrite",code="200"\} 1/,
  );
});

test.serial('/metrics carries the process_* family every upstream component exposes', async (t) => {
  const { body } = await send(withCert, '/metrics');
  t.regex(body, /^# TYPE process_cpu_seconds_total counter$/m);
  t.regex(body, /^process_resident_memory_bytes [1-9]\d*$/m);
  t.regex(body, /^process_start_time_seconds [1-9]\d*$/m);
  t.regex(body, /^process_open_fds [1-9]\d*$/m);
});

test.serial("a path with a broken escape is the client's mistake (400), and the port keeps answering", async (t) => {
  const broken = await send(withCert, '/containerLogs/%zz/x/y');
  t.is(broken.status, 400);
  t.is((await send(withCert, '/healthz')).status, 200);
});

test('the labels come from fixed sets whatever the request says', (t) => {
  t.deepEqual(requestLabels('GET', '/pods', 200, true), { method: 'GET', path: 'pods', code: '200' });
  t.deepEqual(requestLabels('GET', '/', 404, true), { method: 'GET', path: '/', code: '404' });
  t.deepEqual(requestLabels('GET', '/pods', 401, false), { method: 'GET', path: 'unauthorized', code: '401' });
  t.deepEqual(requestLabels('BREW', '/x\n"y', 404, true), { method: 'other', path: 'other', code: '404' });
  t.deepEqual(requestLabels('GET', '/metrics', 0, true), { method: 'GET', path: 'metrics', code: 'other' });
});
