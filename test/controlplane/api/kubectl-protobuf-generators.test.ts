/**
 * kubectl 1.32 and later send the objects of `kubectl create <generator>` as protobuf. For each
 * generator of a kind this server serves, the object kubectl builds (`--dry-run=client -o json`,
 * the same object as JSON) must be stored with every field it set: nothing dropped on the way in.
 */
import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl as runKubectl } from '../kubectl-scenario.ts';
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

const kubectl = (...args: string[]) => runKubectl(server, args);

/** Paths of `sent` (leaves; nulls and empty objects say nothing) whose value `stored` does not hold. */
function missing(sent: unknown, stored: unknown, path: string, out: string[]): string[] {
  if (sent === null) return out;
  if (Array.isArray(sent)) {
    sent.forEach((item, i) => missing(item, Array.isArray(stored) ? stored[i] : undefined, `${path}[${i}]`, out));
  } else if (typeof sent === 'object') {
    for (const [key, value] of Object.entries(sent))
      missing(value, (stored as Record<string, unknown> | undefined)?.[key], `${path}.${key}`, out);
  } else if (sent !== stored) {
    out.push(`${path}: kubectl set ${JSON.stringify(sent)}, stored ${JSON.stringify(stored)}`);
  }
  return out;
}

function withFlags(args: readonly string[], ...flags: string[]): string[] {
  const end = args.indexOf('--');
  return end === -1 ? [...args, ...flags] : [...args.slice(0, end), ...flags, ...args.slice(end)];
}

test('every field kubectl create generators set arrives in the stored object', async (t) => {
  const files = mkdtempSync(join(tmpdir(), 'bosun-generators-'));
  const binary = join(files, 'blob.bin');
  writeFileSync(binary, Buffer.from([0xff, 0x00, 0xfe, 0x10]));
  t.is((await kubectl('create', 'namespace', 'gen')).code, 0);
  const generators: Array<{ args: string[]; path: string }> = [
    { args: ['namespace', 'gen-two'], path: '/api/v1/namespaces/gen-two' },
    {
      args: ['configmap', 'cm', '--from-literal=a=b', `--from-file=blob=${binary}`],
      path: '/api/v1/namespaces/gen/configmaps/cm',
    },
    {
      args: ['secret', 'generic', 'plain', '--from-literal=p=x', '--type=example.com/kind'],
      path: '/api/v1/namespaces/gen/secrets/plain',
    },
    {
      args: [
        'secret',
        'docker-registry',
        'pull',
        '--docker-server=registry.local',
        '--docker-username=u',
        '--docker-password=p',
      ],
      path: '/api/v1/namespaces/gen/secrets/pull',
    },
    {
      args: [
        'secret',
        'tls',
        'tls',
        `--cert=${join(server.dataDir, 'pki/admin.crt')}`,
        `--key=${join(server.dataDir, 'pki/admin.key')}`,
      ],
      path: '/api/v1/namespaces/gen/secrets/tls',
    },
    {
      args: ['deployment', 'web', '--image=busybox', '--replicas=2', '--port=80', '--', 'sleep', '3600'],
      path: '/apis/apps/v1/namespaces/gen/deployments/web',
    },
    { args: ['service', 'nodeport', 'np', '--tcp=80:8080'], path: '/api/v1/namespaces/gen/services/np' },
    { args: ['service', 'loadbalancer', 'lb', '--tcp=443:8443'], path: '/api/v1/namespaces/gen/services/lb' },
    {
      args: ['service', 'externalname', 'ext', '--external-name=example.com'],
      path: '/api/v1/namespaces/gen/services/ext',
    },
    { args: ['job', 'once', '--image=busybox', '--', 'echo', 'hi'], path: '/apis/batch/v1/namespaces/gen/jobs/once' },
    {
      args: ['cronjob', 'tick', '--image=busybox', '--schedule=*/5 * * * *', '--restart=OnFailure', '--', 'date'],
      path: '/apis/batch/v1/namespaces/gen/cronjobs/tick',
    },
    {
      args: ['role', 'reader', '--verb=get,list', '--resource=pods', '--resource-name=web'],
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/gen/roles/reader',
    },
    {
      args: ['clusterrole', 'health', '--verb=get', '--non-resource-url=/healthz'],
      path: '/apis/rbac.authorization.k8s.io/v1/clusterroles/health',
    },
    {
      args: ['rolebinding', 'reader', '--role=reader', '--serviceaccount=gen:robot', '--group=team'],
      path: '/apis/rbac.authorization.k8s.io/v1/namespaces/gen/rolebindings/reader',
    },
    {
      args: ['clusterrolebinding', 'health', '--clusterrole=health', '--user=alice'],
      path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/health',
    },
    { args: ['serviceaccount', 'robot'], path: '/api/v1/namespaces/gen/serviceaccounts/robot' },
    {
      args: ['quota', 'small', '--hard=pods=2,requests.cpu=1,limits.memory=1Gi'],
      path: '/api/v1/namespaces/gen/resourcequotas/small',
    },
  ];
  const lost: string[] = [];
  for (const { args, path } of generators) {
    const namespaced =
      args[0] === 'namespace' || args[0] === 'clusterrole' || args[0] === 'clusterrolebinding' ? [] : ['-n', 'gen'];
    // flags go before a command's own arguments (after --)
    const built = await kubectl(...namespaced, 'create', ...withFlags(args, '--dry-run=client', '-o', 'json'));
    t.is(built.code, 0, built.stderr);
    const created = await kubectl(...namespaced, 'create', ...args);
    t.is(created.code, 0, `${args.join(' ')}: ${created.stderr}`);
    const stored = await call(server, 'GET', path, admin);
    t.is(stored.status, 200, path);
    missing(JSON.parse(built.stdout), stored.body, args.slice(0, 2).join(' '), lost);
  }
  t.deepEqual(lost, []);
});

test('kubectl drain --disable-eviction deletes with a protobuf DeleteOptions whose gracePeriodSeconds 0 is honoured', async (t) => {
  t.is((await call(server, 'POST', '/api/v1/nodes', admin, { metadata: { name: 'drained' } })).status, 201);
  const pod = {
    metadata: { name: 'on-drained' },
    spec: { nodeName: 'drained', containers: [{ name: 'c', image: 'busybox' }] },
  };
  t.is((await call(server, 'POST', '/api/v1/namespaces/default/pods', admin, pod)).status, 201);
  const drained = await kubectl(
    'drain',
    'drained',
    '--force',
    '--disable-eviction',
    '--grace-period=0',
    '--timeout=20s',
  );
  t.is(drained.code, 0, drained.stderr);
  t.is(
    (await call(server, 'GET', '/api/v1/namespaces/default/pods/on-drained', admin)).status,
    404,
    'deleted at once, not left terminating',
  );
});
