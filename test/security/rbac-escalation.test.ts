/**
 * RBAC escalation against a real `bosun server` with real client certificates: a namespace admin
 * (RoleBinding of ClusterRole `admin`) grants only what it holds; `bind` and `escalate` are the
 * only ways past that; the default `edit` role does not write what controls a namespace.
 * Every refusal is checked for its status, its wording, and that nothing was stored.
 */
import test from 'ava';
import { kubectl } from '../controlplane/kubectl-scenario.ts';
import {
  adminIdentity,
  call,
  userIdentity,
  startServerProcess,
  type HttpReply,
  type Identity,
  type ServerProcess,
} from '../controlplane/server-process.ts';

let server: ServerProcess;
let admin: Identity;
const rbacApi = '/apis/rbac.authorization.k8s.io/v1';
const rbacGroup = 'rbac.authorization.k8s.io';

const roleBinding = (name: string, roleKind: 'Role' | 'ClusterRole', role: string, user: string) => ({
  metadata: { name },
  roleRef: { apiGroup: rbacGroup, kind: roleKind, name: role },
  subjects: [{ apiGroup: rbacGroup, kind: 'User', name: user }],
});

/** Policy reloads a moment after a change: ask until `check` passes (or 5 s). */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function create(path: string, who: Identity, body: unknown): Promise<HttpReply> {
  return call(server, 'POST', path, who, body);
}

/** As admin: binds `role` to `user` in `namespace` and waits until the user can use it. */
async function grant(
  namespace: string,
  user: Identity,
  userName: string,
  roleKind: 'Role' | 'ClusterRole',
  role: string,
  probe: { verb: string; resource: string; group?: string; name?: string },
): Promise<void> {
  const reply = await create(
    `${rbacApi}/namespaces/${namespace}/rolebindings`,
    admin,
    roleBinding(`${userName}-${role}`, roleKind, role, userName),
  );
  if (reply.status !== 201)
    throw new Error(`grant ${role} to ${userName}: ${reply.status} ${JSON.stringify(reply.body)}`);
  const ready = await eventually(async () => (await canI(user, { namespace, ...probe })) === true);
  if (!ready) throw new Error(`${userName} never got ${role} in ${namespace}`);
}

async function canI(
  who: Identity,
  attributes: {
    namespace: string;
    verb: string;
    resource: string;
    group?: string;
    subresource?: string;
    name?: string;
  },
): Promise<boolean> {
  const reply = await create('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', who, {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { group: '', ...attributes } },
  });
  return reply.body?.status?.allowed === true;
}

test.before(async () => {
  // with the controllers: ClusterRole aggregation is one of them
  server = await startServerProcess({ datastore: 'sqlite', controllers: true });
  admin = adminIdentity(server.dataDir);
  for (const name of ['team', 'other']) t201(await create('/api/v1/namespaces', admin, { metadata: { name } }));
});
test.after.always(async () => {
  await server?.destroy();
});

function t201(reply: HttpReply): void {
  if (reply.status !== 201) throw new Error(`expected 201: ${reply.status} ${JSON.stringify(reply.body)}`);
}

async function stillServes(t: { is: (a: unknown, b: unknown, m?: string) => void }): Promise<void> {
  t.is((await call(server, 'GET', '/readyz', admin)).status, 200, 'the server still answers');
  t.is(
    (await call(server, 'GET', '/api/v1/namespaces/team/configmaps', admin)).status,
    200,
    'normal clients still served',
  );
}

test('a namespace admin grants what it holds, and nothing more', async (t) => {
  const alice = userIdentity(server.dataDir, 'alice');
  await grant('team', alice, 'alice', 'ClusterRole', 'admin', { verb: 'create', resource: 'roles', group: rbacGroup });

  const bindAdmin = await create(
    `${rbacApi}/namespaces/team/rolebindings`,
    alice,
    roleBinding('alice-root', 'ClusterRole', 'cluster-admin', 'alice'),
  );
  t.is(bindAdmin.status, 403, JSON.stringify(bindAdmin.body));
  t.is(bindAdmin.body.reason, 'Forbidden');
  t.true(
    String(bindAdmin.body.message).startsWith(
      'rolebindings.rbac.authorization.k8s.io "alice-root" is forbidden: user "alice" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}',
    ),
    bindAdmin.body.message,
  );
  t.is(
    (await call(server, 'GET', `${rbacApi}/namespaces/team/rolebindings/alice-root`, admin)).status,
    404,
    'no binding stored',
  );

  // the same through kubectl's own generator, as alice (impersonated by the admin kubeconfig)
  const viaKubectl = await kubectl(server, [
    '--as=alice',
    '-n',
    'team',
    'create',
    'rolebinding',
    'alice-root2',
    '--clusterrole=cluster-admin',
    '--user=alice',
  ]);
  t.not(viaKubectl.code, 0);
  t.regex(
    viaKubectl.stderr,
    /rolebindings\.rbac\.authorization\.k8s\.io "alice-root2" is forbidden: user "alice" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\["\*"\], Resources:\["\*"\], Verbs:\["\*"\]\}/,
  );
  t.is((await call(server, 'GET', `${rbacApi}/namespaces/team/rolebindings/alice-root2`, admin)).status, 404);
  const allowedViaKubectl = await kubectl(server, [
    '--as=alice',
    '-n',
    'team',
    'create',
    'rolebinding',
    'bob-view',
    '--clusterrole=view',
    '--user=bob',
  ]);
  t.is(allowedViaKubectl.code, 0, allowedViaKubectl.stderr);

  const everything = await create(`${rbacApi}/namespaces/team/roles`, alice, {
    metadata: { name: 'god' },
    rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
  });
  t.is(everything.status, 403);
  t.is(
    everything.body.message,
    'roles.rbac.authorization.k8s.io "god" is forbidden: user "alice" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}',
  );
  t.is((await call(server, 'GET', `${rbacApi}/namespaces/team/roles/god`, admin)).status, 404, 'no role stored');

  // a malformed rule is still checked for what it could grant, never a server error
  const stringly = await create(`${rbacApi}/namespaces/team/roles`, alice, {
    metadata: { name: 'stringly' },
    rules: [{ apiGroups: '*', resources: ['*'], verbs: ['*'], resourceNames: 7 }],
  });
  t.is(stringly.status, 403, JSON.stringify(stringly.body));
  t.is((await call(server, 'GET', `${rbacApi}/namespaces/team/roles/stringly`, admin)).status, 404);

  const nodes = await create(`${rbacApi}/namespaces/team/roles`, alice, {
    metadata: { name: 'nodes' },
    rules: [{ apiGroups: [''], resources: ['nodes', 'pods'], verbs: ['get', 'delete'] }],
  });
  t.is(nodes.status, 403, 'a namespace admin holds no node permissions');
  t.is(
    nodes.body.message.split('\n').slice(1).join('\n'),
    '{APIGroups:[""], Resources:["nodes"], Verbs:["get" "delete"]}',
    'only what is missing, verbs merged',
  );

  const held = await create(`${rbacApi}/namespaces/team/roles`, alice, {
    metadata: { name: 'pod-reader' },
    rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] }],
  });
  t.is(held.status, 201, JSON.stringify(held.body));
  t.is(
    (
      await create(
        `${rbacApi}/namespaces/team/rolebindings`,
        alice,
        roleBinding('bob-reader', 'Role', 'pod-reader', 'bob'),
      )
    ).status,
    201,
  );
  t.is(
    (
      await create(
        `${rbacApi}/namespaces/team/rolebindings`,
        alice,
        roleBinding('bob-edit', 'ClusterRole', 'edit', 'bob'),
      )
    ).status,
    201,
    'admin holds all of edit',
  );

  // an update is checked as a create is
  const widened = await call(server, 'PUT', `${rbacApi}/namespaces/team/roles/pod-reader`, alice, {
    ...held.body,
    rules: [{ apiGroups: [''], resources: ['*'], verbs: ['*'] }],
  });
  t.is(widened.status, 403);
  const stored = await call(server, 'GET', `${rbacApi}/namespaces/team/roles/pod-reader`, admin);
  t.deepEqual(
    stored.body.rules,
    [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] }],
    'role unchanged',
  );
  const relabelled = await call(
    server,
    'PATCH',
    `${rbacApi}/namespaces/team/roles/pod-reader`,
    alice,
    { metadata: { labels: { team: 'a' } } },
    'application/merge-patch+json',
  );
  t.is(relabelled.status, 200, 'an update within what alice holds passes');

  // what alice holds in team she does not hold in another namespace
  const elsewhere = await create(`${rbacApi}/namespaces/other/roles`, alice, {
    metadata: { name: 'pod-reader' },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
  });
  t.is(elsewhere.status, 403, 'no rights in other');
  await stillServes(t);
});

test('bind on a ClusterRole (by name) lets a user bind it without holding it', async (t) => {
  const binder = userIdentity(server.dataDir, 'binder');
  t201(
    await create(`${rbacApi}/clusterroles`, admin, {
      metadata: { name: 'bind-cluster-admin' },
      rules: [
        { apiGroups: [rbacGroup], resources: ['rolebindings'], verbs: ['create'] },
        { apiGroups: [rbacGroup], resources: ['clusterroles'], verbs: ['bind'], resourceNames: ['cluster-admin'] },
      ],
    }),
  );
  await grant('team', binder, 'binder', 'ClusterRole', 'bind-cluster-admin', {
    verb: 'create',
    resource: 'rolebindings',
    group: rbacGroup,
  });
  const bound = await create(
    `${rbacApi}/namespaces/team/rolebindings`,
    binder,
    roleBinding('carol-root', 'ClusterRole', 'cluster-admin', 'carol'),
  );
  t.is(bound.status, 201, JSON.stringify(bound.body));
  const notNamed = await create(
    `${rbacApi}/namespaces/team/rolebindings`,
    binder,
    roleBinding('carol-edit', 'ClusterRole', 'edit', 'carol'),
  );
  t.is(notNamed.status, 403, 'bind covers only the named role');
  t.regex(notNamed.body.message, /is attempting to grant RBAC permissions not currently held/);
  t.is((await call(server, 'GET', `${rbacApi}/namespaces/team/rolebindings/carol-edit`, admin)).status, 404);
  const missing = await create(
    `${rbacApi}/namespaces/team/rolebindings`,
    binder,
    roleBinding('carol-none', 'ClusterRole', 'no-such-role', 'carol'),
  );
  t.is(missing.status, 404, 'a missing role is not found, as upstream');
  await stillServes(t);
});

test('escalate on roles lets a user write a Role beyond its own rights, in that namespace only', async (t) => {
  const dave = userIdentity(server.dataDir, 'dave');
  t201(
    await create(`${rbacApi}/clusterroles`, admin, {
      metadata: { name: 'role-escalator' },
      rules: [{ apiGroups: [rbacGroup], resources: ['roles'], verbs: ['create', 'escalate'] }],
    }),
  );
  t201(
    await create(`${rbacApi}/clusterroles`, admin, {
      metadata: { name: 'role-writer' },
      rules: [{ apiGroups: [rbacGroup], resources: ['roles'], verbs: ['create'] }],
    }),
  );
  await grant('team', dave, 'dave', 'ClusterRole', 'role-escalator', {
    verb: 'escalate',
    resource: 'roles',
    group: rbacGroup,
  });
  await grant('other', dave, 'dave', 'ClusterRole', 'role-writer', {
    verb: 'create',
    resource: 'roles',
    group: rbacGroup,
  });
  const wide = { metadata: { name: 'wide' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] };
  t.is((await create(`${rbacApi}/namespaces/team/roles`, dave, wide)).status, 201);
  const refused = await create(`${rbacApi}/namespaces/other/roles`, dave, wide);
  t.is(refused.status, 403);
  t.is((await call(server, 'GET', `${rbacApi}/namespaces/other/roles/wide`, admin)).status, 404);
  // escalate limited to a name: an update of that role, never a create (which names no object)
  const gina = userIdentity(server.dataDir, 'gina');
  t201(
    await create(`${rbacApi}/clusterroles`, admin, {
      metadata: { name: 'named-escalator' },
      rules: [
        { apiGroups: [rbacGroup], resources: ['roles'], verbs: ['create', 'update', 'get'] },
        { apiGroups: [rbacGroup], resources: ['roles'], verbs: ['escalate'], resourceNames: ['wide2'] },
      ],
    }),
  );
  await grant('other', gina, 'gina', 'ClusterRole', 'named-escalator', {
    verb: 'escalate',
    resource: 'roles',
    group: rbacGroup,
    name: 'wide2',
  });
  t.is(
    (await create(`${rbacApi}/namespaces/other/roles`, gina, { ...wide, metadata: { name: 'wide2' } })).status,
    403,
    'no create through a named escalate',
  );
  t.is((await call(server, 'GET', `${rbacApi}/namespaces/other/roles/wide2`, admin)).status, 404);
  const narrow = await create(`${rbacApi}/namespaces/other/roles`, admin, { metadata: { name: 'wide2' }, rules: [] });
  t.is(
    (await call(server, 'PUT', `${rbacApi}/namespaces/other/roles/wide2`, gina, { ...narrow.body, rules: wide.rules }))
      .status,
    200,
    'the named role may be widened',
  );
  t201(
    await create(`${rbacApi}/clusterroles`, admin, {
      metadata: { name: 'clusterrole-writer' },
      rules: [{ apiGroups: [rbacGroup], resources: ['clusterroles'], verbs: ['create'] }],
    }),
  );
  t201(
    await create(`${rbacApi}/clusterrolebindings`, admin, {
      ...roleBinding('dave-clusterrole-writer', 'ClusterRole', 'clusterrole-writer', 'dave'),
    }),
  );
  t.true(
    await eventually(() => canI(dave, { namespace: '', verb: 'create', resource: 'clusterroles', group: rbacGroup })),
  );
  const aggregating = await create(`${rbacApi}/clusterroles`, dave, {
    metadata: { name: 'gather' },
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { x: 'y' } }] },
  });
  t.is(aggregating.status, 403, 'nobody short of cluster-admin sets an aggregationRule');
  t.is(
    aggregating.body.message,
    'clusterroles.rbac.authorization.k8s.io "gather" is forbidden: must have cluster-admin privileges to use the aggregationRule',
  );
  t.is((await call(server, 'GET', `${rbacApi}/clusterroles/gather`, admin)).status, 404);
});

test('edit does not write what controls a namespace (status, quota, slices), but writes workloads', async (t) => {
  const erin = userIdentity(server.dataDir, 'erin');
  await grant('team', erin, 'erin', 'ClusterRole', 'edit', { verb: 'create', resource: 'pods' });
  const may = (verb: string, resource: string, group = '', subresource = '') =>
    canI(erin, { namespace: 'team', verb, resource, group, subresource });
  t.true(await may('create', 'deployments', 'apps'));
  t.true(await may('delete', 'secrets'));
  t.true(await may('get', 'endpointslices', 'discovery.k8s.io'));
  for (const verb of ['create', 'update', 'patch', 'delete']) {
    t.false(await may(verb, 'endpointslices', 'discovery.k8s.io'), `${verb} endpointslices`);
    t.false(await may(verb, 'resourcequotas'), `${verb} resourcequotas`);
    t.false(await may(verb, 'limitranges'), `${verb} limitranges`);
    t.false(await may(verb, 'endpoints'), `${verb} endpoints`);
  }
  t.false(await may('update', 'pods', '', 'status'), 'pods/status');
  t.false(await may('patch', 'deployments', 'apps', 'status'), 'deployments/status');
  t.false(await may('create', 'roles', rbacGroup), 'edit grants no RBAC');
  const slice = await create('/apis/discovery.k8s.io/v1/namespaces/team/endpointslices', erin, {
    metadata: { name: 's' },
    addressType: 'IPv4',
    endpoints: [],
    ports: [],
  });
  t.is(slice.status, 403);
  t.is((await call(server, 'GET', '/apis/discovery.k8s.io/v1/namespaces/team/endpointslices/s', admin)).status, 404);
});

test('a ClusterRole labelled aggregate-to-edit extends edit and admin, and so what an admin may grant', async (t) => {
  t201(
    await create(`${rbacApi}/clusterroles`, admin, {
      metadata: { name: 'widget-editor', labels: { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' } },
      rules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get', 'create'] }],
    }),
  );
  const gathered = (name: string) => async () =>
    JSON.stringify((await call(server, 'GET', `${rbacApi}/clusterroles/${name}`, admin)).body.rules).includes(
      '"widgets"',
    );
  t.true(await eventually(gathered('edit')), 'edit gathers the new rules');
  t.true(await eventually(gathered('admin')), 'admin gathers them through edit');
  t.false(await gathered('view')(), 'view does not');

  const frank = userIdentity(server.dataDir, 'frank');
  await grant('team', frank, 'frank', 'ClusterRole', 'admin', {
    verb: 'create',
    resource: 'widgets',
    group: 'example.com',
  });
  const role = await create(`${rbacApi}/namespaces/team/roles`, frank, {
    metadata: { name: 'widget-reader' },
    rules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get'] }],
  });
  t.is(role.status, 201, JSON.stringify(role.body));
});

test('a server restarted on older default roles brings them up to date, unless told not to', async (t) => {
  const own = await startServerProcess({ datastore: 'sqlite' });
  let restarted: ServerProcess | undefined;
  try {
    const root = adminIdentity(own.dataDir);
    const widen = async (name: string, annotations?: Record<string, string>) => {
      const current = (await call(own, 'GET', `${rbacApi}/clusterroles/${name}`, root)).body;
      const rules = [
        ...current.rules,
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['create'] },
      ];
      const reply = await call(own, 'PUT', `${rbacApi}/clusterroles/${name}`, root, {
        ...current,
        metadata: { ...current.metadata, annotations: { ...current.metadata.annotations, ...annotations } },
        rules,
      });
      if (reply.status !== 200) throw new Error(JSON.stringify(reply.body));
    };
    await widen('edit');
    await widen('view', { 'rbac.authorization.kubernetes.io/autoupdate': 'false' });
    restarted = await own.restart();
    const writesSlices = async (name: string) =>
      JSON.stringify((await call(restarted!, 'GET', `${rbacApi}/clusterroles/${name}`, root)).body.rules).includes(
        '"endpointslices"],"verbs":["create"]',
      );
    t.false(await writesSlices('edit'), 'edit is upstream edit again');
    t.true(await writesSlices('view'), 'autoupdate=false is left alone');
  } finally {
    await restarted?.destroy();
    await own.destroy(); // the data folder is the first process's to remove
  }
});
