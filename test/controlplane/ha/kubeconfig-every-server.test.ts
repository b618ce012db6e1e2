/**
 * kubectl and several servers: `bosun kubeconfig --all-servers` writes a kubeconfig with a context
 * per live server (from the `kubernetes` Endpoints); once the first server is killed with -9, real
 * kubectl still works through another server's context with that kubeconfig.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { kubectl, kubectlOk } from '../../bed/kubectl.ts';
import { startEtcd, type EtcdProcess } from '../etcd-process.ts';
import { waitFor } from '../ports.ts';
import { kubeconfigYaml } from '../../../controlplane/pki/kubeconfig.ts';
import { adminIdentity, call, namespaceAdmin } from '../server-process.ts';
import { startHaServer, stopHaServers, type HaServer } from './servers.ts';

const repo = resolve(import.meta.dirname, '../../..');
let etcd: EtcdProcess;
const servers: HaServer[] = [];
const folder = mkdtempSync(join(tmpdir(), 'bosun-kubeconfig-'));

test.before(async () => {
  etcd = await startEtcd();
  for (let i = 0; i < 3; i++)
    servers.push(
      await startHaServer({
        etcdFlags: etcd.serverFlags,
        controllers: false,
        // reachable where they say they are: each on 127.0.0.1 with a port of its own
        serverArgs: ['--advertise-address', '127.0.0.1', '--apiserver-lease-renew-interval', '1s'],
        ...(servers[0] ? { sharePkiWith: servers[0].process } : {}),
      }),
    );
});

test.after.always(async () => {
  await stopHaServers(servers);
  await etcd?.destroy();
  rmSync(folder, { recursive: true, force: true });
});

/** `bosun kubeconfig ...` as a user runs it. */
function bosunKubeconfig(args: readonly string[]) {
  return promisify(execFile)(process.execPath, [join(repo, 'cli/main.ts'), 'kubeconfig', ...args], {
    timeout: 60_000,
  });
}

const context = (server: HaServer) => `bosun-127.0.0.1:${server.process.port}`;

test.serial('a namespace admin cannot read the servers: one line, exit 1, no file written', async (t) => {
  const through = servers[1]!.process;
  const identity = await namespaceAdmin(through, 'team-a', 'alice');
  const own = join(folder, 'alice.kubeconfig');
  writeFileSync(
    own,
    kubeconfigYaml({
      cluster: 'bosun',
      server: through.url,
      caPem: readFileSync(join(through.dataDir, 'pki/ca.crt'), 'utf8'),
      user: 'alice',
      clientCertPem: identity.cert!,
      clientKeyPem: identity.key!,
    }),
    { mode: 0o600 },
  );
  const out = join(folder, 'alice-every-server.kubeconfig');
  const refused = await t.throwsAsync(bosunKubeconfig(['--all-servers', '--kubeconfig', own, '-o', out]));
  t.is((refused as { code?: number }).code, 1);
  t.regex(
    (refused as { stderr?: string }).stderr ?? '',
    /^bosun: reading the kubernetes Service's endpoints from .*forbidden.*\n$/,
  );
  t.false(existsSync(out));
});

test.serial(
  'after kill -9 of the first server, kubectl --context <another server> works with the kubeconfig',
  async (t) => {
    const [first, second, third] = servers as [HaServer, HaServer, HaServer];
    await waitFor('all three servers in the kubernetes endpoints', async () => {
      const reply = await call(
        first.process,
        'GET',
        '/api/v1/namespaces/default/endpoints/kubernetes',
        adminIdentity(first.process.dataDir),
      );
      return (reply.body.subsets ?? []).length === 3;
    });
    const path = join(folder, 'every-server.kubeconfig');
    const { stderr } = await bosunKubeconfig(['--all-servers', '--kubeconfig', first.process.kubeconfig, '-o', path]);
    t.log(stderr.trim());
    t.is(statSync(path).mode & 0o777, 0o600, 'credentials are for its owner only');
    const contexts = (await kubectlOk({ kubeconfig: path }, ['config', 'get-contexts', '-o', 'name']))
      .trim()
      .split('\n');
    t.deepEqual(contexts.sort(), ['kubernetes-admin@bosun', context(first), context(second), context(third)].sort());
    t.is((await kubectlOk({ kubeconfig: path }, ['config', 'current-context'])).trim(), 'kubernetes-admin@bosun');

    await first.process.kill();
    // the kubeconfig's own server is gone; every other server's context still answers
    const dead = await kubectl({ kubeconfig: path }, ['--request-timeout', '5s', 'get', 'namespace', 'default']);
    t.not(dead.code, 0);
    t.is(
      await kubectlOk({ kubeconfig: path }, [
        '--context',
        context(second),
        'get',
        'namespace',
        'default',
        '-o',
        'name',
      ]),
      'namespace/default\n',
    );
    await kubectlOk({ kubeconfig: path }, [
      '--context',
      context(third),
      'create',
      'configmap',
      'after-kill',
      '--from-literal=a=b',
    ]);
    t.is(
      await kubectlOk({ kubeconfig: path }, [
        '--context',
        context(second),
        'get',
        'configmap',
        'after-kill',
        '-o',
        'jsonpath={.data.a}',
      ]),
      'b',
    );
  },
);

test.serial(
  'a kubeconfig whose server cannot be reached, or that does not exist, is one line and a failure code',
  async (t) => {
    const missing = await t.throwsAsync(bosunKubeconfig(['--all-servers', '--kubeconfig', join(folder, 'nope')]));
    t.is((missing as { code?: number }).code, 2);
    t.regex(
      (missing as { stderr?: string }).stderr ?? '',
      /^bosun: kubeconfig .*nope does not exist \(pass --kubeconfig\)\n$/,
    );
    // the first server is dead by now (the test before killed it)
    const unreachable = await t.throwsAsync(
      bosunKubeconfig(['--all-servers', '--kubeconfig', servers[0]!.process.kubeconfig]),
    );
    t.is((unreachable as { code?: number }).code, 1);
    t.regex(
      (unreachable as { stderr?: string }).stderr ?? '',
      /^bosun: reading the kubernetes Service's endpoints from https:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*\n$/,
    );
  },
);
