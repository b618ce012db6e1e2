/**
 * The pure arithmetic of RBAC escalation: which requested rules a set of held rules covers, how
 * the missing ones are printed, and which rules apply to a user in a namespace.
 */
import test from 'ava';
import type { PolicyRule } from '../../../controlplane/auth/rbac.ts';
import { describeMissing, requestedRules, uncoveredRules } from '../../../controlplane/auth/rule-coverage.ts';
import { rulesFor, type PolicySnapshot } from '../../../controlplane/auth/rule-resolver.ts';
import { onlyGarbageCollectionFields } from '../../../controlplane/auth/escalation-check.ts';

const rule = (apiGroups: string[], resources: string[], verbs: string[], resourceNames?: string[]): PolicyRule => ({
  apiGroups,
  resources,
  verbs,
  ...(resourceNames ? { resourceNames } : {}),
});
const urls = (nonResourceURLs: string[], verbs: string[]): PolicyRule => ({ nonResourceURLs, verbs });

const table: Array<{ name: string; held: PolicyRule[]; requested: PolicyRule[]; covered: boolean }> = [
  {
    name: 'exact match',
    held: [rule([''], ['pods'], ['get'])],
    requested: [rule([''], ['pods'], ['get'])],
    covered: true,
  },
  {
    name: 'a missing verb',
    held: [rule([''], ['pods'], ['get'])],
    requested: [rule([''], ['pods'], ['get', 'delete'])],
    covered: false,
  },
  {
    name: 'verbs split over two held rules',
    held: [rule([''], ['pods'], ['get']), rule([''], ['pods'], ['list'])],
    requested: [rule([''], ['pods'], ['get', 'list'])],
    covered: true,
  },
  {
    name: '* verbs',
    held: [rule([''], ['pods'], ['*'])],
    requested: [rule([''], ['pods'], ['escalate', 'get'])],
    covered: true,
  },
  {
    name: '* groups',
    held: [rule(['*'], ['deployments'], ['get'])],
    requested: [rule(['apps', 'extensions'], ['deployments'], ['get'])],
    covered: true,
  },
  {
    name: 'another group',
    held: [rule(['apps'], ['deployments'], ['get'])],
    requested: [rule(['extensions'], ['deployments'], ['get'])],
    covered: false,
  },
  {
    name: '* resources',
    held: [rule([''], ['*'], ['get'])],
    requested: [rule([''], ['pods', 'pods/log'], ['get'])],
    covered: true,
  },
  {
    name: 'a resource does not cover its subresource',
    held: [rule([''], ['pods'], ['get'])],
    requested: [rule([''], ['pods/log'], ['get'])],
    covered: false,
  },
  {
    name: '*/status covers every status',
    held: [rule([''], ['*/status'], ['update'])],
    requested: [rule([''], ['pods/status', 'nodes/status'], ['update'])],
    covered: true,
  },
  {
    name: '*/status does not cover the resource',
    held: [rule([''], ['*/status'], ['update'])],
    requested: [rule([''], ['pods'], ['update'])],
    covered: false,
  },
  {
    name: 'requested * needs held *',
    held: [rule([''], ['pods', 'secrets'], ['*'])],
    requested: [rule([''], ['*'], ['get'])],
    covered: false,
  },
  {
    name: 'requested * group needs held *',
    held: [rule([''], ['*'], ['*'])],
    requested: [rule(['*'], ['*'], ['*'])],
    covered: false,
  },
  {
    name: 'held without names covers any name',
    held: [rule([''], ['configmaps'], ['get'])],
    requested: [rule([''], ['configmaps'], ['get'], ['a', 'b'])],
    covered: true,
  },
  {
    name: 'held names cover those names',
    held: [rule([''], ['configmaps'], ['get'], ['a', 'b'])],
    requested: [rule([''], ['configmaps'], ['get'], ['b'])],
    covered: true,
  },
  {
    name: 'held names do not cover other names',
    held: [rule([''], ['configmaps'], ['get'], ['a'])],
    requested: [rule([''], ['configmaps'], ['get'], ['a', 'c'])],
    covered: false,
  },
  {
    name: 'held names do not cover all names',
    held: [rule([''], ['configmaps'], ['get'], ['a'])],
    requested: [rule([''], ['configmaps'], ['get'])],
    covered: false,
  },
  { name: 'URL exact', held: [urls(['/healthz'], ['get'])], requested: [urls(['/healthz'], ['get'])], covered: true },
  {
    name: 'URL prefix *',
    held: [urls(['/apis/*'], ['get'])],
    requested: [urls(['/apis/apps/v1', '/apis/'], ['get'])],
    covered: true,
  },
  {
    name: 'URL prefix * is not the bare path',
    held: [urls(['/apis/*'], ['get'])],
    requested: [urls(['/apis'], ['get'])],
    covered: false,
  },
  {
    name: 'URL * covers *',
    held: [urls(['*'], ['*'])],
    requested: [urls(['*', '/metrics'], ['get', 'post'])],
    covered: true,
  },
  {
    name: 'resource rules never cover URLs',
    held: [rule(['*'], ['*'], ['*'])],
    requested: [urls(['/metrics'], ['get'])],
    covered: false,
  },
  {
    name: 'URL rules never cover resources',
    held: [urls(['*'], ['*'])],
    requested: [rule([''], ['pods'], ['get'])],
    covered: false,
  },
  { name: 'an empty request', held: [], requested: [rule([''], ['pods'], [])], covered: true },
];

for (const row of table) {
  test(`covers: ${row.name}`, (t) => {
    t.is(uncoveredRules(row.held, row.requested).length === 0, row.covered);
  });
}

test('missing permissions are printed as upstream prints them: merged verbs, sorted, Go-quoted', (t) => {
  const missing = uncoveredRules(
    [rule([''], ['pods'], ['get'])],
    [
      rule(['', 'apps'], ['pods', 'deployments'], ['get', 'delete']),
      urls(['/metrics'], ['get']),
      rule([''], ['configmaps'], ['get'], ['x', 'y']),
    ],
  );
  t.is(
    describeMissing(missing),
    [
      '{APIGroups:[""], Resources:["configmaps"], ResourceNames:["x"], Verbs:["get"]}',
      '{APIGroups:[""], Resources:["configmaps"], ResourceNames:["y"], Verbs:["get"]}',
      '{APIGroups:[""], Resources:["deployments"], Verbs:["get" "delete"]}',
      '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}',
      '{APIGroups:["apps"], Resources:["deployments"], Verbs:["get" "delete"]}',
      '{APIGroups:["apps"], Resources:["pods"], Verbs:["get" "delete"]}',
      '{NonResourceURLs:["/metrics"], Verbs:["get"]}',
    ].join('\n'),
  );
});

const policy: PolicySnapshot = {
  clusterRoles: [
    { metadata: { name: 'reader' }, rules: [rule([''], ['pods'], ['get'])] },
    { metadata: { name: 'writer' }, rules: [rule([''], ['pods'], ['create'])] },
  ],
  roles: [{ metadata: { name: 'local', namespace: 'a' }, rules: [rule([''], ['secrets'], ['get'])] }],
  clusterRoleBindings: [
    {
      metadata: { name: 'everyone-reads' },
      roleRef: { kind: 'ClusterRole', name: 'reader' },
      subjects: [{ kind: 'Group', name: 'readers' }],
    },
    {
      metadata: { name: 'dangling' },
      roleRef: { kind: 'ClusterRole', name: 'gone' },
      subjects: [{ kind: 'User', name: 'u' }],
    },
  ],
  roleBindings: [
    {
      metadata: { name: 'w', namespace: 'a' },
      roleRef: { kind: 'ClusterRole', name: 'writer' },
      subjects: [{ kind: 'User', name: 'u' }],
    },
    {
      metadata: { name: 'l', namespace: 'a' },
      roleRef: { kind: 'Role', name: 'local' },
      subjects: [{ kind: 'ServiceAccount', name: 'robot' }],
    },
    {
      metadata: { name: 'w', namespace: 'b' },
      roleRef: { kind: 'ClusterRole', name: 'writer' },
      subjects: [{ kind: 'User', name: 'someone-else' }],
    },
  ],
};

test('rules for a user: cluster bindings everywhere, role bindings in their namespace only', (t) => {
  const u = { name: 'u', groups: ['readers'] };
  t.deepEqual(rulesFor(policy, u, ''), [rule([''], ['pods'], ['get'])]);
  t.deepEqual(rulesFor(policy, u, 'a'), [rule([''], ['pods'], ['get']), rule([''], ['pods'], ['create'])]);
  t.deepEqual(rulesFor(policy, u, 'b'), [rule([''], ['pods'], ['get'])]);
  t.deepEqual(rulesFor(policy, { name: 'system:serviceaccount:a:robot', groups: [] }, 'a'), [
    rule([''], ['secrets'], ['get']),
  ]);
});

test('an update that only touches owner references or finalizers is a garbage-collector update', (t) => {
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'r', resourceVersion: '1' },
    rules: [rule([''], ['pods'], ['get'])],
  };
  t.true(
    onlyGarbageCollectionFields(
      { ...role, metadata: { ...role.metadata, resourceVersion: '2', finalizers: ['f'], ownerReferences: [] } },
      role,
    ),
  );
  t.false(onlyGarbageCollectionFields({ ...role, metadata: { ...role.metadata, labels: { a: 'b' } } }, role));
  t.false(onlyGarbageCollectionFields({ ...role, rules: [] }, role));
});

test('rules as sent are read strictly: a string counts as one entry, junk as nothing', (t) => {
  t.deepEqual(requestedRules([{ verbs: '*', apiGroups: [''], resources: ['pods', 7], resourceNames: null }]), [
    { verbs: ['*'], apiGroups: [''], resources: ['pods', '7'] },
  ]);
  t.deepEqual(requestedRules('junk'), []);
  t.deepEqual(requestedRules([null, 'x', []]), []);
  t.is(
    uncoveredRules(
      [rule([''], ['pods'], ['get'])],
      requestedRules([{ apiGroups: [''], resources: 'pods', verbs: '*' }]),
    ).length,
    1,
  );
});
