/**
 * Impersonating service accounts, played by a user with `edit` in one namespace against a real
 * server process. Upstream checks `impersonate` on the serviceaccount in its own namespace (which
 * `edit` and `admin` grant there) and gives the impersonated request the service-account groups;
 * the server checked `impersonate` on users at the cluster scope instead, so `kubectl
 * --as=system:serviceaccount:<ns>:<sa>` failed for the very users upstream allows. What must still
 * fail does: another namespace's service account, and groups beyond what the caller may impersonate.
 */
import test from 'ava';
import {
  adminIdentity,
  call,
  startServerProcess,
  userIdentity,
  type Identity,
  type ServerProcess,
} from '../controlplane/server-process.ts';
import { waitFor } from '../controlplane/ports.ts';

let server: ServerProcess;
let admin: Identity;
let eddie: Identity;
const rbac = '/apis/rbac.authorization.k8s.io/v1';
const as = (user: string, groups: string[] = []) => ({
  'Impersonate-User': user,
  ...(groups.length > 0 ? { 'Impersonate-Group': groups.join(',') } : {}),
});

test.before(async () => {
  server = await startServerProcess({ datastore: 'sqlite' });
  admin = adminIdentity(server.dataDir);
  const writes: Array<[string, unknown]> = [];
  for (const ns of ['ours', 'theirs']) {
    writes.push(['/api/v1/namespaces', { metadata: { name: ns } }]);
    writes.push([`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'robot' } }]);
    writes.push([`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'settings' }, data: { a: 'b' } }]);
  }
  writes.push([
    `${rbac}/namespaces/ours/rolebindings`,
    {
      metadata: { name: 'eddie-edit' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'User', name: 'eddie' }],
    },
  ]);
  // what the robots may do: read configmaps in ours, through their group (only the service-account groups carry it)
  writes.push([
    `${rbac}/namespaces/ours/rolebindings`,
    {
      metadata: { name: 'robots-view' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'Group', name: 'system:serviceaccounts:ours' }],
    },
  ]);
  for (const [path, body] of writes) {
    const reply = await call(server, 'POST', path, admin, body);
    if (reply.status !== 201) throw new Error(`${path}: ${JSON.stringify(reply.body)}`);
  }
  eddie = userIdentity(server.dataDir, 'eddie');
  await waitFor(
    'eddie to be an editor of ours',
    async () => (await call(server, 'GET', '/api/v1/namespaces/ours/configmaps', eddie)).status === 200,
    10_000,
  );
});
test.after.always(async () => {
  await server?.destroy();
});

test('an editor impersonates a service account of its namespace, with the service-account groups and no more', async (t) => {
  const robot = as('system:serviceaccount:ours:robot');
  t.is(
    (await call(server, 'GET', '/api/v1/namespaces/ours/configmaps/settings', eddie, undefined, undefined, robot))
      .status,
    200,
    'the robots group may read',
  );
  const write = await call(
    server,
    'PATCH',
    '/api/v1/namespaces/ours/configmaps/settings',
    eddie,
    { data: { a: 'changed' } },
    'application/merge-patch+json',
    robot,
  );
  t.like(write, {
    status: 403,
    body: {
      message:
        'configmaps "settings" is forbidden: User "system:serviceaccount:ours:robot" cannot patch resource "configmaps" in API group "" in the namespace "ours"',
    },
  });
  t.is((await call(server, 'GET', '/api/v1/namespaces/ours/configmaps/settings', admin)).body.data.a, 'b');
});

test('another namespace service account, and groups on top, stay forbidden', async (t) => {
  const theirs = await call(
    server,
    'GET',
    '/api/v1/namespaces/theirs/configmaps',
    eddie,
    undefined,
    undefined,
    as('system:serviceaccount:theirs:robot'),
  );
  t.like(theirs, {
    status: 403,
    body: {
      message:
        'serviceaccounts "robot" is forbidden: User "eddie" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "theirs"',
    },
  });
  const masters = await call(
    server,
    'GET',
    '/api/v1/namespaces/theirs/configmaps',
    eddie,
    undefined,
    undefined,
    as('system:serviceaccount:ours:robot', ['system:masters']),
  );
  t.like(masters, {
    status: 403,
    body: {
      message:
        'groups "system:masters" is forbidden: User "eddie" cannot impersonate resource "groups" in API group "" at the cluster scope',
    },
  });
  // a name that is no service account's is a user name, checked as one
  const malformed = await call(
    server,
    'GET',
    '/api/v1/namespaces/ours/configmaps',
    eddie,
    undefined,
    undefined,
    as('system:serviceaccount:ours:Robot_1'),
  );
  t.like(malformed, {
    status: 403,
    body: {
      message:
        'users "system:serviceaccount:ours:Robot_1" is forbidden: User "eddie" cannot impersonate resource "users" in API group "" at the cluster scope',
    },
  });
});
