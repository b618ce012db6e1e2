/**
 * A server that reaches its cluster only through an egress proxy (`--kubelet-egress-socket`, as the
 * sandbox's server does and as upstream's egress selector sends cluster traffic) dials the pods
 * behind an APIService and behind an admission webhook's Service through that proxy too, as it
 * dials kubelets. The test's proxy records each CONNECT and carries it to one HTTPS server on
 * loopback; the endpoints name 127.0.0.2 on a port nothing listens on, so a direct dial would be
 * refused (and stay on this machine) while a dial through the proxy is served.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../controlplane/pki/certificates.ts';
import { adminCalls } from './admin-calls.ts';
import { sharedInProcess } from './in-process.ts';
import { waitFor } from '../helpers/wait.ts';
import { freePort } from './ports.ts';

type Json = Record<string, any>;

const socketDir = mkdtempSync(join(tmpdir(), `bosun-egress-${process.pid}-`));
const socketPath = join(socketDir, 'egress.sock');
/** CONNECT targets the server asked the proxy for, in order. */
const dialled: string[] = [];
let proxy: Server;
let backend: HttpsServer;
let backendPort = 0;
const open = new Set<Socket>();

const ca = createCertificateAuthority('egress-test-ca');
const serving = issueCertificate(ca, {
  commonName: 'ext.kube-system.svc',
  dnsNames: ['ext.kube-system.svc', 'hook.default.svc'],
  usage: 'server',
});
const group = 'egress.bosun.test';

function serveBackend(path: string, body: string): unknown {
  if (path === `/apis/${group}/v1`)
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: `${group}/v1`,
      resources: [{ name: 'things', singularName: 'thing', namespaced: true, kind: 'Thing', verbs: ['list'] }],
    };
  if (path === `/apis/${group}/v1/namespaces/default/things`)
    return { kind: 'ThingList', apiVersion: `${group}/v1`, metadata: {}, items: [] };
  if (path === '/validate') {
    const review = JSON.parse(body) as Json;
    const name = String(review.request?.object?.metadata?.name ?? '');
    return {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: {
        uid: review.request?.uid,
        allowed: !name.startsWith('deny-'),
        ...(name.startsWith('deny-') ? { status: { code: 403, message: 'denied by the pod' } } : {}),
      },
    };
  }
  return undefined;
}

test.before(async () => {
  backend = createHttpsServer(
    { key: serving.key, cert: serving.cert, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = serveBackend(new URL(req.url ?? '/', 'https://x').pathname, Buffer.concat(chunks).toString());
        res.writeHead(answer === undefined ? 404 : 200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(answer ?? { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404 }));
      });
    },
  );
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  backendPort = (backend.address() as AddressInfo).port;
  // the egress proxy: records the target, then carries the connection to the backend
  proxy = createServer((client) => {
    open.add(client);
    client.once('data', (head: Buffer) => {
      const target = /^CONNECT (\S+) HTTP/.exec(head.toString('latin1'))?.[1];
      if (target === undefined) return client.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n');
      dialled.push(target);
      const upstream = connect(backendPort, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        client.pipe(upstream).pipe(client);
      });
      open.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
  });
  await new Promise<void>((resolve) => proxy.listen(socketPath, resolve));
});

const shared = sharedInProcess(test, { kubeletEgressSocket: socketPath });
const { sendOk, send } = adminCalls(shared);

test.after.always(async () => {
  for (const socket of open) socket.destroy();
  backend?.closeAllConnections();
  await new Promise((resolve) => (backend ? backend.close(resolve) : resolve(undefined)));
  await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
  rmSync(socketDir, { recursive: true, force: true });
});

/** A Service with one ready endpoint at 127.0.0.2 on a port nothing serves. */
async function serviceAt(namespace: string, name: string): Promise<string> {
  const port = await freePort();
  await sendOk('POST', `/api/v1/namespaces/${namespace}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { ports: [{ name: 'https', port: 443, targetPort: port }] },
  });
  await sendOk('POST', `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-pods`, labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['127.0.0.2'], conditions: { ready: true } }],
    ports: [{ name: 'https', port, protocol: 'TCP' }],
  });
  return `127.0.0.2:${port}`;
}

test.serial('an APIService backed by pods is reached through the egress proxy', async (t) => {
  const endpoint = await serviceAt('kube-system', 'ext');
  await sendOk('POST', '/apis/apiregistration.k8s.io/v1/apiservices', {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: `v1.${group}` },
    spec: {
      group,
      version: 'v1',
      service: { namespace: 'kube-system', name: 'ext' },
      caBundle: Buffer.from(ca.cert).toString('base64'),
      groupPriorityMinimum: 100,
      versionPriority: 100,
    },
  });
  const condition = await waitFor(
    async () => {
      const object = await sendOk('GET', `/apis/apiregistration.k8s.io/v1/apiservices/v1.${group}`);
      const available = (object.status?.conditions ?? []).find((c: Json) => c.type === 'Available');
      return available?.status === 'True' ? available : undefined;
    },
    { what: 'the APIService to be Available', timeoutMs: 10_000, intervalMs: 100 },
  );
  t.is(condition.reason, 'Passed');
  const listed = await send('GET', `/apis/${group}/v1/namespaces/default/things`);
  t.is(listed.status, 200, JSON.stringify(listed.body));
  t.is(listed.body.kind, 'ThingList');
  t.true(dialled.includes(endpoint), `dialled through the proxy: ${dialled.join(', ')}`);
});

test.serial('an admission webhook behind a Service is called through the egress proxy', async (t) => {
  const endpoint = await serviceAt('default', 'hook');
  await sendOk('POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'egress-hook' },
    webhooks: [
      {
        name: `hook.${group}`,
        clientConfig: {
          service: { namespace: 'default', name: 'hook', path: '/validate' },
          caBundle: Buffer.from(ca.cert).toString('base64'),
        },
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
        failurePolicy: 'Fail',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 5,
      },
    ],
  });
  const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
  // the configuration reaches the admission cache a moment after it is written
  let attempt = 0;
  const denied = await waitFor(
    async () => {
      const reply = await send('POST', '/api/v1/namespaces/default/configmaps', configMap(`deny-${attempt++}`));
      return reply.status === 201 ? undefined : reply;
    },
    { what: 'the webhook to judge ConfigMaps', timeoutMs: 10_000, intervalMs: 100 },
  );
  t.is(denied.status, 403, JSON.stringify(denied.body));
  t.is(denied.body.message, `admission webhook "hook.${group}" denied the request: denied by the pod`);
  t.is((await send('POST', '/api/v1/namespaces/default/configmaps', configMap('allow-me'))).status, 201);
  t.true(dialled.includes(endpoint), `dialled through the proxy: ${dialled.join(', ')}`);
});
