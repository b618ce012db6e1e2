/**
 * What a node may do with storage objects (node authorizer + NodeRestriction): read claims, volumes
 * and classes; create, change and delete only local-path volumes pinned to itself. A namespace admin
 * may claim storage but never write a PersistentVolume, and hostile claim names are refused.
 * Every refusal is checked for its status, for nothing stored or changed, and for a server that
 * still answers.
 */
import test from 'ava';
import { call, namespaceAdmin, userIdentity, type Identity } from './server-process.ts';
import { sharedInProcess } from './in-process.ts';

const shared = sharedInProcess(test);

type Any = Record<string, any>;

function endpoint(): { dataDir: string; port: number } {
  const s = shared.server();
  return { dataDir: s.dataDir, port: Number(new URL(s.server.url).port) };
}
const admin = (): Identity => ({ cert: shared.server().admin.cert, key: shared.server().admin.key });
const nodeIdentity = (name: string): Identity =>
  userIdentity(endpoint().dataDir, `system:node:${name}`, ['system:nodes']);
const send = (method: string, path: string, identity: Identity, body?: unknown, contentType?: string) =>
  call(endpoint(), method, path, identity, body, contentType);

const pvs = '/api/v1/persistentvolumes';

function localPathVolume(name: string, node: string, extra: Any = {}): Any {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': 'bosun.io/local-path' } },
    spec: {
      accessModes: ['ReadWriteOnce'],
      capacity: { storage: '1Gi' },
      storageClassName: 'local-path',
      local: { path: `/var/lib/bosun/storage/${name}` },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] },
          ],
        },
      },
      ...extra,
    },
  };
}

test.serial('a node reads claims, volumes and classes', async (t) => {
  const n1 = nodeIdentity('n1');
  for (const path of [pvs, '/api/v1/persistentvolumeclaims', '/apis/storage.k8s.io/v1/storageclasses'])
    t.is((await send('GET', path, n1)).status, 200, path);
  t.is(
    (
      await send('POST', '/apis/storage.k8s.io/v1/storageclasses', n1, {
        metadata: { name: 'x' },
        provisioner: 'a.io/b',
      })
    ).status,
    403,
  );
});

test.serial('a node creates local-path volumes pinned to itself, and no other volume', async (t) => {
  const n1 = nodeIdentity('n1');
  const own = await send('POST', pvs, n1, localPathVolume('pvc-own', 'n1'));
  t.is(own.status, 201, JSON.stringify(own.body));
  const elsewhere = await send('POST', pvs, n1, localPathVolume('pvc-elsewhere', 'n2'));
  t.is(elsewhere.status, 403, JSON.stringify(elsewhere.body));
  t.is(
    elsewhere.body.message,
    'persistentvolumes "pvc-elsewhere" is forbidden: node "n1" may only write local-path persistent volumes pinned to itself',
  );
  const plain = localPathVolume('etc', 'n1', { local: undefined, hostPath: { path: '/etc' } });
  plain.metadata.annotations = {};
  t.is((await send('POST', pvs, n1, plain)).status, 403);
  for (const name of ['pvc-elsewhere', 'etc']) t.is((await send('GET', `${pvs}/${name}`, admin())).status, 404, name);
  t.is((await send('GET', '/version', admin())).status, 200);
});

test.serial('a node changes and deletes only its own local-path volumes', async (t) => {
  const n1 = nodeIdentity('n1');
  const n2 = nodeIdentity('n2');
  t.is((await send('POST', pvs, admin(), localPathVolume('pvc-of-n1', 'n1'))).status, 201);
  t.is((await send('DELETE', `${pvs}/pvc-of-n1`, n2)).status, 403);
  const repin = await send(
    'PATCH',
    `${pvs}/pvc-of-n1`,
    n1,
    { spec: { nodeAffinity: localPathVolume('x', 'n2').spec.nodeAffinity } },
    'application/merge-patch+json',
  );
  t.is(repin.status, 403, JSON.stringify(repin.body));
  const stored = (await send('GET', `${pvs}/pvc-of-n1`, admin())).body;
  t.deepEqual(stored.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values, ['n1']);
  t.is((await send('DELETE', `${pvs}/pvc-of-n1`, n1)).status, 200);
});

test.serial('a namespace admin claims storage but writes no volume; hostile claim names are refused', async (t) => {
  const owner = await namespaceAdmin(endpoint(), 'team', 'alice');
  const claims = '/api/v1/namespaces/team/persistentvolumeclaims';
  const claim = (name: string) => ({
    metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  t.is((await send('POST', claims, owner, claim('data'))).status, 201);
  for (const name of ['../../etc', 'a/b', '..', 'x\u0000y']) {
    const reply = await send('POST', claims, owner, claim(name));
    t.true(reply.status === 422 || reply.status === 400, `${name}: ${reply.status}`);
  }
  t.deepEqual(
    (await send('GET', claims, owner)).body.items.map((c: Any) => c.metadata.name),
    ['data'],
  );
  t.is((await send('POST', pvs, owner, localPathVolume('pvc-alice', 'n1'))).status, 403);
  t.is((await send('GET', `${pvs}/pvc-alice`, admin())).status, 404);
});
