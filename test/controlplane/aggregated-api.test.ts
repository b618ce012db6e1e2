/**
 * An aggregated API server (metrics-server style) behind a Service: the test runs it on loopback
 * with a CA of its own, reached through a Service whose hand-written EndpointSlice points at
 * 127.0.0.1, so that every installed kubectl can be tried quickly (test/e2e/aggregated-api.test.ts
 * runs one as a real pod on a sandbox node). Like a stock extension server it trusts callers only
 * as the front proxy presents them: a client certificate of the CA and name published in
 * kube-system/extension-apiserver-authentication, with the user in X-Remote-User/X-Remote-Group.
 * The APIService becomes Available, kubectl discovers and reads its resources, a user without
 * rights is refused before anything is sent on, and an APIService without endpoints is not
 * Available and answers 503.
 */
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createCertificateAuthority, issueCertificate } from '../../controlplane/pki/certificates.ts';
import { userIdentity } from './server-process.ts';
import { installedKubectlReleases } from './kubectl-releases.ts';
import { sharedInProcess } from './in-process.ts';
import { adminCalls, adminKubectl } from './admin-calls.ts';

type Any = Record<string, any>;

const shared = sharedInProcess(test);
const { send, sendOk } = adminCalls(shared);
const kubectlOf = adminKubectl(shared);
const group = 'metrics.example.com';
const groupVersion = `${group}/v1beta1`;

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return kubectlOf('kubectl', ...args);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// ---- the extension server ----

const ca = createCertificateAuthority('extension-test-ca');
const serving = issueCertificate(ca, {
  commonName: 'extension.kube-system.svc',
  dnsNames: ['extension.kube-system.svc'],
  usage: 'server',
});
/** What the extension server saw of each request it served. */
const seen: Array<{ path: string; user: unknown; groups: unknown; authorization: unknown; peer: string }> = [];
let extension: Server;
let extensionPort = 0;

const resourceList = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion,
  resources: [{ name: 'widgets', singularName: 'widget', namespaced: true, kind: 'Widget', verbs: ['get', 'list'] }],
};

/** Starts the extension server, trusting the front proxy as the published ConfigMap says. */
async function startExtension(): Promise<void> {
  const published = (
    await sendOk('GET', '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication')
  ).data as Record<string, string>;
  const allowedNames: string[] = JSON.parse(published['requestheader-allowed-names']!);
  const [userHeader] = JSON.parse(published['requestheader-username-headers']!) as string[];
  const [groupHeader] = JSON.parse(published['requestheader-group-headers']!) as string[];
  extension = createServer(
    {
      key: serving.key,
      cert: serving.cert,
      requestCert: true,
      rejectUnauthorized: false,
      ca: published['requestheader-client-ca-file'],
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerX509Certificate?.() as X509Certificate | undefined;
      const peerName = /CN=([^\n,]+)/.exec(peer?.subject ?? '')?.[1] ?? '';
      if (!socket.authorized || !allowedNames.includes(peerName)) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 401, reason: 'Unauthorized' }),
        );
        return;
      }
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      const user = req.headers[userHeader!.toLowerCase()];
      const groups = req.headers[groupHeader!.toLowerCase()];
      seen.push({ path, user, groups, authorization: req.headers.authorization, peer: peerName });
      res.setHeader('Content-Type', 'application/json');
      if (path === `/apis/${groupVersion}`) return res.end(JSON.stringify(resourceList));
      if (path === `/apis/${groupVersion}/namespaces/default/widgets`)
        return res.end(
          JSON.stringify({
            kind: 'WidgetList',
            apiVersion: groupVersion,
            metadata: {},
            items: [
              {
                kind: 'Widget',
                apiVersion: groupVersion,
                metadata: { name: 'w1', namespace: 'default' },
                seenAs: { user, groups },
              },
            ],
          }),
        );
      res.writeHead(404);
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound' }));
    },
  );
  await new Promise<void>((resolve) => extension.listen(0, '127.0.0.1', resolve));
  extensionPort = (extension.address() as AddressInfo).port;
}

test.after.always(async () => {
  extension?.closeAllConnections();
  await new Promise((resolve) => (extension ? extension.close(resolve) : resolve(undefined)));
});

function apiService(name: string, version: string, service: Any, extra: Any = {}): Any {
  return {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name },
    spec: { group, version, service, groupPriorityMinimum: 100, versionPriority: 100, ...extra },
  };
}

function availableOf(object: Any): Any | undefined {
  return (object.status?.conditions ?? []).find((c: Any) => c.type === 'Available');
}

/** The extension server and its registration, made once before the first test that needs them. */
let registered: Promise<void> | undefined;
const ready = () => (registered ??= register());

async function register(): Promise<void> {
  await startExtension();
  await sendOk('POST', '/api/v1/namespaces/kube-system/services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'extension' },
    spec: { ports: [{ name: 'https', port: 443, targetPort: 4443 }] },
  });
  await sendOk('POST', '/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'extension-manual', labels: { 'kubernetes.io/service-name': 'extension' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
    ports: [{ name: 'https', port: extensionPort, protocol: 'TCP' }],
  });
  await sendOk(
    'POST',
    '/apis/apiregistration.k8s.io/v1/apiservices',
    apiService(
      `v1beta1.${group}`,
      'v1beta1',
      { namespace: 'kube-system', name: 'extension' },
      {
        caBundle: Buffer.from(ca.cert).toString('base64'),
      },
    ),
  );
}

test.serial('the server publishes how extension servers authenticate it, and who may read that', async (t) => {
  await ready();
  const configMap = await sendOk('GET', '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication');
  t.deepEqual(JSON.parse(configMap.data['requestheader-allowed-names']), ['front-proxy-client']);
  t.deepEqual(JSON.parse(configMap.data['requestheader-extra-headers-prefix']), ['X-Remote-Extra-']);
  t.true(configMap.data['client-ca-file'].includes('BEGIN CERTIFICATE'));
  t.not(configMap.data['requestheader-client-ca-file'], configMap.data['client-ca-file'], 'a CA of its own');
  const reader = await sendOk(
    'GET',
    '/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/roles/extension-apiserver-authentication-reader',
  );
  t.deepEqual(reader.rules[0].resourceNames, ['extension-apiserver-authentication']);
  t.is((await send('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:auth-delegator')).status, 200);
});

test.serial('the APIService becomes Available once its backend answers discovery', async (t) => {
  await ready();
  const stored = await until('Available=True', async () => {
    const object = await sendOk('GET', `/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.${group}`);
    return availableOf(object)?.status === 'True' ? object : undefined;
  });
  t.like(availableOf(stored), { status: 'True', reason: 'Passed', message: 'all checks passed' });
  const listed = await kubectl('get', 'apiservices', `v1beta1.${group}`);
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, new RegExp(`v1beta1\\.metrics\\.example\\.com\\s+kube-system/extension\\s+True`));
});

test.serial('kubectl discovers the aggregated resources and reads them through the server', async (t) => {
  const raw = await kubectl('get', '--raw', `/apis/${groupVersion}`);
  t.is(raw.code, 0, raw.stderr);
  t.deepEqual(
    JSON.parse(raw.stdout).resources.map((r: Any) => r.name),
    ['widgets'],
  );
  const groups = await sendOk('GET', '/apis');
  t.true(
    groups.groups.some((g: Any) => g.name === group),
    'legacy discovery lists the group',
  );
  t.like(await sendOk('GET', `/apis/${group}`), { kind: 'APIGroup', name: group, preferredVersion: { groupVersion } });
  const resources = await kubectl('api-resources', `--api-group=${group}`);
  t.is(resources.code, 0, resources.stderr);
  t.regex(resources.stdout, /widgets\s+metrics\.example\.com\/v1beta1\s+true\s+Widget/);
  const before = seen.length;
  const listed = await send('GET', `/apis/${groupVersion}/namespaces/default/widgets`, undefined, undefined, {
    'X-Remote-User': 'someone-else',
    'X-Remote-Group': 'system:masters',
  });
  t.is(listed.status, 200, JSON.stringify(listed.body));
  const served = seen.slice(before).find((s) => s.path.endsWith('/widgets'))!;
  t.is(served.peer, 'front-proxy-client');
  t.is(served.authorization, undefined, 'the caller credentials stay with this server');
  t.is(served.user, 'kubernetes-admin');
  t.true(String(served.groups).includes('system:masters'));
  t.false(String(served.user).includes('someone-else'), 'identity headers sent by the client are dropped');
});

test.serial('a user without rights on the group is refused before anything is sent on', async (t) => {
  await ready();
  const { dataDir } = shared.server();
  const before = seen.length;
  const reply = await send(
    'GET',
    `/apis/${groupVersion}/namespaces/default/widgets`,
    undefined,
    userIdentity(dataDir, 'nobody'),
  );
  t.is(reply.status, 403);
  t.is(
    reply.body.message,
    'widgets is forbidden: User "nobody" cannot list resource "widgets" in API group "metrics.example.com" in the namespace "default"',
  );
  t.is(seen.length, before, 'the extension server saw nothing');
});

test.serial('an APIService whose Service has no endpoints is not Available and answers 503', async (t) => {
  await ready();
  await sendOk('POST', '/api/v1/namespaces/kube-system/services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'nowhere' },
    spec: { ports: [{ name: 'https', port: 443, targetPort: 4443 }] },
  });
  await sendOk(
    'POST',
    '/apis/apiregistration.k8s.io/v1/apiservices',
    apiService(
      `v1alpha1.${group}`,
      'v1alpha1',
      { namespace: 'kube-system', name: 'nowhere' },
      { insecureSkipTLSVerify: true },
    ),
  );
  const condition = await until('Available=False', async () => {
    const object = await sendOk('GET', `/apis/apiregistration.k8s.io/v1/apiservices/v1alpha1.${group}`);
    return availableOf(object)?.status === 'False' ? availableOf(object) : undefined;
  });
  t.like(condition, {
    reason: 'MissingEndpoints',
    message: 'endpoints for service/nowhere in "kube-system" have no addresses with port name "https"',
  });
  const reply = await send('GET', `/apis/${group}/v1alpha1/namespaces/default/widgets`);
  t.is(reply.status, 503);
  t.is(reply.body, 'service unavailable\n');
  t.is((await send('GET', '/api/v1/namespaces')).status, 200, 'the server still answers');
});

for (const { release, binary } of installedKubectlReleases()) {
  test.serial(`kubectl ${release} lists and reads the aggregated resources`, async (t) => {
    await ready();
    await until('Available=True', async () => {
      const object = await sendOk('GET', `/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.${group}`);
      return availableOf(object)?.status === 'True' ? object : undefined;
    });
    const resources = await kubectlOf(binary, 'api-resources', `--api-group=${group}`);
    t.is(resources.code, 0, resources.stderr);
    t.regex(resources.stdout, /widgets\s+metrics\.example\.com\/v1beta1\s+true\s+Widget/);
    const widgets = await kubectlOf(binary, 'get', 'widgets', '-n', 'default', '-o', 'name');
    t.is(widgets.code, 0, widgets.stderr);
    t.is(widgets.stdout.trim(), 'widget.metrics.example.com/w1');
  });
}

test.serial('the built-in groups are listed as Local APIServices, always available', async (t) => {
  const apps = await until('v1.apps to be Available', async () => {
    const object = await sendOk('GET', '/apis/apiregistration.k8s.io/v1/apiservices/v1.apps');
    return availableOf(object)?.status === 'True' ? object : undefined;
  });
  t.like(apps.spec, { group: 'apps', version: 'v1', groupPriorityMinimum: 17800, versionPriority: 15 });
  t.like(availableOf(apps), { reason: 'Local', message: 'Local APIServices are always available' });
  const listed = await kubectl('get', 'apiservices');
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, /^v1\.\s+Local\s+True/m);
  t.regex(listed.stdout, /^v1\.rbac\.authorization\.k8s\.io\s+Local\s+True/m);
});
