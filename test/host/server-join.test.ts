/**
 * `bosun server join` against real processes: a first server on a real etcd (TLS, client
 * certificates) with Secrets encrypted at rest; `bosun token create --control-plane` seals the
 * shared keys into kube-system/bosun-certs; a second server laid out from them serves the same
 * cluster. Who may read the upload, what it is worth without the key, and that it expires.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../../kube/client.ts';
import { loadKubeconfig } from '../../kube/kubeconfig.ts';
import { caCertHash, parseBootstrapToken } from '../../kube/bootstrap.ts';
import { encryptionConfigYaml } from '../../host/init/at-rest-encryption.ts';
import { createBootstrapToken, defaultBootstrapGroup } from '../../host/init/bootstrap-token.ts';
import { openSecretData, parseCertificateKey } from '../../host/init/control-plane-material.ts';
import { uploadControlPlaneMaterial, type Upload } from '../../host/init/upload-control-plane-material.ts';
import { joinServer } from '../../host/init/join-server.ts';
import { fetchControlPlaneMaterial } from '../../host/join/control-plane-join.ts';
import { JoinError } from '../../host/join/errors.ts';
import { waitClusterInfoSigned } from '../../host/init/wait-cluster-info.ts';
import type { NodePaths } from '../../host/init/node-paths.ts';
import { startEtcd, type EtcdProcess } from '../controlplane/etcd-process.ts';
import {
  adminIdentity,
  call,
  namespaceAdmin,
  startServerProcess,
  userIdentity,
  type Identity,
  type ServerProcess,
} from '../controlplane/server-process.ts';
import { waitFor } from '../controlplane/ports.ts';
import { run } from '../helpers/run.ts';
import { controlPlaneTokenCommand } from '../helpers/control-plane-token.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');

const certsPath = '/api/v1/namespaces/kube-system/secrets/bosun-certs';

let etcd: EtcdProcess;
let first: ServerProcess;
let admin: Identity;
let client: KubeClient;
let folder: string;
let encryptionConfig: string;

test.before(async () => {
  folder = mkdtempSync(join(tmpdir(), 'bosun-server-join-'));
  encryptionConfig = join(folder, 'first-encryption.yaml');
  writeFileSync(encryptionConfig, encryptionConfigYaml(Buffer.alloc(32, 7)), { mode: 0o600 });
  etcd = await startEtcd();
  first = await startServerProcess({
    datastore: 'etcd',
    etcd,
    controllers: true,
    serverArgs: ['--encryption-provider-config', encryptionConfig],
  });
  admin = adminIdentity(first.dataDir);
  client = new KubeClient(loadKubeconfig(first.kubeconfig).client);
});

test.after.always(async () => {
  client?.close();
  await first?.destroy();
  await etcd?.destroy();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

async function upload(uploadTtlSeconds?: number): Promise<Upload> {
  const made = await uploadControlPlaneMaterial(client, {
    serverDataDir: first.dataDir,
    encryptionConfigPath: encryptionConfig,
    tokenTtlSeconds: 3600,
    ...(uploadTtlSeconds !== undefined ? { uploadTtlSeconds } : {}),
  });
  await waitClusterInfoSigned(client, made.token);
  return made;
}

function pathsIn(name: string): NodePaths {
  const root = join(folder, name);
  return {
    configDir: join(root, 'etc'),
    dataDir: join(root, 'var'),
    runDir: join(root, 'run'),
    logDir: join(root, 'log'),
    defaultsDir: join(root, 'default'),
  };
}

/** `bosun server join --no-start` with this upload's token, into `paths`. */
function joinLaidOut(made: Upload, paths: NodePaths, certificateKey: Buffer, serverArgs: string[]) {
  return joinServer({
    server: first.url,
    token: parseBootstrapToken(made.token)!,
    tokenText: made.token,
    pins: [caCertHash(readFileSync(join(first.dataDir, 'pki/ca.crt'), 'utf8'))],
    certificateKey,
    paths,
    advertiseAddress: '127.0.0.1',
    bindAddress: '127.0.0.1',
    port: 6443,
    serverArgs,
    start: false,
    say: () => undefined,
  });
}

async function storedCerts(): Promise<unknown> {
  const reply = await call(first, 'GET', certsPath, admin);
  return reply.status === 200 ? reply.body.data : reply.status;
}

test.serial('a joined server serves the same cluster: same CA, secrets and service-account tokens', async (t) => {
  const made = await upload();
  const paths = pathsIn('second');
  const result = await joinLaidOut(made, paths, parseCertificateKey(made.certificateKey)!, [
    '--datastore',
    'etcd',
    ...etcd.serverFlags,
  ]);
  const encryptionFlag = result.serverArgs.indexOf('--encryption-provider-config');
  t.true(encryptionFlag >= 0, 'the joined server encrypts with the cluster keys');
  const joinedEncryption = result.serverArgs[encryptionFlag + 1]!;
  t.is(readFileSync(joinedEncryption, 'utf8'), readFileSync(encryptionConfig, 'utf8'));
  t.true(result.serverArgs.includes('--etcd-endpoints'));

  const second = await startServerProcess({
    datastore: 'etcd',
    etcd,
    dataDir: join(paths.dataDir, 'server'),
    serverArgs: ['--encryption-provider-config', joinedEncryption],
  });
  try {
    for (const file of ['ca.crt', 'sa.key', 'front-proxy-ca.crt']) {
      t.is(
        readFileSync(join(second.dataDir, 'pki', file), 'utf8'),
        readFileSync(join(first.dataDir, 'pki', file), 'utf8'),
        file,
      );
    }
    // its own serving certificate, issued from the shared CA (call() verifies it with that CA)
    t.not(
      readFileSync(join(second.dataDir, 'pki/apiserver.crt'), 'utf8'),
      readFileSync(join(first.dataDir, 'pki/apiserver.crt'), 'utf8'),
    );
    const secret = { metadata: { name: 'shared', namespace: 'default' }, stringData: { password: 'through-first' } };
    t.is((await call(first, 'POST', '/api/v1/namespaces/default/secrets', admin, secret)).status, 201);
    const read = await call(second, 'GET', '/api/v1/namespaces/default/secrets/shared', adminIdentity(second.dataDir));
    t.is(read.status, 200, JSON.stringify(read.body));
    t.is(Buffer.from(read.body.data.password, 'base64').toString(), 'through-first');
    // a token signed by the first server verifies on the second
    const request = await call(first, 'POST', '/api/v1/namespaces/default/serviceaccounts/default/token', admin, {
      spec: { expirationSeconds: 600 },
    });
    t.is(request.status, 201, JSON.stringify(request.body));
    const review = await call(second, 'GET', '/api/v1/namespaces/default/serviceaccounts', {
      token: request.body.status.token,
    });
    // authenticated (403: the default account may not list), not refused as unknown (401)
    t.is(review.status, 403, 'the second server knows the first server’s service-account key');
  } finally {
    await second.destroy();
  }
});

test.serial('a worker join token, a namespace admin or a node cannot read the control-plane material', async (t) => {
  await upload();
  const before = await storedCerts();
  const worker = await createBootstrapToken(client, {
    ttlSeconds: 600,
    usages: ['signing', 'authentication'],
    groups: [defaultBootstrapGroup],
    description: 'worker',
  });
  await waitClusterInfoSigned(client, worker);
  const hostile: [string, Identity][] = [
    ['worker token', { token: worker }],
    ['namespace admin', await namespaceAdmin(first, 'tenant', 'alice')],
    ['node', userIdentity(first.dataDir, 'system:node:n1', ['system:nodes'])],
    ['anonymous', {}],
  ];
  for (const [who, identity] of hostile) {
    const reply = await call(first, 'GET', certsPath, identity);
    t.true(reply.status === 403 || reply.status === 401, `${who}: ${reply.status}`);
    t.is(reply.body.data, undefined, who);
    const list = await call(first, 'GET', '/api/v1/namespaces/kube-system/secrets', identity);
    t.true(list.status === 403 || list.status === 401, `${who} lists: ${list.status}`);
    const overwrite = await call(first, 'PUT', certsPath, identity, {
      metadata: { name: 'bosun-certs', namespace: 'kube-system' },
      data: {},
    });
    t.true(overwrite.status === 403 || overwrite.status === 401, `${who} writes: ${overwrite.status}`);
  }
  const error = await t.throwsAsync(
    fetchControlPlaneMaterial(
      first.url,
      readFileSync(join(first.dataDir, 'pki/ca.crt'), 'utf8'),
      worker,
      Buffer.alloc(32),
    ),
  );
  t.true(error instanceof JoinError && error.code === 'JOIN_BAD_TOKEN', error?.message);
  t.deepEqual(await storedCerts(), before, 'nothing was changed');
  t.is((await call(first, 'GET', '/api/v1/namespaces', admin)).status, 200, 'the server still serves');
});

test.serial('without the certificate key the upload is useless, and nothing is laid out', async (t) => {
  const made = await upload();
  const reply = await call(first, 'GET', certsPath, { token: made.token });
  t.is(reply.status, 200, 'a control-plane token reads the sealed upload');
  const data = reply.body.data as Record<string, string>;
  t.deepEqual(Object.keys(data).sort(), [
    'ca.crt',
    'ca.key',
    'encryption-config.yaml',
    'front-proxy-ca.crt',
    'front-proxy-ca.key',
    'sa.key',
  ]);
  for (const [name, value] of Object.entries(data)) {
    const bytes = Buffer.from(value, 'base64').toString('latin1');
    t.false(/PRIVATE KEY|CERTIFICATE|EncryptionConfiguration/.test(bytes), `${name} is not stored in clear`);
  }
  const otherKey = Buffer.from('11'.repeat(32), 'hex');
  t.like(openSecretData(otherKey, data), { ok: false, reason: 'wrong-key' });
  const paths = pathsIn('no-key');
  const error = await t.throwsAsync(joinLaidOut(made, paths, otherKey, []));
  t.true(error instanceof JoinError && error.code === 'JOIN_BAD_CERTIFICATE_KEY', error?.message);
  t.throws(() => readFileSync(join(paths.dataDir, 'server/pki/ca.key')), undefined, 'no key was written');
});

test.serial('a control-plane token reads that one Secret and nothing else, and may change nothing', async (t) => {
  const made = await upload();
  const before = await storedCerts();
  const identity = { token: made.token };
  const refused: [string, string, unknown?][] = [
    ['GET', '/api/v1/namespaces/kube-system/secrets'],
    ['GET', `/api/v1/namespaces/kube-system/secrets/bootstrap-token-${made.token.slice(0, 6)}`],
    ['GET', '/api/v1/namespaces/default/secrets'],
    ['PUT', certsPath, { metadata: { name: 'bosun-certs', namespace: 'kube-system' }, data: {} }],
    ['DELETE', certsPath],
    ['POST', '/api/v1/namespaces/kube-system/secrets', { metadata: { name: 'bosun-certs-2' }, data: {} }],
  ];
  for (const [method, path, body] of refused) {
    const reply = await call(first, method, path, identity, body);
    t.is(reply.status, 403, `${method} ${path}: ${reply.status}`);
  }
  t.deepEqual(await storedCerts(), before, 'the upload is unchanged');
  t.is((await call(first, 'GET', '/api/v1/namespaces/kube-system/secrets/bosun-certs-2', admin)).status, 404);
});

test.serial("a data folder that holds another cluster's CA is not overwritten", async (t) => {
  const made = await upload();
  const paths = pathsIn('other-cluster');
  const pki = join(paths.dataDir, 'server', 'pki');
  mkdirSync(pki, { recursive: true });
  writeFileSync(join(pki, 'ca.crt'), 'another cluster');
  const error = await t.throwsAsync(joinLaidOut(made, paths, parseCertificateKey(made.certificateKey)!, []));
  t.true(error instanceof JoinError && error.code === 'JOIN_ALREADY_JOINED', error?.message);
  t.is(readFileSync(join(pki, 'ca.crt'), 'utf8'), 'another cluster');
  t.throws(() => readFileSync(join(pki, 'ca.key')), undefined, 'no key was written beside it');
});

test.serial(
  'the commands: token create --control-plane prints the server join line, which lays the server out',
  async (t) => {
    const created = await run(
      controlPlaneTokenCommand(bosun, { kubeconfig: first.kubeconfig, dataDir: first.dataDir, encryptionConfig }),
    );
    t.is(created.code, 0, created.stderr);
    const line = created.stdout.trim();
    t.regex(
      line,
      /^bosun server join https:\/\/\S+ --token \S+ --discovery-token-ca-cert-hash sha256:[0-9a-f]{64} --certificate-key [0-9a-f]{64}$/,
    );
    const paths = pathsIn('cli');
    const joined = await run([
      bosun,
      ...line.split(' ').slice(1),
      '--no-start',
      '--advertise-address',
      '127.0.0.1',
      '--config-dir',
      paths.configDir,
      '--data-dir',
      paths.dataDir,
      '--log-dir',
      paths.logDir,
      ...etcd.serverFlags,
    ]);
    t.is(joined.code, 0, joined.stderr);
    t.regex(joined.stdout, /^bosun server --data-dir \S+ .*--datastore etcd --etcd-endpoints /);
    t.is(
      readFileSync(join(paths.dataDir, 'server/pki/ca.key'), 'utf8'),
      readFileSync(join(first.dataDir, 'pki/ca.key'), 'utf8'),
    );
    const refused = await run([
      bosun,
      ...line
        .split(' ')
        .slice(1)
        .map((w) => (/^[0-9a-f]{64}$/.test(w) ? 'zz' : w)),
      '--no-start',
    ]);
    t.is(refused.code, 2, 'a malformed certificate key is a usage error');
    t.regex(refused.stderr, /--certificate-key/);
  },
);

test.serial('an upload is gone once its lifetime ends, with the token that carried it', async (t) => {
  const made = await upload(2);
  t.is((await call(first, 'GET', certsPath, admin)).status, 200);
  await waitFor(
    'the expired upload to be removed',
    async () => (await call(first, 'GET', certsPath, admin)).status === 404,
    30_000,
  );
  const error = await t.throwsAsync(
    fetchControlPlaneMaterial(
      first.url,
      readFileSync(join(first.dataDir, 'pki/ca.crt'), 'utf8'),
      made.token,
      parseCertificateKey(made.certificateKey)!,
    ),
  );
  t.true(error instanceof JoinError && error.code === 'JOIN_NO_CONTROL_PLANE_MATERIAL', error?.message);
});
