import test from 'ava';
import { execFile } from 'node:child_process';
import { startEtcd, type EtcdProcess } from '../etcd-process.ts';
import { kubectlScenario } from '../kubectl-scenario.ts';
import { startServerProcess, type ServerProcess } from '../server-process.ts';

let etcd: EtcdProcess | undefined;
let server: ServerProcess | undefined;
test.after.always(async () => {
  await server?.destroy();
  await etcd?.destroy();
});

test('kubectl scenario against bosun server on etcd', async (t) => {
  etcd = await startEtcd();
  server = await startServerProcess({ datastore: 'etcd', etcd });
  await kubectlScenario(t, server);
  // The keys are laid out as on a real cluster, for etcdctl users.
  const keys = await new Promise<string>((resolve, reject) =>
    execFile(
      'etcdctl',
      [...etcd!.etcdctlFlags, 'get', '/registry', '--prefix', '--keys-only'],
      { env: { ...process.env, ETCDCTL_API: '3' } },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  );
  const listed = keys.split('\n').filter((k) => k !== '');
  for (const key of [
    '/registry/namespaces/default',
    '/registry/services/default/kubernetes',
    '/registry/clusterroles/cluster-admin',
    '/registry/configmaps/kube-public/cluster-info',
  ]) {
    t.true(listed.includes(key), `etcdctl does not list ${key}`);
  }
  t.true(
    listed.every((k) => k.startsWith('/registry/')),
    'only /registry/ keys under the prefix',
  );
});
