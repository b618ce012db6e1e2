/**
 * `bosun token` against a real `bosun server`: tokens are Secrets of the published shape, the
 * server authenticates with them, join commands carry the CA pin, bad input is one line.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../helpers/run.ts';
import { startServerProcess, type ServerProcess } from '../controlplane/server-process.ts';
import { caCertHash } from '../../kube/bootstrap.ts';
import { parseKubeconfig } from '../../kube/kubeconfig.ts';
import { KubeClient } from '../../kube/client.ts';
import { refs } from '../../kube/resource-ref.ts';
import type { ApiError } from '../../kube/errors.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
let server: ServerProcess;
const token = (...args: string[]) => run([bosun, 'token', ...args, '--kubeconfig', server.kubeconfig]);

test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
});
test.after.always(async () => {
  await server?.destroy();
});

test.serial(
  'create stores a bootstrap token Secret that list shows and the server accepts as a credential',
  async (t) => {
    const created = await token('create', '--ttl', '2h', '--description', 'for node-7');
    t.is(created.code, 0, created.stderr);
    const value = created.stdout.trim();
    t.regex(value, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);

    const secret = await run([
      'kubectl',
      '--kubeconfig',
      server.kubeconfig,
      'get',
      'secret',
      '-n',
      'kube-system',
      `bootstrap-token-${value.slice(0, 6)}`,
      '-o',
      'json',
    ]);
    t.is(secret.code, 0, secret.stderr);
    const parsed = JSON.parse(secret.stdout) as { type: string; data: Record<string, string> };
    const decoded = Object.fromEntries(
      Object.entries(parsed.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
    );
    t.is(parsed.type, 'bootstrap.kubernetes.io/token');
    t.is(decoded['token-id'], value.slice(0, 6));
    t.is(decoded['token-secret'], value.slice(7));
    t.is(decoded['usage-bootstrap-authentication'], 'true');
    t.is(decoded['usage-bootstrap-signing'], 'true');
    const ttl = (Date.parse(decoded.expiration!) - Date.now()) / 1000;
    t.true(ttl > 7000 && ttl <= 7200, `expires in about 2 h (${ttl} s)`);

    const listed = await token('list', '-o', 'json');
    const tokens = JSON.parse(listed.stdout) as { token: string; description: string; ttl: string }[];
    t.deepEqual(
      tokens.filter((x) => x.token === value).map((x) => [x.description, x.ttl]),
      [['for node-7', '1h']],
    );

    // the token is a credential: the server lets it do what bootstrappers do (read CSRs), and
    // refuses the same request with a made-up token
    const ca = readFileSync(join(server.dataDir, 'pki', 'ca.crt'), 'utf8');
    const asToken = (bearer: string) => new KubeClient({ server: server.url, ca, token: bearer });
    const good = asToken(value);
    const bad = asToken('abcdef.0123456789abcdef');
    try {
      await t.notThrowsAsync(good.list(refs.certificatesigningrequests));
      const refused = await t.throwsAsync(bad.list(refs.certificatesigningrequests));
      t.is((refused as ApiError).code, 401);
    } finally {
      good.close();
      bad.close();
    }
  },
);

test.serial('--print-join-command names the server, the token and the pin of the cluster CA', async (t) => {
  const created = await token('create', '--print-join-command');
  t.is(created.code, 0, created.stderr);
  const kubeconfig = parseKubeconfig(readFileSync(server.kubeconfig, 'utf8'), server.kubeconfig);
  t.regex(
    created.stdout.trim(),
    new RegExp(
      `^bosun join ${kubeconfig.client.server.replaceAll('.', '\\.')} --token [a-z0-9]{6}\\.[a-z0-9]{16} --discovery-token-ca-cert-hash ${caCertHash(kubeconfig.client.ca)}$`,
    ),
  );
});

test.serial('delete removes the Secret; deleting an unknown token fails and says which', async (t) => {
  const value = (await token('create')).stdout.trim();
  const deleted = await token('delete', value);
  t.is(deleted.code, 0, deleted.stderr);
  const listed = JSON.parse((await token('list', '-o', 'json')).stdout) as { token: string }[];
  t.false(listed.some((x) => x.token === value));
  const missing = await token('delete', 'zzzzzz');
  t.is(missing.code, 1);
  t.regex(missing.stderr, /^bosun: deleting token zzzzzz: .*not found\n$/);
});

test('bad input is a usage error in one line and creates nothing', async (t) => {
  const before = (await token('list', '-o', 'json')).stdout;
  for (const [args, pattern] of [
    [['create', '--ttl', '5x'], /--ttl 5x: use a duration/],
    [['create', '--usages', 'signing,teleport'], /unknown usage teleport/],
    [['create', '--groups', 'system:masters'], /must start with system:bootstrappers:/],
    [['delete', 'NOT-AN-ID'], /is not a token id/],
  ] as const) {
    const result = await token(...args);
    t.is(result.code, 2, args.join(' '));
    t.regex(result.stderr, pattern);
    t.is(result.stderr.trim().split('\n').length, 1);
  }
  t.is((await token('list', '-o', 'json')).stdout, before);
  const noConfig = await run([bosun, 'token', 'list', '--kubeconfig', '/nonexistent/admin.kubeconfig']);
  t.is(noConfig.code, 1);
  t.is(
    noConfig.stderr.trim(),
    'bosun: kubeconfig /nonexistent/admin.kubeconfig does not exist (pass --kubeconfig, or run on a server node)',
  );
});
