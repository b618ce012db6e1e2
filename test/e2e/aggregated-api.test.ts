/**
 * An aggregated API server in a pod, as metrics-server runs: extension-apiserver.ts served by the
 * project's Node binary (mounted read-only from the host with the libraries it links, since the
 * sandbox has no image that carries Node) in a pod on a sandbox node, behind a Service, registered
 * by an APIService whose caBundle is the test's own CA. The server reaches the pod as it reaches
 * kubelets: through its egress proxy into the sandbox network, which routes pod subnets to their
 * nodes. kubectl discovers and reads the group through the aggregator; the pod sees callers only
 * as the front proxy names them; the APIService goes unavailable when the pod is deleted and
 * available again when it is back.
 */
import test from 'ava';
import { copyFileSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../controlplane/pki/certificates.ts';
import { run } from '../../host/process/run.ts';
import type { Sandbox } from '../../sandbox/sandbox.ts';
import { sandboxImages } from '../../sandbox/names.ts';
import { kubectl as runKubectl, kubectlOk } from '../bed/kubectl.ts';
import { createTestSandbox } from '../bed/index.ts';
import { installedKubectlReleases } from '../controlplane/kubectl-releases.ts';
import { adminIdentity, call } from '../controlplane/server-process.ts';
import { waitFor } from '../helpers/wait.ts';

type Json = Record<string, any>;

const group = 'fleet.bosun.test';
const groupVersion = `${group}/v1alpha1`;
const apiServiceName = `v1alpha1.${group}`;
const namespace = 'fleet-system';
const newest = installedKubectlReleases().at(-1);
const clients = ['kubectl', ...(newest ? [newest.binary] : [])];

let sandbox: Sandbox | undefined;
let kubeconfig = '';
let controlPlane = { dataDir: '', port: 0 };
/** The folder the pod mounts at /ext: its script, configuration, TLS files and Node's libraries. */
let extensionDir = '';
/** The folder of the Node binary, mounted at /node. */
const nodeDir = dirname(realpathSync(process.execPath));

const kubectl = (args: string[], input?: string, binary = 'kubectl') =>
  kubectlOk({ kubeconfig, binary, input, timeoutMs: 90_000 }, args);

/** Copies the shared libraries the Node binary links (and the loader) into `folder`. */
async function copyNodeLibraries(folder: string): Promise<void> {
  const listed = await run(['ldd', realpathSync(process.execPath)]);
  const paths = [...listed.stdout.matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) => m[1]!);
  mkdirSync(folder, { recursive: true });
  for (const path of new Set(paths)) copyFileSync(realpathSync(path), join(folder, basename(path)));
}

const ca = createCertificateAuthority('fleet-test-ca');

async function prepareExtension(): Promise<void> {
  extensionDir = join(sandbox!.stateDir, 'extension');
  await copyNodeLibraries(join(extensionDir, 'lib'));
  copyFileSync(join(import.meta.dirname, 'extension-apiserver.ts'), join(extensionDir, 'server.ts'));
  const serving = issueCertificate(ca, {
    commonName: `fleet-api.${namespace}.svc`,
    dnsNames: [`fleet-api.${namespace}.svc`],
    usage: 'server',
  });
  writeFileSync(join(extensionDir, 'tls.key'), serving.key, { mode: 0o600 });
  writeFileSync(join(extensionDir, 'tls.crt'), serving.cert);
  // the trust a stock extension server reads from the published ConfigMap
  const published = JSON.parse(
    await kubectl(['get', 'configmap', '-n', 'kube-system', 'extension-apiserver-authentication', '-o', 'json']),
  ).data as Record<string, string>;
  writeFileSync(join(extensionDir, 'front-proxy-ca.crt'), published['requestheader-client-ca-file']!);
  writeFileSync(
    join(extensionDir, 'config.json'),
    JSON.stringify({
      groupVersion,
      port: 4443,
      key: '/ext/tls.key',
      cert: '/ext/tls.crt',
      clientCA: '/ext/front-proxy-ca.crt',
      allowedNames: JSON.parse(published['requestheader-allowed-names']!),
      userHeaders: JSON.parse(published['requestheader-username-headers']!),
      groupHeaders: JSON.parse(published['requestheader-group-headers']!),
    }),
  );
}

const extensionPod = `apiVersion: v1
kind: Pod
metadata: {name: fleet-api, namespace: ${namespace}, labels: {app: fleet-api}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: server
    image: ${sandboxImages.busybox}
    command: [/ext/lib/ld-linux-x86-64.so.2, --library-path, /ext/lib, /node/node, /ext/server.ts, /ext/config.json]
    ports: [{name: https, containerPort: 4443}]
    readinessProbe: {tcpSocket: {port: 4443}, periodSeconds: 1}
    volumeMounts:
    - {name: ext, mountPath: /ext, readOnly: true}
    - {name: node, mountPath: /node, readOnly: true}
  volumes:
  - {name: ext, hostPath: {path: EXT, type: Directory}}
  - {name: node, hostPath: {path: NODE, type: Directory}}
`;

const registration = () => `apiVersion: v1
kind: Service
metadata: {name: fleet-api, namespace: ${namespace}}
spec:
  selector: {app: fleet-api}
  ports: [{name: https, port: 443, targetPort: https}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: ${apiServiceName}}
spec:
  group: ${group}
  version: v1alpha1
  groupPriorityMinimum: 1000
  versionPriority: 15
  service: {namespace: ${namespace}, name: fleet-api}
  caBundle: ${Buffer.from(ca.cert).toString('base64')}
`;

async function startPod(): Promise<Json> {
  await kubectl(['apply', '-f', '-'], extensionPod.replace('EXT', extensionDir).replace('NODE', nodeDir));
  await waitFor(
    async () => {
      const pod = JSON.parse(await kubectl(['get', 'pod', '-n', namespace, 'fleet-api', '-o', 'json']));
      return (pod.status?.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True');
    },
    { what: 'the extension pod to be Ready', timeoutMs: 90_000, intervalMs: 500 },
  );
  return JSON.parse(await kubectl(['get', 'pod', '-n', namespace, 'fleet-api', '-o', 'json']));
}

async function available(): Promise<Json | undefined> {
  const apiService = JSON.parse(await kubectl(['get', 'apiservice', apiServiceName, '-o', 'json']));
  return (apiService.status?.conditions ?? []).find((c: Json) => c.type === 'Available');
}

const availableIs = (status: 'True' | 'False', timeoutMs = 30_000) =>
  waitFor(async () => ((await available())?.status === status ? available() : undefined), {
    what: `APIService ${apiServiceName} Available=${status}`,
    timeoutMs,
    intervalMs: 250,
  });

test.before(async () => {
  sandbox = await createTestSandbox('bag', 1);
  const plane = await sandbox.startControlPlane();
  kubeconfig = plane.kubeconfig;
  controlPlane = { dataDir: plane.dataDir, port: plane.port };
  await prepareExtension();
  await sandbox.joinAgents([`--allowed-host-paths=${extensionDir}:ro,${nodeDir}:ro`]);
  await waitFor(async () => / Ready /.test(await kubectl(['get', 'node', 'node-1', '--no-headers'])), {
    what: 'node-1 Ready',
    timeoutMs: 90_000,
    intervalMs: 500,
  });
  await kubectl(['create', 'namespace', namespace]);
  await kubectl(['apply', '-f', '-'], registration());
});

test.after.always(async () => {
  await sandbox?.destroy();
});

test.serial('the APIService is Available once its pod serves discovery behind the Service', async (t) => {
  const pod = await startPod();
  t.regex(pod.status.podIP, /^10\.244\./, 'the extension server has a pod address');
  const slices = JSON.parse(
    await kubectl([
      'get',
      'endpointslices',
      '-n',
      namespace,
      '-l',
      'kubernetes.io/service-name=fleet-api',
      '-o',
      'json',
    ]),
  );
  t.deepEqual(
    slices.items.flatMap((s: Json) => s.endpoints.flatMap((e: Json) => e.addresses)),
    [pod.status.podIP],
  );
  t.like(await availableIs('True'), { reason: 'Passed', message: 'all checks passed' });
  // the same road serves pods/proxy and services/proxy
  for (const proxied of [`pods/https:fleet-api:4443`, `services/https:fleet-api:443`])
    t.is(
      (await kubectl(['get', '--raw', `/api/v1/namespaces/${namespace}/${proxied}/proxy/healthz`])).trim(),
      'ok',
      proxied,
    );
  t.regex(
    await kubectl(['get', 'apiservice', apiServiceName]),
    new RegExp(`${apiServiceName.replaceAll('.', '\\.')}\\s+${namespace}/fleet-api\\s+True`),
  );
});

test.serial('kubectl discovers the group and reads its resources through the aggregator', async (t) => {
  await availableIs('True');
  const aggregated = await call(
    controlPlane,
    'GET',
    '/apis',
    adminIdentity(controlPlane.dataDir),
    undefined,
    undefined,
    {
      Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    },
  );
  const discovered = aggregated.body.items.find((g: Json) => g.metadata.name === group);
  t.is(discovered?.versions[0]?.version, 'v1alpha1', 'aggregated discovery lists the group');
  t.is(discovered?.versions[0]?.resources[0]?.resource, 'gadgets');
  for (const binary of clients) {
    const resources = await kubectl(['api-resources', `--api-group=${group}`], undefined, binary);
    t.regex(resources, /gadgets\s+fleet\.bosun\.test\/v1alpha1\s+true\s+Gadget/, binary);
    const raw = JSON.parse(await kubectl(['get', '--raw', `/apis/${groupVersion}`], undefined, binary));
    t.deepEqual(
      raw.resources.map((r: Json) => r.name),
      ['gadgets'],
      binary,
    );
    const groups = JSON.parse(await kubectl(['get', '--raw', '/apis'], undefined, binary));
    t.true(
      groups.groups.some((g: Json) => g.name === group),
      `${binary}: /apis lists the group`,
    );
    t.is(
      (await kubectl(['get', 'gadgets', '-n', 'default', '-o', 'name'], undefined, binary)).trim(),
      `gadget.${group}/g1`,
      binary,
    );
    const one = JSON.parse(await kubectl(['get', 'gadget', 'g1', '-n', 'team', '-o', 'json'], undefined, binary));
    t.like(one, { kind: 'Gadget', metadata: { name: 'g1', namespace: 'team' } }, binary);
  }
});

test.serial('the pod sees the caller as the front proxy names it, never the caller’s own credentials', async (t) => {
  await availableIs('True');
  const seen = JSON.parse(await kubectl(['get', 'gadget', 'g1', '-n', 'default', '-o', 'json'])).seenAs as Json;
  t.is(seen.peer, 'front-proxy-client', 'the front-proxy client certificate');
  t.is(seen.user, 'kubernetes-admin');
  t.true(seen.groups.includes('system:masters'), JSON.stringify(seen.groups));
  t.false(seen.authorization, 'the caller’s credentials stay with the server');
  t.is(seen.servedBy, 'fleet-api', 'served by the pod itself');

  // an impersonating admin is passed on as the user it acts as, with no Impersonate-* headers
  await kubectl(['create', 'clusterrole', 'gadget-reader', '--verb=get,list', `--resource=gadgets.${group}`]);
  await kubectl(['create', 'clusterrolebinding', 'gadget-reader', '--clusterrole=gadget-reader', '--user=jane']);
  const impersonated = JSON.parse(
    await kubectl(['get', 'gadget', 'g1', '-n', 'default', '-o', 'json', '--as=jane', '--as-group=devs']),
  ).seenAs as Json;
  t.is(impersonated.user, 'jane');
  t.deepEqual([...impersonated.groups].sort(), ['devs', 'system:authenticated']);
  t.deepEqual(impersonated.impersonation, []);

  // identity headers a client sends itself are dropped
  const forged = await call(
    controlPlane,
    'GET',
    `/apis/${groupVersion}/namespaces/default/gadgets/g1`,
    adminIdentity(controlPlane.dataDir),
    undefined,
    undefined,
    { 'X-Remote-User': 'mallory', 'X-Remote-Group': 'system:masters' },
  );
  t.is(forged.status, 200);
  t.is(forged.body.seenAs.user, 'kubernetes-admin');
  t.false(forged.body.seenAs.groups.includes('mallory'));

  // callers without rights are refused by the server before the pod is asked: a user, a node, a
  // service account and a namespace's admin
  const servedBefore = (await gadgetSeen()).gadgetRequests as number;
  await kubectl(['create', 'namespace', 'tenant']);
  await kubectl(['create', 'rolebinding', 'tenant-admin', '-n', 'tenant', '--clusterrole=admin', '--user=tina']);
  const callers: Array<[string[], string]> = [
    [['--as=nobody'], 'User "nobody"'],
    [['--as=system:node:node-1', '--as-group=system:nodes'], 'User "system:node:node-1"'],
    [['--as=system:serviceaccount:default:default'], 'User "system:serviceaccount:default:default"'],
    [['--as=tina', '-n', 'tenant'], 'User "tina"'],
  ];
  for (const [identity, user] of callers) {
    const refused = await runKubectl({ kubeconfig }, ['get', 'gadgets', '-n', 'default', ...identity]);
    t.not(refused.code, 0, user);
    t.true(refused.stderr.includes(`${user} cannot list resource "gadgets" in API group "${group}"`), refused.stderr);
  }
  t.is((await gadgetSeen()).gadgetRequests, servedBefore + 1, 'the pod saw none of the refused requests');
});

async function gadgetSeen(): Promise<Json> {
  return JSON.parse(await kubectl(['get', 'gadget', 'g1', '-n', 'default', '-o', 'json'])).seenAs as Json;
}

test.serial('deleting the pod makes the APIService unavailable; the pod back makes it available again', async (t) => {
  await availableIs('True');
  await kubectl(['delete', 'pod', '-n', namespace, 'fleet-api', '--wait=false']);
  // as upstream's availability controller, the change of endpoints is seen at once, not at the next
  // period (30 s while available)
  const down = await availableIs('False', 10_000);
  t.like(down, {
    reason: 'MissingEndpoints',
    message: `endpoints for service/fleet-api in "${namespace}" have no addresses with port name "https"`,
  });
  const unavailable = await call(
    controlPlane,
    'GET',
    `/apis/${groupVersion}/namespaces/default/gadgets`,
    adminIdentity(controlPlane.dataDir),
  );
  t.is(unavailable.status, 503);
  const refused = await runKubectl({ kubeconfig }, ['get', 'gadgets', '-n', 'default']);
  t.not(refused.code, 0, 'kubectl fails while the extension server is gone');
  t.is((await call(controlPlane, 'GET', '/api/v1/namespaces', adminIdentity(controlPlane.dataDir))).status, 200);

  await waitFor(
    async () => (await runKubectl({ kubeconfig }, ['get', 'pod', '-n', namespace, 'fleet-api'])).code !== 0,
    { what: 'the old pod to be gone', timeoutMs: 60_000, intervalMs: 250 },
  );
  await startPod();
  t.like(await availableIs('True'), { reason: 'Passed' });
  t.is((await kubectl(['get', 'gadgets', '-n', 'default', '-o', 'name'])).trim(), `gadget.${group}/g1`);
});
