/**
 * `bosun join` against a real `bosun server` on loopback, with a test-bed containerd as the node's
 * runtime: the happy path yields a node certificate issued by the cluster CA, and every failure the
 * issue names fails fast with one line.
 */
import test from 'ava';
import { createServer } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { run } from '../helpers/run.ts';
import { waitFor } from '../helpers/wait.ts';
import { createBed, type Bed } from '../bed/index.ts';
import { startServerProcess, type ServerProcess } from '../controlplane/server-process.ts';
import { parseKubeconfig } from '../../kube/kubeconfig.ts';
import { caCertHash, signDetached } from '../../kube/bootstrap.ts';
import { createCertificateAuthority, issueCertificate } from '../../controlplane/pki/certificates.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
let server: ServerProcess;
let bed: Bed;
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bosun-join-'));
  dirs.push(dir);
  return dir;
}

test.before(async () => {
  [server, bed] = await Promise.all([startServerProcess({ datastore: 'sqlite' }), createBed({ nodes: 1, images: [] })]);
});
test.after.always(async () => {
  await server?.destroy();
  await bed?.destroy();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh token's join command, once the server has signed cluster-info for it. */
async function joinCommand(...extra: string[]): Promise<string[]> {
  const created = await run([
    bosun,
    'token',
    'create',
    '--print-join-command',
    '--kubeconfig',
    server.kubeconfig,
    ...extra,
  ]);
  if (created.code !== 0) throw new Error(created.stderr);
  const [, ...args] = created.stdout.trim().split(' ');
  const id = args[args.indexOf('--token') + 1]!.slice(0, 6);
  await waitFor(
    async () => {
      const info = await run([
        'kubectl',
        '--kubeconfig',
        server.kubeconfig,
        'get',
        'configmap',
        '-n',
        'kube-public',
        'cluster-info',
        '-o',
        `jsonpath={.data.jws-kubeconfig-${id}}`,
      ]);
      return info.stdout !== '';
    },
    { what: `cluster-info signed for token ${id}`, timeoutMs: 15_000 },
  );
  return [bosun, ...args];
}

const nodeFlags = () => ['--no-start', '--container-runtime-endpoint', bed.nodes[0]!.criEndpoint];

test.serial(
  'join: discovery, TLS bootstrap, and a 0600 kubeconfig holding a node certificate from the cluster CA',
  async (t) => {
    const command = await joinCommand();
    const dir = tempDir();
    const result = await run([...command, ...nodeFlags(), '--node-name', 'worker-1', '--config-dir', dir], {
      timeoutMs: 90_000,
    });
    t.is(result.code, 0, result.stderr);
    const path = join(dir, 'agent.kubeconfig');
    t.is(statSync(path).mode & 0o777, 0o600);
    const kubeconfig = parseKubeconfig(readFileSync(path, 'utf8'), path);
    const cert = new X509Certificate(kubeconfig.client.cert!);
    t.regex(cert.subject, /CN=system:node:worker-1/);
    t.regex(cert.subject, /O=system:nodes/);
    t.true(
      cert.verify(new X509Certificate(readFileSync(join(server.dataDir, 'pki', 'ca.crt'))).publicKey),
      'issued by the cluster CA',
    );
    // the node identity works against the API server
    const api = await run(['kubectl', '--kubeconfig', path, 'get', '--raw', '/api']);
    t.is(api.code, 0, api.stderr);
    const csrs = await run(['kubectl', '--kubeconfig', server.kubeconfig, 'get', 'csr', '-o', 'json']);
    const items = (
      JSON.parse(csrs.stdout) as {
        items: { spec: { username: string }; status: { conditions?: { type: string }[] } }[];
      }
    ).items;
    t.true(
      items.some(
        (c) =>
          /^system:bootstrap:[a-z0-9]{6}$/.test(c.spec.username) &&
          c.status.conditions?.some((k) => k.type === 'Approved'),
      ),
      'the server recorded the bootstrap identity as the requester and approved it',
    );

    const again = await run([...command, ...nodeFlags(), '--node-name', 'worker-1', '--config-dir', dir]);
    t.is(again.code, 1);
    t.regex(again.stderr, /already joined .* run bosun reset first/);
  },
);

test.serial(
  'join fails fast and says why: wrong CA pin, unknown token, expired token, unreachable server, runtime down',
  async (t) => {
    const command = await joinCommand();
    const pinAt = command.indexOf('--discovery-token-ca-cert-hash') + 1;
    const wrongPin = [...command];
    wrongPin[pinAt] = `sha256:${'0'.repeat(64)}`;
    const cases: [string, string[], RegExp][] = [
      ['wrong CA pin', wrongPin, /matches none of the pinned hashes .* check --discovery-token-ca-cert-hash/],
      [
        'unknown token',
        [
          bosun,
          'join',
          server.url,
          '--token',
          'zzzzzz.0123456789abcdef',
          '--discovery-token-ca-cert-hash',
          command[pinAt]!,
        ],
        /does not know token zzzzzz .* bosun token create/,
      ],
      [
        'unreachable server',
        [
          bosun,
          'join',
          'https://127.0.0.1:1',
          '--token',
          'abcdef.0123456789abcdef',
          '--discovery-token-ca-cert-hash',
          command[pinAt]!,
        ],
        /cannot reach https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/,
      ],
    ];
    for (const [what, argv, message] of cases) {
      const started = Date.now();
      const result = await run([...argv, ...nodeFlags(), '--config-dir', tempDir()], { timeoutMs: 120_000 });
      t.is(result.code, 1, what);
      t.regex(result.stderr, message, what);
      t.is(
        result.stderr
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('bosun:')).length,
        1,
        `${what}: one line`,
      );
      // fast means no retrying until a discovery timeout (kubeadm's is 5 min); each figure is
      // logged, and only a failure that took a minute, far more than one attempt, fails the test
      const tookMs = Date.now() - started;
      t.log(`${what}: failed after ${tookMs} ms`);
      t.true(tookMs < 60_000, `${what}: fast (took ${tookMs} ms)`);
    }
    const down = await run([
      ...command,
      '--no-start',
      '--container-runtime-endpoint',
      'unix:///nonexistent/containerd.sock',
      '--config-dir',
      tempDir(),
    ]);
    t.is(down.code, 1);
    t.regex(down.stderr, /preflight: containerd is not usable at unix:\/\/\/nonexistent\/containerd\.sock/);

    const expiring = await joinCommand('--ttl', '3s');
    await waitFor(
      async () => {
        const r = await run([...expiring, ...nodeFlags(), '--config-dir', tempDir()]);
        return r.code === 1 && /does not know token/.test(r.stderr);
      },
      { what: 'the expired token disappearing from cluster-info', timeoutMs: 15_000 },
    );
    t.pass();
  },
);

test.serial('join refuses a server whose clock is more than 5 minutes off', async (t) => {
  // a stand-in server: valid, signed cluster-info, but a Date header 10 minutes in the future
  const ca = createCertificateAuthority('skewed-ca');
  const serving = issueCertificate(ca, { commonName: 'skewed', ipAddresses: ['127.0.0.1'], usage: 'server' });
  const token = { id: 'skewed', secret: '0123456789abcdef' };
  const kubeconfig = `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1\n    certificate-authority-data: ${Buffer.from(ca.cert).toString('base64')}\n`;
  const fake = createServer({ key: serving.key, cert: serving.cert }, (_req, res) => {
    res.setHeader('Date', new Date(Date.now() + 10 * 60 * 1000).toUTCString());
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ data: { kubeconfig, [`jws-kubeconfig-${token.id}`]: signDetached(kubeconfig, token) } }));
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', () => resolve()));
  try {
    const port = (fake.address() as AddressInfo).port;
    const result = await run([
      bosun,
      'join',
      `https://127.0.0.1:${port}`,
      '--token',
      `${token.id}.${token.secret}`,
      '--discovery-token-ca-cert-hash',
      caCertHash(ca.cert),
      ...nodeFlags(),
      '--config-dir',
      tempDir(),
    ]);
    t.is(result.code, 1);
    const seconds = Number(/clock is (\d+) s behind the server's .* fix the time/.exec(result.stderr)?.[1]);
    t.true(seconds >= 595 && seconds <= 605, result.stderr);
  } finally {
    fake.close();
  }
});
