/**
 * Secrets encrypted at rest (--encryption-provider-config), on both datastores: the stored bytes
 * are upstream's envelope (`k8s:enc:aescbc:v1:<key>:` + IV + AES-CBC ciphertext), never the
 * plaintext; reads, lists and watches decrypt; key rotation as upstream documents it keeps every
 * secret readable; an identity-first config reads encrypted values and writes plain ones; a bad
 * config stops the server with one line and exit code 2.
 */
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Etcd3 } from 'etcd3';
import { ValueTransformer } from '../../../controlplane/encryption/value-transformer.ts';
import { etcdCredentials } from '../../../controlplane/storage/etcd.ts';
import { startEtcd, type EtcdProcess } from '../etcd-process.ts';
import { adminIdentity, call, startServerProcess, type Identity, type ServerProcess } from '../server-process.ts';

const key1 = randomBytes(32);
const key2 = randomBytes(32);
const plaintext = 'hunter2-at-rest';
const b64 = (s: string) => Buffer.from(s).toString('base64');

type Provider =
  | { aescbc: { keys: { name: string; secret: string }[] } }
  | { identity: Record<string, never> }
  | Record<string, unknown>;
const aescbc = (...keys: [string, Buffer][]): Provider => ({
  aescbc: { keys: keys.map(([name, secret]) => ({ name, secret: secret.toString('base64') })) },
});
const identity: Provider = { identity: {} };

function encryptionConfig(providers: Provider[]): string {
  return JSON.stringify({
    kind: 'EncryptionConfiguration',
    apiVersion: 'apiserver.config.k8s.io/v1',
    resources: [{ resources: ['secrets'], providers }],
  });
}

const folder = mkdtempSync(join(tmpdir(), `bosun-encryption-${process.pid}-`));
const configPath = join(folder, 'encryption.yaml');
const writeConfig = (providers: Provider[]) => writeFileSync(configPath, encryptionConfig(providers), { mode: 0o600 });

let server: ServerProcess;
let admin: Identity;
test.before(async () => {
  writeConfig([aescbc(['key1', key1]), identity]);
  server = await startServerProcess({ datastore: 'sqlite', serverArgs: ['--encryption-provider-config', configPath] });
  admin = adminIdentity(server.dataDir);
});
test.after.always(async () => {
  await server?.destroy();
  rmSync(folder, { recursive: true, force: true });
});

/** The raw bytes sqlite holds for a key (the server keeps running: WAL lets us read beside it). */
function sqliteRow(dataDir: string, key: string): Buffer | undefined {
  const db = new DatabaseSync(join(dataDir, 'db', 'state.db'), { readOnly: true });
  try {
    const row = db.prepare('SELECT value FROM kv WHERE key = ?').get(key) as { value: string | Uint8Array } | undefined;
    if (row === undefined) return undefined;
    return typeof row.value === 'string' ? Buffer.from(row.value, 'utf8') : Buffer.from(row.value);
  } finally {
    db.close();
  }
}

/** Decrypts upstream's aescbc envelope by hand: proof of the exact byte layout. */
function openAescbc(stored: Buffer, name: string, secret: Buffer): unknown {
  const prefix = Buffer.from(`k8s:enc:aescbc:v1:${name}:`);
  if (!stored.subarray(0, prefix.length).equals(prefix))
    throw new Error(`stored value starts with ${stored.subarray(0, 40).toString('latin1')}`);
  const body = stored.subarray(prefix.length);
  const decipher = createDecipheriv('aes-256-cbc', secret, body.subarray(0, 16));
  return JSON.parse(Buffer.concat([decipher.update(body.subarray(16)), decipher.final()]).toString('utf8'));
}

const secret = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name },
  data: { password: b64(plaintext) },
  stringData: undefined,
});

async function createSecret(t: { is: (a: unknown, b: unknown, m?: string) => void }, name: string): Promise<void> {
  const reply = await call(server, 'POST', '/api/v1/namespaces/default/secrets', admin, secret(name));
  t.is(reply.status, 201, JSON.stringify(reply.body));
}

function assertNoPlaintext(t: { false: (v: boolean, m?: string) => void }, stored: Buffer): void {
  const text = stored.toString('latin1');
  t.false(text.includes(plaintext), 'plaintext in the datastore');
  t.false(text.includes(b64(plaintext)), 'base64 plaintext in the datastore');
  t.false(text.includes('"password"'), 'field names in the datastore');
}

test.serial(
  "sqlite: the row is upstream's aescbc envelope, never the plaintext; other resources stay plain",
  async (t) => {
    await createSecret(t, 'x');
    const stored = sqliteRow(server.dataDir, '/registry/secrets/default/x')!;
    t.true(stored.toString('latin1').startsWith('k8s:enc:aescbc:v1:key1:'));
    assertNoPlaintext(t, stored);
    const decrypted = openAescbc(stored, 'key1', key1) as { data: Record<string, string> };
    t.is(decrypted.data['password'], b64(plaintext));

    t.is(
      (
        await call(server, 'POST', '/api/v1/namespaces/default/configmaps', admin, {
          metadata: { name: 'plain' },
          data: { k: plaintext },
        })
      ).status,
      201,
    );
    t.true(sqliteRow(server.dataDir, '/registry/configmaps/default/plain')!.toString('utf8').includes(plaintext));
  },
);

test.serial('reads, lists and watches decrypt', async (t) => {
  const before = await call(server, 'GET', '/api/v1/namespaces/default/secrets', admin);
  t.is(before.status, 200);
  const watch = call(
    server,
    'GET',
    `/api/v1/namespaces/default/secrets?watch=1&timeoutSeconds=2&resourceVersion=${before.body.metadata.resourceVersion}`,
    admin,
  );
  await createSecret(t, 'watched');
  const got = await call(server, 'GET', '/api/v1/namespaces/default/secrets/x', admin);
  t.is(got.status, 200);
  t.is(got.body.data.password, b64(plaintext));
  const list = await call(server, 'GET', '/api/v1/namespaces/default/secrets', admin);
  t.deepEqual(
    list.body.items.map((s: { data: { password: string } }) => s.data.password),
    [b64(plaintext), b64(plaintext)],
  );
  const body = (await watch).body;
  const events =
    typeof body === 'string'
      ? body
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line))
      : [body];
  t.deepEqual(
    events.map((e: { type: string; object: { metadata: { name: string }; data: { password: string } } }) => [
      e.type,
      e.object.metadata.name,
      e.object.data.password,
    ]),
    [['ADDED', 'watched', b64(plaintext)]],
  );
});

const names = ['rot-a', 'rot-b', 'rot-c'];

test.serial('rotation as upstream documents it keeps every secret readable', async (t) => {
  for (const name of names) await createSecret(t, name);
  // 1. the new key first, the old one still there to read; restart
  writeConfig([aescbc(['key2', key2], ['key1', key1]), identity]);
  server = await server.restart();
  for (const name of names)
    t.is(
      (await call(server, 'GET', `/api/v1/namespaces/default/secrets/${name}`, admin)).body.data?.password,
      b64(plaintext),
    );
  t.true(
    sqliteRow(server.dataDir, '/registry/secrets/default/rot-a')!
      .toString('latin1')
      .startsWith('k8s:enc:aescbc:v1:key1:'),
  );
  // an update that changes nothing still moves a value to the writing key (upstream's "stale" read)
  const current = (await call(server, 'GET', '/api/v1/namespaces/default/secrets/rot-a', admin)).body;
  t.is((await call(server, 'PUT', '/api/v1/namespaces/default/secrets/rot-a', admin, current)).status, 200);
  t.true(
    sqliteRow(server.dataDir, '/registry/secrets/default/rot-a')!
      .toString('latin1')
      .startsWith('k8s:enc:aescbc:v1:key2:'),
  );
  // 2. rewrite every secret, with upstream's documented command and the machine's kubectl
  const rewrite = await new Promise<{ code: number; stderr: string }>((done) =>
    execFile(
      'sh',
      ['-c', 'kubectl get secrets -A -o json | kubectl replace -f -'],
      { env: { ...process.env, KUBECONFIG: server.kubeconfig }, timeout: 60_000 },
      (err, _stdout, stderr) => done({ code: err ? 1 : 0, stderr }),
    ),
  );
  t.is(rewrite.code, 0, rewrite.stderr);
  for (const name of names) {
    const stored = sqliteRow(server.dataDir, `/registry/secrets/default/${name}`)!;
    t.is((openAescbc(stored, 'key2', key2) as { data: Record<string, string> }).data['password'], b64(plaintext));
  }
  // 3. drop the old key; restart
  writeConfig([aescbc(['key2', key2]), identity]);
  server = await server.restart();
  for (const name of names) {
    const reply = await call(server, 'GET', `/api/v1/namespaces/default/secrets/${name}`, admin);
    t.is(reply.status, 200, JSON.stringify(reply.body));
    t.is(reply.body.data.password, b64(plaintext));
  }
  // and every other secret of the cluster too: a list fails if a single one cannot be read
  const everything = await call(server, 'GET', '/api/v1/secrets', admin);
  t.is(everything.status, 200, JSON.stringify(everything.body));
});

test.serial('identity first: encrypted values stay readable, new ones are written plain', async (t) => {
  writeConfig([identity, aescbc(['key2', key2])]);
  server = await server.restart();
  t.is(
    (await call(server, 'GET', '/api/v1/namespaces/default/secrets/rot-a', admin)).body.data?.password,
    b64(plaintext),
  );
  await createSecret(t, 'plain-now');
  t.true(sqliteRow(server.dataDir, '/registry/secrets/default/plain-now')!.toString('utf8').includes(b64(plaintext)));
  // and a key that is gone leaves its values unreadable: a 500 in upstream's words, not a crash
  writeConfig([aescbc(['key3', randomBytes(32)])]);
  server = await server.restart();
  const lost = await call(server, 'GET', '/api/v1/namespaces/default/secrets/rot-a', admin);
  t.is(lost.status, 500);
  t.is(
    lost.body.message,
    'Internal error occurred: unable to transform key "/registry/secrets/default/rot-a": no matching prefix found',
  );
  t.is((await call(server, 'GET', '/api/v1/namespaces/default/configmaps/plain', admin)).status, 200);
});

const repo = resolve(import.meta.dirname, '../../..');
function runServer(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      [join(repo, 'cli/main.ts'), 'server', '--data-dir', join(folder, 'never'), '--secure-port', '0', ...args],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => done({ code, stderr }));
  });
}

test('a bad config stops the server with one line and exit code 2', async (t) => {
  const cases: [string, string, RegExp][] = [
    [
      'secretbox',
      encryptionConfig([{ secretbox: { keys: [{ name: 'k', secret: randomBytes(32).toString('base64') }] } }]),
      /resources\[0\]\.providers\[0\]\.secretbox: Unsupported value: "secretbox"/,
    ],
    [
      'kms',
      encryptionConfig([{ kms: { name: 'vault', endpoint: 'unix:///kms.sock' } }]),
      /providers\[0\]\.kms: Unsupported value: "kms"/,
    ],
    [
      'short',
      encryptionConfig([aescbc(['k', randomBytes(10)])]),
      /secret is not of the expected length, got 10, expected one of \[16 24 32\]/,
    ],
    [
      'kind',
      JSON.stringify({ kind: 'EncryptionConfig', apiVersion: 'v1', resources: [] }),
      /want kind "EncryptionConfiguration"/,
    ],
    ['yaml', 'resources: [', /not valid YAML/],
  ];
  await Promise.all(
    cases.map(async ([name, text, message]) => {
      const path = join(folder, `bad-${name}.yaml`);
      writeFileSync(path, text);
      const result = await runServer(['--encryption-provider-config', path]);
      t.is(result.code, 2, name);
      t.is(result.stderr.trim().split('\n').length, 1, `${name}: ${result.stderr}`);
      t.regex(result.stderr, message, name);
    }),
  );
  const missing = await runServer(['--encryption-provider-config', join(folder, 'nope.yaml')]);
  t.is(missing.code, 2);
  t.regex(missing.stderr.trim(), /^[^\n]*nope\.yaml: no such file$/);
});

test.serial(
  'etcd: `get /registry/secrets/default/x` is the envelope, never the plaintext; reads decrypt',
  async (t) => {
    let etcd: EtcdProcess | undefined;
    let onEtcd: ServerProcess | undefined;
    const client = () =>
      new Etcd3({
        hosts: [etcd!.endpoint],
        ...(etcd!.clientTls ? { credentials: etcdCredentials(etcd!.clientTls) } : {}),
      });
    try {
      etcd = await startEtcd();
      const path = join(folder, 'etcd-encryption.yaml');
      writeFileSync(path, encryptionConfig([aescbc(['key1', key1])]), { mode: 0o600 });
      onEtcd = await startServerProcess({
        datastore: 'etcd',
        etcd,
        serverArgs: ['--encryption-provider-config', path],
      });
      const etcdAdmin = adminIdentity(onEtcd.dataDir);
      t.is((await call(onEtcd, 'POST', '/api/v1/namespaces/default/secrets', etcdAdmin, secret('x'))).status, 201);
      const kv = client();
      try {
        const stored = (await kv.get('/registry/secrets/default/x').buffer())!;
        t.true(stored.toString('latin1').startsWith('k8s:enc:aescbc:v1:key1:'));
        assertNoPlaintext(t, stored);
        t.is((openAescbc(stored, 'key1', key1) as { data: Record<string, string> }).data['password'], b64(plaintext));
      } finally {
        kv.close();
      }
      t.is(
        (await call(onEtcd, 'GET', '/api/v1/namespaces/default/secrets/x', etcdAdmin)).body.data.password,
        b64(plaintext),
      );
    } finally {
      await onEtcd?.destroy();
      await etcd?.destroy();
    }
  },
);

test('aesgcm: the storage key is authenticated, so a value moved under another key does not decrypt', (t) => {
  const transformer = new ValueTransformer([{ kind: 'aesgcm', keys: [{ name: 'g1', secret: key1 }] }]);
  const stored = transformer.toStorage('{"data":"x"}', '/registry/secrets/default/a');
  t.true(stored.startsWith('k8s:enc:aesgcm:v1:g1:'));
  t.is(Buffer.from(stored, 'latin1').length, 'k8s:enc:aesgcm:v1:g1:'.length + 12 + '{"data":"x"}'.length + 16);
  t.deepEqual(transformer.fromStorage(stored, '/registry/secrets/default/a'), { value: '{"data":"x"}', stale: false });
  t.throws(() => transformer.fromStorage(stored, '/registry/secrets/default/b'), {
    message: /k8s:enc:aesgcm:v1:g1: could not decrypt/,
  });
  t.throws(() => transformer.fromStorage('{"plain":true}', '/registry/secrets/default/a'), {
    message: 'no matching prefix found',
  });
});
