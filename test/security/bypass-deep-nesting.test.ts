/**
 * Deeply nested JSON bodies, sent by a namespace admin to a real server process. Recursive code
 * after JSON.parse (structuredClone in the registry, merge and JSON patches) once gave out near
 * 2,000 levels with a 500 that quoted V8 ("Maximum call stack size exceeded"); such a body is now
 * refused as malformed before it is parsed, whichever write carries it, and nothing is stored.
 */
import test from 'ava';
import { call } from '../controlplane/server-process.ts';
import { sharedTenantServer } from './tenant-server.ts';

const ns = 'team-deep';
const configmaps = `/api/v1/namespaces/${ns}/configmaps`;

const tenant = sharedTenantServer(test, ns);
test.before(async () => {
  const { server, alice } = await tenant();
  const created = await call(server, 'POST', configmaps, alice, { metadata: { name: 'target' }, data: { a: 'b' } });
  if (created.status !== 201) throw new Error(`configmap: ${JSON.stringify(created.body)}`);
});

/** `{"a":{"a":...leaf...}}`, `levels` objects deep. */
const nested = (levels: number, leaf: string) => '{"a":'.repeat(levels) + leaf + '}'.repeat(levels);
/** managedFields' fieldsV1 is free-form JSON, so the depth reaches the registry instead of being pruned as an unknown field. */
const withDeepFields = (name: string, levels: number) =>
  `{"metadata":{"name":"${name}","managedFields":[{"manager":"m","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":${nested(levels, '{}')}}]},"data":{}}`;

const refusedAsTooDeep = {
  status: 400,
  body: { reason: 'BadRequest', message: 'the request body is not valid JSON: exceeded max depth' },
};

test('a create nested 3,000 levels deep is 400 and stores nothing', async (t) => {
  const { server, admin, alice } = await tenant();
  t.like(await call(server, 'POST', configmaps, alice, withDeepFields('deep', 3000)), refusedAsTooDeep);
  t.is((await call(server, 'GET', `${configmaps}/deep`, admin)).status, 404);
});

test('merge, strategic merge, JSON patch and apply bodies nested 3,000 levels deep are 400 and change nothing', async (t) => {
  const { server, admin, alice } = await tenant();
  const before = await call(server, 'GET', `${configmaps}/target`, admin);
  const bodies: Array<[string, string]> = [
    ['application/merge-patch+json', `{"data":${nested(3000, '"x"')}}`],
    ['application/strategic-merge-patch+json', `{"metadata":{"labels":${nested(3000, '"x"')}}}`],
    ['application/json-patch+json', `[{"op":"add","path":"/metadata/annotations","value":${nested(3000, '"x"')}}]`],
  ];
  for (const [contentType, body] of bodies)
    t.like(
      await call(server, 'PATCH', `${configmaps}/target`, alice, body, contentType),
      refusedAsTooDeep,
      contentType,
    );
  t.like(
    await call(
      server,
      'PATCH',
      `${configmaps}/applied?fieldManager=m`,
      alice,
      `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"applied"},"x":${nested(3000, '1')}}`,
      'application/apply-patch+yaml',
    ),
    refusedAsTooDeep,
    'apply',
  );
  const after = await call(server, 'GET', `${configmaps}/target`, admin);
  t.is(after.body.metadata.resourceVersion, before.body.metadata.resourceVersion);
  t.is((await call(server, 'GET', `${configmaps}/applied`, admin)).status, 404);
  t.is((await call(server, 'GET', '/readyz')).status, 200);
  t.is((await call(server, 'GET', configmaps, alice)).status, 200);
});

test('brackets inside strings do not count, and ordinary nesting is stored', async (t) => {
  const { server, alice } = await tenant();
  const body = `{"metadata":{"name":"shallow","annotations":{"text":"${'{['.repeat(5000)}"},"managedFields":[{"manager":"m","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":${nested(100, '{}')}}]},"data":{}}`;
  t.is((await call(server, 'POST', configmaps, alice, body)).status, 201);
});
