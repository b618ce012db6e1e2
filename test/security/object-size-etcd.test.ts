/**
 * The stored-object limit on etcd: the server refuses an object over 1.5 MiB itself, with the same
 * 422 as on SQLite, instead of passing etcd's "request is too large" through; an object just under
 * the limit is stored. (limits.test.ts plays the same on SQLite.)
 */
import test from 'ava';
import { startEtcd, type EtcdProcess } from '../controlplane/etcd-process.ts';
import {
  adminIdentity,
  call,
  startServerProcess,
  type Identity,
  type ServerProcess,
} from '../controlplane/server-process.ts';

let etcd: EtcdProcess;
let server: ServerProcess;
let admin: Identity;
const MiB = 1024 * 1024;

test.before(async () => {
  etcd = await startEtcd();
  server = await startServerProcess({ datastore: 'etcd', etcd });
  admin = adminIdentity(server.dataDir);
});
test.after.always(async () => {
  await server?.destroy();
  await etcd?.destroy();
});

const deployment = (name: string, argBytes: number) => ({
  metadata: { name },
  spec: {
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'c', image: 'img:1', args: ['z'.repeat(argBytes)] }] },
    },
  },
});

test('on etcd, an object over 1.5 MiB is 422 as on SQLite, and one just under it is stored', async (t) => {
  const collection = '/apis/apps/v1/namespaces/default/deployments';
  const over = await call(server, 'POST', collection, admin, deployment('over', 1.6 * MiB));
  t.is(over.status, 422, JSON.stringify(over.body).slice(0, 300));
  t.is(over.body.message, 'Deployment.apps "over" is invalid: []: Too long: must have at most 1572864 bytes');
  t.is((await call(server, 'GET', `${collection}/over`, admin)).status, 404);
  const under = await call(server, 'POST', collection, admin, deployment('under', 1.4 * MiB));
  t.is(under.status, 201, JSON.stringify(under.body).slice(0, 300));
  t.is((await call(server, 'GET', '/readyz')).status, 200);
});
