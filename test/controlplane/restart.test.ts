/**
 * A restart on the same data dir (here on a new port): objects and PKI are kept, and the objects
 * that describe how to reach the server follow its new address without losing what others added.
 */
import test from 'ava';
import { adminIdentity, call, startServerProcess, type ServerProcess } from './server-process.ts';

const servers: ServerProcess[] = [];
test.after.always(async () => {
  for (const s of servers.reverse()) await s.destroy();
});

test('restart: data and CA kept; kubernetes endpoints and cluster-info follow the new port', async (t) => {
  const first = await startServerProcess({ datastore: 'sqlite' });
  servers.push(first);
  const admin = adminIdentity(first.dataDir);
  t.is(
    (await call(first, 'POST', '/api/v1/namespaces/default/configmaps', admin, { metadata: { name: 'kept' } })).status,
    201,
  );
  t.is(
    (
      await call(
        first,
        'PATCH',
        '/api/v1/namespaces/kube-public/configmaps/cluster-info',
        admin,
        { data: { note: 'added by someone else' } },
        'application/merge-patch+json',
      )
    ).status,
    200,
  );
  const second = await first.restart();
  servers.push(second);
  t.not(second.port, first.port);
  // The same admin certificate still works: the CA was reused, not made anew.
  t.is((await call(second, 'GET', '/api/v1/namespaces/default/configmaps/kept', admin)).status, 200);
  const info = await call(second, 'GET', '/api/v1/namespaces/kube-public/configmaps/cluster-info', admin);
  // (Signatures for unknown tokens would be pruned by the signer, so a plain key stands in for them.)
  t.is(info.body.data.note, 'added by someone else', 'a restart rewrites only the kubeconfig key');
  t.true(info.body.data.kubeconfig.includes(`server: ${second.url}`));
  const endpoints = await call(second, 'GET', '/api/v1/namespaces/default/endpoints/kubernetes', admin);
  t.is(endpoints.body.subsets[0].ports[0].port, second.port);
  const service = await call(second, 'GET', '/api/v1/namespaces/default/services/kubernetes', admin);
  t.is(service.body.spec.ports[0].targetPort, second.port);
  t.is(service.body.spec.clusterIP, '10.96.0.1');
});
