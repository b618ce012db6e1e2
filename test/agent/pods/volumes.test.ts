import test from 'ava';
import { mkdtemp, mkdir, readFile, readlink, readdir, rm, stat, symlink, writeFile, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from '../../../kube/corev1.ts';
import { planAtomicWrite, writeAtomically, type Payload } from '../../../agent/pods/volumes/atomic-writer.ts';
import {
  formatMap,
  goQuote,
  projectAll,
  projectDownward,
  projectKeys,
} from '../../../agent/pods/volumes/projection.ts';
import { openInsideVolume, resolveSubPath } from '../../../agent/pods/volumes/subpath.ts';
import { hostPathProblem } from '../../../agent/pods/volumes.ts';
import { tokenNeedsRefresh, ServiceAccountTokens } from '../../../agent/pods/service-account-tokens.ts';
import { resolveEnv } from '../../../agent/pods/env.ts';
import { ApiConfigSource } from '../../../agent/pods/config-source.ts';
import { podEvents } from '../../../agent/events/pod-events.ts';
import { ApiError } from '../../../kube/errors.ts';

const text = (s: string) => Buffer.from(s);
const payloadOf = (entries: Record<string, [string, number]>): Payload =>
  new Map(Object.entries(entries).map(([k, [d, m]]) => [k, { data: text(d), mode: m }]));
const fields = {
  podIP: '10.244.1.5',
  podIPs: ['10.244.1.5'],
  hostIP: '192.0.2.10',
  nodeName: 'n1',
  allocatable: { cpuMilli: 2000, memoryBytes: 4 * 2 ** 30 },
};
const pod: Pod = {
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: 'u-1',
    labels: { app: 'web', tier: 'front "x"' },
    annotations: { note: 'a\nb' },
  },
  spec: {
    nodeName: 'n1',
    serviceAccountName: 'builder',
    containers: [{ name: 'c', image: 'i', resources: { limits: { memory: '64Mi', cpu: '250m' } } }],
  },
};

let scratch: string;
test.before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'bosun-volumes-'));
});
test.after.always(async () => {
  await rm(scratch, { recursive: true, force: true });
});

test('atomic write plan: first write, no-op, changed key, removed key', (t) => {
  const empty = { dataDir: undefined, files: new Map(), visible: [] };
  t.deepEqual(planAtomicWrite(payloadOf({ a: ['1', 0o644], 'd/b': ['2', 0o644] }), empty), {
    writeNewVersion: true,
    links: ['a', 'd'],
    stale: [],
  });
  const current = { dataDir: '..v1', files: payloadOf({ a: ['1', 0o644] }), visible: ['a'] };
  t.deepEqual(planAtomicWrite(payloadOf({ a: ['1', 0o644] }), current), {
    writeNewVersion: false,
    links: [],
    stale: [],
  });
  t.true(planAtomicWrite(payloadOf({ a: ['1', 0o400] }), current).writeNewVersion, 'a mode change is a change');
  t.deepEqual(planAtomicWrite(payloadOf({ b: ['1', 0o644] }), current), {
    writeNewVersion: true,
    links: ['b'],
    stale: ['a'],
  });
  t.throws(() => planAtomicWrite(payloadOf({ '../x': ['1', 0o644] }), empty), { message: /must not contain '\.\.'/ });
  t.throws(() => planAtomicWrite(payloadOf({ '..data': ['1', 0o644] }), empty), {
    message: /must not start with '\.\.'/,
  });
});

test('atomic write on disk: ..data swap, key links, modes, stale keys and old versions removed', async (t) => {
  const dir = join(scratch, 'atomic');
  t.true(await writeAtomically(dir, payloadOf({ a: ['one', 0o644], 'sub/b': ['two', 0o400] })));
  const first = await readlink(join(dir, '..data'));
  t.regex(first, /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\./);
  t.is(await readlink(join(dir, 'a')), '..data/a');
  t.is(await readFile(join(dir, 'sub/b'), 'utf8'), 'two');
  t.is((await stat(join(dir, 'sub/b'))).mode & 0o777, 0o400);
  t.false(
    await writeAtomically(dir, payloadOf({ a: ['one', 0o644], 'sub/b': ['two', 0o400] })),
    'an unchanged payload writes nothing',
  );
  t.is(await readlink(join(dir, '..data')), first);
  t.true(await writeAtomically(dir, payloadOf({ a: ['uno', 0o644] })));
  t.is(await readFile(join(dir, 'a'), 'utf8'), 'uno');
  const names = (await readdir(dir)).sort();
  t.is(names.length, 3, `one version folder, ..data and a: ${names.join(' ')}`);
  t.false(names.includes('sub'));
  t.false(names.includes(first));
});

test('configMap/secret projection: all keys, items with modes, optional and missing objects or keys', (t) => {
  const data = { a: text('1'), b: text('2') };
  t.deepEqual(
    [...projectKeys('configmap', 'cm', data, {}, 0o644).entries()].map(([k, v]) => [k, v.mode]),
    [
      ['a', 0o644],
      ['b', 0o644],
    ],
  );
  const items = projectKeys('secret', 's', data, { items: [{ key: 'b', path: 'x/y', mode: 0o400 }] }, 0o644);
  t.deepEqual([...items.keys()], ['x/y']);
  t.is(items.get('x/y')!.mode, 0o400);
  t.is(projectKeys('configmap', 'cm', undefined, { optional: true }, 0o644).size, 0);
  t.throws(() => projectKeys('configmap', 'cm', undefined, {}, 0o644), { message: 'configmap "cm" not found' });
  t.throws(() => projectKeys('secret', 's', undefined, {}, 0o644), { message: 'secret "s" not found' });
  t.throws(() => projectKeys('configmap', 'cm', data, { items: [{ key: 'zz', path: 'p' }] }, 0o644), {
    message: 'configmap references non-existent config key: zz',
  });
  t.is(projectKeys('configmap', 'cm', data, { items: [{ key: 'zz', path: 'p' }], optional: true }, 0o644).size, 0);
});

test('downward API values: labels and annotations files as the kubelet formats them, fields, resources with divisor', (t) => {
  t.is(goQuote('a"b\\c\n\x01é'), '"a\\"b\\\\c\\n\\x01é"');
  t.is(formatMap({ b: '2', a: '1' }), 'a="1"\nb="2"');
  const files = projectDownward(
    pod,
    [
      { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
      { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
      { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
      { path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } },
      { path: 'uid', fieldRef: { fieldPath: 'metadata.uid' } },
      { path: 'app', fieldRef: { fieldPath: "metadata.labels['app']" } },
      { path: 'node', fieldRef: { fieldPath: 'spec.nodeName' } },
      { path: 'sa', fieldRef: { fieldPath: 'spec.serviceAccountName' } },
      { path: 'ip', fieldRef: { fieldPath: 'status.podIP' } },
      { path: 'host', fieldRef: { fieldPath: 'status.hostIP' } },
      { path: 'mem', resourceFieldRef: { containerName: 'c', resource: 'limits.memory', divisor: '1Mi' } },
      { path: 'cpu', resourceFieldRef: { containerName: 'c', resource: 'limits.cpu', divisor: '1m' }, mode: 0o600 },
    ],
    0o644,
    fields,
  );
  const value = (k: string) => files.get(k)!.data.toString();
  t.is(value('labels'), 'app="web"\ntier="front \\"x\\""');
  t.is(value('annotations'), 'note="a\\nb"');
  t.deepEqual(['name', 'ns', 'uid', 'app', 'node', 'sa', 'ip', 'host', 'mem', 'cpu'].map(value), [
    'web',
    'shop',
    'u-1',
    'web',
    'n1',
    'builder',
    '10.244.1.5',
    '192.0.2.10',
    '64',
    '250',
  ]);
  t.is(files.get('cpu')!.mode, 0o600);
  t.throws(
    () =>
      projectDownward(
        pod,
        [{ path: 'x', resourceFieldRef: { containerName: 'nope', resource: 'limits.cpu' } }],
        0o644,
        fields,
      ),
    { message: /names no container/ },
  );
});

test('projected volume: token, configMap item and namespace in one payload; clashing paths refused', (t) => {
  const payload = projectAll(
    pod,
    [
      { kind: 'serviceAccountToken', path: 'token', token: 'jwt' },
      {
        kind: 'configmap',
        name: 'kube-root-ca.crt',
        data: { 'ca.crt': text('PEM') },
        items: [{ key: 'ca.crt', path: 'ca.crt' }],
      },
      { kind: 'downwardAPI', items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] },
    ],
    0o644,
    fields,
  );
  t.deepEqual([...payload.keys()], ['token', 'ca.crt', 'namespace']);
  t.is(payload.get('namespace')!.data.toString(), 'shop');
  t.throws(
    () =>
      projectAll(
        pod,
        [
          { kind: 'serviceAccountToken', path: 'a', token: '1' },
          { kind: 'serviceAccountToken', path: 'a', token: '2' },
        ],
        0o644,
        fields,
      ),
    { message: /more than one source writes a/ },
  );
});

test('subPath resolution stays inside the volume; symlinks out of it are refused', async (t) => {
  const root = await realpath(await mkdtemp(join(scratch, 'vol-')));
  await mkdir(join(root, 'real/inner'), { recursive: true });
  await writeFile(join(root, 'real/file'), 'x');
  await symlink('/etc', join(root, 'esc'));
  await symlink('../../..', join(root, 'real/up'));
  await symlink('real/inner', join(root, 'ok'));
  await symlink('loop', join(root, 'loop'));
  t.is(await resolveSubPath(root, 'real/file'), join(root, 'real/file'));
  t.is(await resolveSubPath(root, 'ok'), join(root, 'real/inner'), 'a link that stays inside is followed');
  t.is(await resolveSubPath(root, 'new/dir'), join(root, 'new/dir'), 'missing folders are created');
  t.true((await stat(join(root, 'new/dir'))).isDirectory());
  await t.throwsAsync(resolveSubPath(root, 'esc'), { message: /symlink to \/etc, outside the volume/ });
  await t.throwsAsync(resolveSubPath(root, 'esc/passwd'), { message: /outside the volume/ });
  await t.throwsAsync(resolveSubPath(root, 'real/up'), { message: /outside the volume/ });
  await t.throwsAsync(resolveSubPath(root, 'real/up/x'), { message: /outside the volume/ });
  await t.throwsAsync(resolveSubPath(root, '../x'), { message: /must not contain/ });
  await t.throwsAsync(resolveSubPath(root, '/etc'), { message: /relative/ });
  await t.throwsAsync(resolveSubPath(root, 'loop'), { message: /too many levels/ });
  await t.throwsAsync(resolveSubPath(root, 'real/file/x'), { message: /not a folder/ });
  const handle = await openInsideVolume(root, join(root, 'real/inner'));
  t.is(await readlink(`/proc/self/fd/${handle.fd}`), join(root, 'real/inner'));
  await handle.close();
  await t.throwsAsync(
    openInsideVolume(root, '/etc'),
    { message: /outside the volume/ },
    'what is opened is checked again',
  );
});

test('hostPath policy: allow list; / only when listed itself; never the agent root, neither above nor below it', (t) => {
  const policy = { allowed: ['/srv/data', '/var/lib'], refused: ['/var/lib/bosun'] };
  t.is(hostPathProblem('/srv/data/x', policy), undefined);
  t.regex(hostPathProblem('/', policy)!, /allowed only when --allowed-host-paths lists \/ itself/);
  t.regex(
    hostPathProblem('/', { ...policy, allowed: ['/var'] })!,
    /allowed only when --allowed-host-paths lists \/ itself/,
  );
  // the operator's explicit choice (node debugging pods): the whole node, even past the agent's state
  t.is(hostPathProblem('/', { ...policy, allowed: ['/'] }), undefined);
  t.regex(hostPathProblem('/var/lib/bosun/pods', policy)!, /agent's own state/);
  t.regex(hostPathProblem('/var/lib', policy)!, /agent's own state/);
  t.regex(
    hostPathProblem('/etc', policy)!,
    /not allowed on this node \(allowed: \/srv\/data, \/var\/lib\); start the agent with --allowed-host-paths/,
  );
  t.regex(hostPathProblem('/srv/data/../../etc', policy)!, /without '\.\.'/);
  t.regex(hostPathProblem('/srv/database', policy)!, /not allowed/, 'a prefix is a folder, not a string prefix');
});

test('service-account tokens: refreshed after 80 % of their life or 24 h; an old valid token outlives a failed refresh', async (t) => {
  const hour = 3600_000;
  t.false(tokenNeedsRefresh({ token: 't', issuedAt: 0, expiresAt: hour }, 0.79 * hour));
  t.true(tokenNeedsRefresh({ token: 't', issuedAt: 0, expiresAt: hour }, 0.8 * hour));
  t.true(tokenNeedsRefresh({ token: 't', issuedAt: 0, expiresAt: 48 * hour }, 24 * hour));
  let now = 0;
  let calls = 0;
  let fail = false;
  const tokens = new ServiceAccountTokens(
    async () => {
      calls++;
      if (fail) throw new Error('API down');
      return { token: `t${calls}`, expiresAt: now + hour };
    },
    { now: () => now, after: () => ({ cancel() {} }) },
  );
  const spec = {
    namespace: 'ns',
    serviceAccount: 'sa',
    audience: '',
    expirationSeconds: 3600,
    pod: { name: 'p', uid: 'u' },
  };
  t.is(await tokens.get(spec), 't1');
  now = 0.5 * hour;
  t.is(await tokens.get(spec), 't1');
  now = 0.85 * hour;
  t.is(await tokens.get(spec), 't2');
  fail = true;
  now = 0.85 * hour + 0.9 * hour;
  t.is(await tokens.get(spec), 't2', 'still valid: used while the API is down');
  now = 3 * hour;
  await t.throwsAsync(tokens.get(spec), { message: 'API down' });
});

test('env from configMapKeyRef, secretKeyRef and envFrom with prefix; missing required refs name the object', (t) => {
  const sources = {
    ...fields,
    configMap: (name: string) => (name === 'cfg' ? { mode: 'prod', size: 'L' } : undefined),
    secret: (name: string) => (name === 'creds' ? { password: 's3cret' } : undefined),
  };
  const env = resolveEnv(
    pod,
    {
      name: 'c',
      envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }, { secretRef: { name: 'gone', optional: true } }],
      env: [
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } },
        { name: 'PASS', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        { name: 'OPT', valueFrom: { secretKeyRef: { name: 'creds', key: 'nope', optional: true } } },
      ],
    },
    sources,
  );
  t.deepEqual(env, [
    { key: 'CFG_mode', value: 'prod' },
    { key: 'CFG_size', value: 'L' },
    { key: 'MODE', value: 'prod' },
    { key: 'PASS', value: 's3cret' },
  ]);
  t.throws(
    () =>
      resolveEnv(
        pod,
        { name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'absent', key: 'k' } } }] },
        sources,
      ),
    { message: 'configmap "absent" not found' },
  );
  t.throws(
    () =>
      resolveEnv(
        pod,
        { name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }] },
        sources,
      ),
    { message: "couldn't find key k in ConfigMap shop/cfg" },
  );
});

test('config source: GETs reused for the TTL (also "not found"), immutable objects for ever, one request in flight per object', async (t) => {
  let now = 0;
  const gets: string[] = [];
  const objects = new Map<string, any>([
    [
      'configmaps/ns/cfg',
      { metadata: { name: 'cfg' }, data: { a: '1' }, binaryData: { b: Buffer.from([0, 1]).toString('base64') } },
    ],
    ['secrets/ns/s', { metadata: { name: 's' }, data: { p: Buffer.from('pw').toString('base64') }, immutable: true }],
  ]);
  const posts: any[] = [];
  const client = {
    get: async (ref: { resource: string }, name: string, namespace: string) => {
      gets.push(`${ref.resource}/${namespace}/${name}`);
      const object = objects.get(`${ref.resource}/${namespace}/${name}`);
      if (object === undefined) throw new ApiError('NotFound', `${ref.resource} "${name}" not found`);
      return object;
    },
    create: async (ref: { resource: string }, body: any) => {
      posts.push({ resource: ref.resource, body });
      return { status: { token: 'jwt', expirationTimestamp: '2030-01-01T00:00:00Z' } };
    },
  };
  const source = new ApiConfigSource(client as never, { now: () => now, after: () => ({ cancel() {} }) }, 1_000);
  const [first, second] = await Promise.all([source.configMap('ns', 'cfg'), source.configMap('ns', 'cfg')]);
  t.is(first!.a!.toString(), '1');
  t.deepEqual([...first!.b!], [0, 1], 'binaryData decoded');
  t.is(second, first);
  t.is(await source.configMap('ns', 'absent'), undefined);
  t.is((await source.secret('ns', 's'))!.p!.toString(), 'pw');
  now = 500;
  await source.configMap('ns', 'absent');
  t.deepEqual(gets, ['configmaps/ns/cfg', 'configmaps/ns/absent', 'secrets/ns/s']);
  now = 1_500;
  await source.configMap('ns', 'cfg');
  await source.secret('ns', 's');
  t.deepEqual(
    gets.slice(3),
    ['configmaps/ns/cfg'],
    'after the TTL the ConfigMap is fetched again, the immutable Secret is not',
  );
  t.is(
    await source.serviceAccountToken({
      namespace: 'ns',
      serviceAccount: 'builder',
      audience: 'vault',
      expirationSeconds: 600,
      pod: { name: 'p', uid: 'u' },
    }),
    'jwt',
  );
  t.is(posts[0].resource, 'serviceaccounts/builder/token');
  t.deepEqual(posts[0].body.spec, {
    audiences: ['vault'],
    expirationSeconds: 600,
    boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'u' },
  });
});

test('a volume that cannot be set up is reported as a FailedMount event on the pod', (t) => {
  const recorded: Array<{ ref: any; type: string; reason: string; message: string }> = [];
  const events = podEvents({ event: (ref, type, reason, message) => recorded.push({ ref, type, reason, message }) });
  events.startFailed(
    pod,
    'c',
    'ContainerCreating',
    'MountVolume.SetUp failed for volume "cfg" : configmap "gone" not found',
  );
  t.is(recorded.length, 1);
  t.like(recorded[0], {
    type: 'Warning',
    reason: 'FailedMount',
    message: 'MountVolume.SetUp failed for volume "cfg" : configmap "gone" not found',
  });
  t.is(recorded[0]!.ref.fieldPath, undefined, 'about the pod, not a container');
});
