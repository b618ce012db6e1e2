/**
 * Integers that do not fit the API's Go types, written by a namespace admin to a real server
 * process. The JSON type check accepted any whole number, so `replicas: 3e12` went through the
 * main resource, the scale subresource and a JSON patch of it, and was stored: upstream's decoder
 * refuses a number that overflows its int32 field (400), and a stored one would break every typed
 * client that lists Deployments, cluster-wide. Now refused with 400, and nothing changes.
 */
import test from 'ava';
import { call } from '../controlplane/server-process.ts';
import { sharedTenantServer } from './tenant-server.ts';

const ns = 'team-ints';
const deployments = `/apis/apps/v1/namespaces/${ns}/deployments`;
const deployment = (name: string, replicas: number) => ({
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
  },
});

const tenant = sharedTenantServer(test, ns);
test.before(async () => {
  const { server, alice } = await tenant();
  const created = await call(server, 'POST', deployments, alice, deployment('web', 1));
  if (created.status !== 201) throw new Error(`deployment: ${JSON.stringify(created.body)}`);
});

const overflowing = {
  status: 400,
  body: {
    reason: 'BadRequest',
    details: {
      causes: [
        {
          reason: 'FieldValueTypeInvalid',
          field: 'spec.replicas',
          message: 'Invalid value: 2147483648: spec.replicas must be of type int32',
        },
      ],
    },
  },
};

test('replicas beyond int32 are 400 through create, patch, scale and a JSON patch of scale, and nothing changes', async (t) => {
  const { server, admin, alice } = await tenant();
  const before = await call(server, 'GET', `${deployments}/web`, admin);
  t.like(await call(server, 'POST', deployments, alice, deployment('huge', 2 ** 31)), overflowing, 'create');
  t.like(
    await call(
      server,
      'PATCH',
      `${deployments}/web`,
      alice,
      { spec: { replicas: 2 ** 31 } },
      'application/merge-patch+json',
    ),
    overflowing,
    'merge patch',
  );
  t.like(
    await call(
      server,
      'PATCH',
      `${deployments}/web/scale`,
      alice,
      { spec: { replicas: 2 ** 31 } },
      'application/merge-patch+json',
    ),
    overflowing,
    'scale patch',
  );
  t.like(
    await call(
      server,
      'PATCH',
      `${deployments}/web/scale`,
      alice,
      [{ op: 'replace', path: '/spec/replicas', value: 2 ** 31 }],
      'application/json-patch+json',
    ),
    overflowing,
    'scale JSON patch',
  );
  t.like(
    await call(server, 'PUT', `${deployments}/web/scale`, alice, {
      metadata: { name: 'web', namespace: ns },
      spec: { replicas: 2 ** 31 },
    }),
    overflowing,
    'scale replace',
  );
  const after = await call(server, 'GET', `${deployments}/web`, admin);
  t.is(after.body.metadata.resourceVersion, before.body.metadata.resourceVersion);
  t.is(after.body.spec.replicas, 1);
  t.is((await call(server, 'GET', `${deployments}/huge`, admin)).status, 404);
  t.is((await call(server, 'GET', '/readyz')).status, 200);
});

test('the largest int32 and int64 durations beyond int32 are still stored', async (t) => {
  const { server, alice } = await tenant();
  t.is((await call(server, 'POST', deployments, alice, deployment('widest', 2 ** 31 - 1))).status, 201);
  const pod = {
    metadata: { name: 'long' },
    spec: { terminationGracePeriodSeconds: 2 ** 40, containers: [{ name: 'c', image: 'busybox' }] },
  };
  t.is((await call(server, 'POST', `/api/v1/namespaces/${ns}/pods`, alice, pod)).status, 201);
});
