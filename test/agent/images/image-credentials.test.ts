import test from 'ava';
import { imageRepository } from '../../../agent/images/image-repository.ts';
import { credentialsOfSecret, DockerConfigError, type PullSecret } from '../../../agent/images/docker-config.ts';
import { buildKeyring, keyOf, lookupCredentials } from '../../../agent/images/keyring.ts';
import { pullErrorMessage } from '../../../agent/images/pull-error.ts';
import { CriNotFoundError, CriRuntimeError, GrpcStatus } from '../../../cri/errors.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const jsonSecret = (name: string, auths: unknown, type = 'kubernetes.io/dockerconfigjson'): PullSecret => ({
  name,
  type,
  data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths })) },
});

test('image references name the repository credentials are matched against', (t) => {
  const cases: [string, string][] = [
    ['busybox', 'docker.io/library/busybox'],
    ['busybox:1.36', 'docker.io/library/busybox'],
    ['me/app@sha256:abcd', 'docker.io/me/app'],
    ['docker.io/me/app:1', 'docker.io/me/app'],
    ['172.30.0.1:5000/team/app:v2', '172.30.0.1:5000/team/app'],
    ['registry.example.com/a/b/c', 'registry.example.com/a/b/c'],
    ['localhost/bosun/pause:3.10', 'localhost/bosun/pause'],
    ['localhost:5000/x@sha256:00', 'localhost:5000/x'],
  ];
  for (const [image, repository] of cases) t.is(imageRepository(image), repository, image);
});

test('registry keys drop the scheme and a /v1/ or /v2/ path, as the kubelet keys them', (t) => {
  const cases: [string, string | undefined][] = [
    ['registry.example.com', 'registry.example.com'],
    ['https://index.docker.io/v1/', 'index.docker.io'],
    ['http://10.0.0.1:5000/v2/', '10.0.0.1:5000'],
    ['quay.io/team', 'quay.io/team'],
    ['https://quay.io/v2/team/', 'quay.io/team/'],
    ['quay.io/', 'quay.io'],
    ['host:port', undefined],
    ['', undefined],
  ];
  for (const [registry, key] of cases) t.is(keyOf(registry), key, registry);
});

test('the keyring matches host, port, label globs and path prefixes, most specific first', (t) => {
  const keyring = buildKeyring([
    { registry: 'quay.io', username: 'host', password: 'p1' },
    { registry: 'https://quay.io/v1/team', username: 'team', password: 'p2' },
    { registry: '*.example.com', username: 'glob', password: 'p3' },
    { registry: '10.0.0.1:5000', username: 'port', password: 'p4' },
    { registry: 'https://index.docker.io/v1/', username: 'hub', password: 'p5' },
    { registry: 'quay.io', username: 'host-again', password: 'p6' },
    { registry: 'r*.[a-c]\\d.test', username: 'classes', password: 'p7' },
  ]);
  const users = (image: string) => lookupCredentials(keyring, imageRepository(image)).map((c) => c.username);
  const cases: [string, string[]][] = [
    ['quay.io/team/app:1', ['team', 'host', 'host-again']],
    ['quay.io/other/app', ['host', 'host-again']],
    ['quay.io:443/team/app', []],
    ['eu.example.com/app', ['glob']],
    ['a.eu.example.com/app', []],
    ['example.com/app', []],
    ['10.0.0.1:5000/app', ['port']],
    ['10.0.0.1/app', []],
    ['10.0.0.1:5001/app', []],
    ['busybox', ['hub']],
    ['docker.io/me/app', ['hub']],
    ['elsewhere.io/app', []],
    ['r1.bd.test/app', ['classes']],
    ['r1.b1.test/app', []],
    ['r12.bd.test/app', ['classes']],
    ['r1.x.bd.test/app', []],
  ];
  for (const [image, expected] of cases) t.deepEqual(users(image), expected, image);
});

test('pull secrets give credentials only with their type and key; auth replaces username and password', (t) => {
  const cases: [string, PullSecret, { registry: string; username: string; password: string }[]][] = [
    [
      'dockerconfigjson with username/password',
      jsonSecret('a', { 'r.io': { username: 'u', password: 'p' } }),
      [{ registry: 'r.io', username: 'u', password: 'p' }],
    ],
    [
      'auth wins over the fields',
      jsonSecret('a', { 'r.io': { username: 'x', password: 'y', auth: b64('u:p:with:colons') } }),
      [{ registry: 'r.io', username: 'u', password: 'p:with:colons' }],
    ],
    [
      'unpadded auth',
      jsonSecret('a', { 'r.io': { auth: b64('ab:c').replace(/=+$/, '') } }),
      [{ registry: 'r.io', username: 'ab', password: 'c' }],
    ],
    [
      'field names in any case',
      jsonSecret('a', { 'r.io': { Username: 'u', PASSWORD: 'p' } }),
      [{ registry: 'r.io', username: 'u', password: 'p' }],
    ],
    [
      'dockercfg',
      {
        name: 'c',
        type: 'kubernetes.io/dockercfg',
        data: { '.dockercfg': Buffer.from(JSON.stringify({ 'r.io': { auth: b64('u:p') } })) },
      },
      [{ registry: 'r.io', username: 'u', password: 'p' }],
    ],
    [
      'dockerconfigjson key under the dockercfg type',
      {
        name: 'c',
        type: 'kubernetes.io/dockercfg',
        data: { '.dockerconfigjson': Buffer.from('{"auths":{"r.io":{}}}') },
      },
      [],
    ],
    [
      'an Opaque secret',
      { name: 'o', type: 'Opaque', data: { '.dockerconfigjson': Buffer.from('{"auths":{"r.io":{}}}') } },
      [],
    ],
    [
      'an empty key',
      { name: 'e', type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.alloc(0) } },
      [],
    ],
  ];
  for (const [title, secret, expected] of cases) t.deepEqual(credentialsOfSecret(secret), expected, title);
});

test('a malformed pull secret is refused by name, without echoing its content', (t) => {
  const secretText = 'hunter2-very-secret';
  const bad: PullSecret[] = [
    {
      name: 'broken',
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(`{"auths": ${secretText}`) },
    },
    jsonSecret('broken', { 'r.io': { auth: b64(secretText) } }),
    jsonSecret('broken', { 'r.io': { auth: `!!${secretText}` } }),
    jsonSecret('broken', { 'r.io': { password: [secretText] } }),
  ];
  for (const secret of bad) {
    const err = t.throws(() => credentialsOfSecret(secret), { instanceOf: DockerConfigError });
    t.regex(err.message, /secret "broken"/);
    t.false(err.message.includes(secretText) || err.message.includes(b64(secretText)), err.message);
  }
});

test('pull failures read as the kubelet prints gRPC errors; attempts joined without repeats', (t) => {
  const unauthorized = new CriRuntimeError('PullImage failed: x', {
    grpcCode: GrpcStatus.UNKNOWN,
    detail: 'failed to pull: 401 Unauthorized',
  });
  const notFound = new CriNotFoundError('not found: y', { grpcCode: GrpcStatus.NOT_FOUND, detail: 'y: not found' });
  t.is(pullErrorMessage([unauthorized]), 'rpc error: code = Unknown desc = failed to pull: 401 Unauthorized');
  t.is(
    pullErrorMessage([unauthorized, unauthorized]),
    'rpc error: code = Unknown desc = failed to pull: 401 Unauthorized',
  );
  t.is(
    pullErrorMessage([unauthorized, notFound]),
    '[rpc error: code = Unknown desc = failed to pull: 401 Unauthorized, rpc error: code = NotFound desc = y: not found]',
  );
  t.is(pullErrorMessage([new Error('plain')]), 'plain');
});
