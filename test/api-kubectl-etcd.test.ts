import test from 'ava';
import { startEtcd, type EtcdProcess } from './controlplane/etcd-process.ts';
import { kubectlScenario } from './controlplane/kubectl-scenario.ts';
import { startServerProcess, type ServerProcess } from './controlplane/server-process.ts';

let etcd: EtcdProcess | undefined;
let server: ServerProcess | undefined;
test.after.always(async () => {
  await server?.destroy();
  await etcd?.destroy();
});

test('kubectl scenario against bosun server on etcd', async (t) => {
  etcd = await startEtcd();
  server = await startServerProcess({ datastore: 'etcd', etcdEndpoint: etcd.endpoint });
  await kubectlScenario(t, server);
});
