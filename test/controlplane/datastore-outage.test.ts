/**
 * When etcd goes away the server answers 503 with Retry-After (and /readyz fails) instead of
 * hanging or crashing, and it serves again once etcd is back, with nothing lost.
 */
import test from 'ava';
import { startEtcd, type EtcdProcess } from './etcd-process.ts';
import { waitFor } from './ports.ts';
import { adminIdentity, call, startServerProcess, type ServerProcess } from './server-process.ts';

let etcd: EtcdProcess | undefined;
let server: ServerProcess | undefined;
test.after.always(async () => {
  await server?.destroy();
  await etcd?.destroy();
});

test('etcd down: 503 + Retry-After, readyz fails, then recovery', async (t) => {
  etcd = await startEtcd();
  server = await startServerProcess({ datastore: 'etcd', etcd });
  const admin = adminIdentity(server.dataDir);
  t.is(
    (await call(server, 'POST', '/api/v1/namespaces/default/configmaps', admin, { metadata: { name: 'before' } }))
      .status,
    201,
  );

  await etcd.kill();
  const started = Date.now();
  const down = await call(server, 'GET', '/api/v1/namespaces/default/configmaps/before', admin);
  t.is(down.status, 503, JSON.stringify(down.body));
  t.is(down.body.kind, 'Status');
  t.is(down.body.reason, 'ServiceUnavailable');
  t.truthy(down.headers['retry-after']);
  t.true(Date.now() - started < 15_000, 'the 503 comes within the call timeout');
  const write = await call(server, 'POST', '/api/v1/namespaces/default/configmaps', admin, {
    metadata: { name: 'during' },
  });
  t.is(write.status, 503);
  t.is((await call(server, 'GET', '/readyz')).status, 503);
  t.is((await call(server, 'GET', '/livez')).status, 200, 'the process itself is alive');

  await etcd.start();
  await waitFor(
    'the server to serve again after etcd returned',
    async () => (await call(server!, 'GET', '/readyz')).status === 200,
    30_000,
  );
  await waitFor(
    'reads to work again',
    async () => (await call(server!, 'GET', '/api/v1/namespaces/default/configmaps/before', admin)).status === 200,
    30_000,
  );
  t.is(
    (await call(server, 'POST', '/api/v1/namespaces/default/configmaps', admin, { metadata: { name: 'after' } }))
      .status,
    201,
  );
  t.is(
    (await call(server, 'GET', '/api/v1/namespaces/default/configmaps/during', admin)).status,
    404,
    'the refused write was not stored',
  );
});
