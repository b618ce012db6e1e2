/**
 * Hostile objects from a namespace admin, against a real server process with real identities:
 * each is refused with 422 in upstream's words, nothing is stored, and the server keeps serving.
 * The objects are the ones that would reach a node: a volume name that climbs out of the pod
 * folder (the agent would mount a host folder), a Service port name that would be written into
 * every node's iptables-restore payload, an EndpointSlice whose port is a string.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCertificate } from '../../controlplane/pki/certificates.ts';
import {
  adminIdentity,
  call,
  startServerProcess,
  type Identity,
  type ServerProcess,
} from '../controlplane/server-process.ts';
import { kubectl } from '../bed/kubectl.ts';

let server: ServerProcess;
let tenant: Identity;
let kubeconfigDir: string;
const ns = 'tenant';
const label1123 =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
  const admin = adminIdentity(server.dataDir);
  const ca = {
    cert: readFileSync(join(server.dataDir, 'pki/ca.crt'), 'utf8'),
    key: readFileSync(join(server.dataDir, 'pki/ca.key'), 'utf8'),
  };
  const pair = issueCertificate(ca, { commonName: 'alice', organizations: [], usage: 'client' });
  tenant = { cert: pair.cert, key: pair.key };
  const setup: Array<[string, unknown]> = [
    ['/api/v1/namespaces', { metadata: { name: ns } }],
    [
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
      {
        metadata: { name: 'alice-admin' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
      },
    ],
    // EndpointSlices are written by controllers; a tenant that runs its own gets this role.
    [
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`,
      {
        metadata: { name: 'slice-writer' },
        rules: [{ apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['create', 'get', 'list'] }],
      },
    ],
    [
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
      {
        metadata: { name: 'alice-slices' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'slice-writer' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
      },
    ],
  ];
  for (const [path, body] of setup) {
    const reply = await call(server, 'POST', path, admin, body);
    if (reply.status !== 201) throw new Error(`setup ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
  }
});
test.after.always(async () => {
  await server?.destroy();
  if (kubeconfigDir) rmSync(kubeconfigDir, { recursive: true, force: true });
});

/** Real kubectl as the tenant: a kubeconfig with the tenant's client certificate. */
function kubectlAsTenant(args: string[], stdin: string): Promise<{ code: number; stderr: string }> {
  kubeconfigDir ??= mkdtempSync(join(tmpdir(), 'bosun-validation-'));
  const kubeconfig = join(kubeconfigDir, 'tenant.kubeconfig');
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const ca = readFileSync(join(server.dataDir, 'pki/ca.crt'), 'utf8');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: server.url, 'certificate-authority-data': b64(ca) } }],
      users: [
        { name: 'alice', user: { 'client-certificate-data': b64(tenant.cert!), 'client-key-data': b64(tenant.key!) } },
      ],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'alice', namespace: ns } }],
      'current-context': 'c',
    }),
  );
  return kubectl({ kubeconfig, input: stdin, timeoutMs: 30_000 }, args);
}

const container = { name: 'c', image: 'busybox:1.36' };
const hostilePodSpec = {
  containers: [{ ...container, volumeMounts: [{ name: '../../..', mountPath: '/host' }] }],
  volumes: [{ name: '../../..', emptyDir: {} }],
};

const attempts: Array<{ title: string; collection: string; name: string; body: unknown; message: string }> = [
  {
    title: 'a Pod whose volume name climbs out of the pod folder',
    collection: `/api/v1/namespaces/${ns}/pods`,
    name: 'climber',
    body: { metadata: { name: 'climber' }, spec: hostilePodSpec },
    message: `Pod "climber" is invalid: spec.volumes[0].name: Invalid value: "../../..": ${label1123}`,
  },
  {
    title: 'a Pod whose subPath climbs out of its volume',
    collection: `/api/v1/namespaces/${ns}/pods`,
    name: 'subpath',
    body: {
      metadata: { name: 'subpath' },
      spec: {
        containers: [{ ...container, volumeMounts: [{ name: 'v', mountPath: '/v', subPath: '../../../../etc' }] }],
        volumes: [{ name: 'v', emptyDir: {} }],
      },
    },
    message: `Pod "subpath" is invalid: spec.containers[0].volumeMounts.subPath: Invalid value: "../../../../etc": must not contain '..'`,
  },
  {
    title: 'a Deployment whose template carries the same volume',
    collection: `/apis/apps/v1/namespaces/${ns}/deployments`,
    name: 'climber',
    body: {
      metadata: { name: 'climber' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'x' } },
        template: { metadata: { labels: { app: 'x' } }, spec: hostilePodSpec },
      },
    },
    message: `Deployment.apps "climber" is invalid: spec.template.spec.volumes[0].name: Invalid value: "../../..": ${label1123}`,
  },
  {
    title: 'a Service whose port name holds a quote and a newline',
    collection: `/api/v1/namespaces/${ns}/services`,
    name: 'inject',
    body: {
      metadata: { name: 'inject' },
      spec: { selector: { app: 'x' }, ports: [{ name: 'p"\n-A KUBE-SERVICES -j ACCEPT', port: 80, targetPort: 8080 }] },
    },
    message: `Service "inject" is invalid: spec.ports[0].name: Invalid value: "p\\"\\n-A KUBE-SERVICES -j ACCEPT": ${label1123}`,
  },
  {
    title: 'an EndpointSlice whose port is a string',
    collection: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
    name: 'stringport',
    body: {
      metadata: { name: 'stringport' },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.1.5'] }],
      ports: [{ name: 'http', port: '80', protocol: 'TCP' }],
    },
    message:
      'EndpointSlice.discovery.k8s.io "stringport" is invalid: ports[0].port: Invalid value: "string": ports[0].port must be of type integer',
  },
  {
    title: 'an EndpointSlice whose address is a rule fragment and whose condition is a string',
    collection: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
    name: 'badaddress',
    body: {
      metadata: { name: 'badaddress' },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.1 -j DROP'], conditions: { ready: 'yes' } }],
      ports: [{ port: 80 }],
    },
    message:
      'EndpointSlice.discovery.k8s.io "badaddress" is invalid: [endpoints[0].addresses[0]: Invalid value: "10.0.0.1 -j DROP": must be a valid IPv4 address, endpoints[0].conditions.ready: Invalid value: "string": endpoints[0].conditions.ready must be of type boolean]',
  },
];

for (const attempt of attempts) {
  test(`namespace admin: ${attempt.title} is refused with 422 and not stored`, async (t) => {
    const reply = await call(server, 'POST', attempt.collection, tenant, attempt.body);
    t.is(reply.status, 422, JSON.stringify(reply.body));
    t.is(reply.body.reason, 'Invalid');
    t.is(reply.body.message, attempt.message);
    t.is((await call(server, 'GET', `${attempt.collection}/${attempt.name}`, tenant)).status, 404);
    t.is((await call(server, 'GET', '/readyz')).status, 200);
  });
}

test('kubectl apply of the hostile Pod prints the upstream error and stores nothing', async (t) => {
  const manifest = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'kclimber' },
    spec: hostilePodSpec,
  });
  const result = await kubectlAsTenant(['apply', '-f', '-'], manifest);
  t.not(result.code, 0);
  t.true(
    result.stderr.includes(
      `The Pod "kclimber" is invalid: spec.volumes[0].name: Invalid value: "../../..": ${label1123}`,
    ),
    result.stderr,
  );
  t.is((await call(server, 'GET', `/api/v1/namespaces/${ns}/pods/kclimber`, tenant)).status, 404);
});

test('a status write with a load balancer address that is a rule fragment is refused and changes nothing', async (t) => {
  const admin = adminIdentity(server.dataDir);
  const path = `/api/v1/namespaces/${ns}/services/lb`;
  const created = await call(server, 'POST', `/api/v1/namespaces/${ns}/services`, admin, {
    metadata: { name: 'lb' },
    spec: { type: 'LoadBalancer', selector: { app: 'x' }, ports: [{ port: 80 }] },
  });
  t.is(created.status, 201, JSON.stringify(created.body));
  const reply = await call(
    server,
    'PATCH',
    `${path}/status`,
    admin,
    { status: { loadBalancer: { ingress: [{ ip: '1.2.3.4 -j ACCEPT' }] } } },
    'application/merge-patch+json',
  );
  t.is(reply.status, 422, JSON.stringify(reply.body));
  t.is(
    reply.body.message,
    'Service "lb" is invalid: status.loadBalancer.ingress[0].ip: Invalid value: "1.2.3.4 -j ACCEPT": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
  );
  const after = await call(server, 'GET', path, admin);
  t.deepEqual(after.body.status?.loadBalancer?.ingress ?? [], []);
  t.is(after.body.metadata.resourceVersion, created.body.metadata.resourceVersion);
  t.is((await call(server, 'GET', '/readyz')).status, 200);
});

test('namespace admin: the same kinds, well formed, are stored', async (t) => {
  const pod = await call(server, 'POST', `/api/v1/namespaces/${ns}/pods`, tenant, {
    metadata: { name: 'fine' },
    spec: {
      containers: [{ ...container, volumeMounts: [{ name: 'data', mountPath: '/data', subPath: 'app' }] }],
      volumes: [{ name: 'data', emptyDir: {} }],
    },
  });
  t.is(pod.status, 201, JSON.stringify(pod.body));
  const svc = await call(server, 'POST', `/api/v1/namespaces/${ns}/services`, tenant, {
    metadata: { name: 'fine' },
    spec: { selector: { app: 'x' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  });
  t.is(svc.status, 201, JSON.stringify(svc.body));
  const slice = await call(server, 'POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, tenant, {
    metadata: { name: 'fine' },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.244.1.5'], conditions: { ready: true } }],
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
  });
  t.is(slice.status, 201, JSON.stringify(slice.body));
});
