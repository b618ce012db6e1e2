/**
 * Secret `data` and ConfigMap `binaryData` are bytes, sent as base64: upstream decodes them while
 * decoding the request and refuses what is not base64 (400, Go's "illegal base64 data at input
 * byte N", never the value). Every write path stored such text as it came, which the node then
 * decoded leniently into other bytes than the writer meant. Played by a namespace admin against a
 * real server process; nothing is stored, and the refusal does not echo the value.
 */
import test from 'ava';
import { call } from '../controlplane/server-process.ts';
import { sharedTenantServer } from './tenant-server.ts';

const ns = 'team-bytes';
const secrets = `/api/v1/namespaces/${ns}/secrets`;
const configmaps = `/api/v1/namespaces/${ns}/configmaps`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

const tenant = sharedTenantServer(test, ns);
test.before(async () => {
  const { server, alice } = await tenant();
  const created = await call(server, 'POST', secrets, alice, {
    metadata: { name: 'kept' },
    data: { password: b64('hunter2') },
  });
  if (created.status !== 201) throw new Error(`secret: ${JSON.stringify(created.body)}`);
});

const refusedAt = (offset: number) => ({
  status: 400,
  body: { reason: 'BadRequest', details: { causes: [{ message: `illegal base64 data at input byte ${offset}` }] } },
});

test('a secret value that is not base64 is 400 on create, patch and apply, names the byte, not the value, and nothing changes', async (t) => {
  const { server, admin, alice } = await tenant();
  const before = await call(server, 'GET', `${secrets}/kept`, admin);
  const created = await call(server, 'POST', secrets, alice, {
    metadata: { name: 'plain' },
    data: { password: 'TOPSECRET!!VALUE' },
  });
  t.like(created, refusedAt(9), 'create');
  t.false(JSON.stringify(created.body).includes('TOPSECRET'), 'the value is not echoed');
  t.like(
    await call(server, 'PATCH', `${secrets}/kept`, alice, { data: { password: 'QQ' } }, 'application/merge-patch+json'),
    refusedAt(0),
    'merge patch',
  );
  t.like(
    await call(
      server,
      'PATCH',
      `${secrets}/kept`,
      alice,
      [{ op: 'replace', path: '/data/password', value: 'QQ=x' }],
      'application/json-patch+json',
    ),
    refusedAt(2),
    'JSON patch',
  );
  t.like(
    await call(
      server,
      'PATCH',
      `${secrets}/applied?fieldManager=m`,
      alice,
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'applied' }, data: { k: 'QUI=QUI=' } },
      'application/apply-patch+yaml',
    ),
    refusedAt(4),
    'apply',
  );
  t.is((await call(server, 'GET', `${secrets}/plain`, admin)).status, 404);
  t.is((await call(server, 'GET', `${secrets}/applied`, admin)).status, 404);
  t.is(
    (await call(server, 'GET', `${secrets}/kept`, admin)).body.metadata.resourceVersion,
    before.body.metadata.resourceVersion,
  );
});

test('ConfigMap binaryData is held to the same rule', async (t) => {
  const { server, admin, alice } = await tenant();
  t.like(
    await call(server, 'POST', configmaps, alice, { metadata: { name: 'bin' }, binaryData: { blob: 'not base64' } }),
    refusedAt(3),
  );
  t.is((await call(server, 'GET', `${configmaps}/bin`, admin)).status, 404);
});

test('padded base64, line breaks inside it and empty values are stored, as upstream stores them', async (t) => {
  const { server, alice } = await tenant();
  const data = {
    a: b64('x'),
    b: b64('xy'),
    c: b64('xyz'),
    wrapped: `${b64('first line of a long value')}\n`,
    empty: '',
  };
  t.is((await call(server, 'POST', secrets, alice, { metadata: { name: 'fine' }, data })).status, 201);
  t.is(
    (
      await call(server, 'POST', configmaps, alice, {
        metadata: { name: 'fine' },
        binaryData: { blob: b64('\u0000\u0001') },
      })
    ).status,
    201,
  );
});
