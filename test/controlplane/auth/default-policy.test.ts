/**
 * Default roles on a server that already has them: gathered roles (admin/edit/view) take exactly
 * the gathered rules, others only gain what they lack, and autoupdate "false" leaves a role alone;
 * and what the aggregation controller gathers for them.
 */
import test from 'ava';
import { defaultClusterRoles, reconcileDefaultRole } from '../../../controlplane/auth/default-policy.ts';
import { aggregatedRules, planAggregation } from '../../../controlplane/controllers/clusterrole-aggregation.ts';
import type { KubeObject } from '../../../kube/types.ts';

const role = (name: string) => defaultClusterRoles.find((r) => r.metadata.name === name)!;
const stored = (name: string, rules: object[], annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: {
    name,
    uid: 'u1',
    resourceVersion: '7',
    labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
    ...(annotations ? { annotations } : {}),
  },
  rules,
});
const sliceWriter = { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['create', 'update'] };

test('an edit role from an older server loses what upstream edit does not grant', (t) => {
  const next = reconcileDefaultRole(stored('edit', [sliceWriter]), role('edit')) as Record<string, any>;
  t.deepEqual(next.rules, (role('edit') as Record<string, any>).rules);
  t.deepEqual(next.aggregationRule, {
    clusterRoleSelectors: [{ matchLabels: { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' } }],
  });
  t.is(next.metadata.labels['rbac.authorization.k8s.io/aggregate-to-admin'], 'true');
  t.is(next.metadata.uid, 'u1', 'the stored object is updated, not replaced');
});

test('a role that does not gather keeps extra rules and gains missing ones', (t) => {
  const extra = { nonResourceURLs: ['/custom'], verbs: ['get'] };
  const next = reconcileDefaultRole(stored('system:discovery', [extra]), role('system:discovery')) as Record<
    string,
    any
  >;
  t.deepEqual(next.rules, [extra, ...(role('system:discovery') as Record<string, any>).rules]);
});

test('an up-to-date role, or one marked autoupdate false, is left alone', (t) => {
  t.is(reconcileDefaultRole(role('view'), role('view')), undefined);
  t.is(
    reconcileDefaultRole(
      stored('edit', [sliceWriter], { 'rbac.authorization.kubernetes.io/autoupdate': 'false' }),
      role('edit'),
    ),
    undefined,
  );
});

test('admin holds all of edit, edit all of view, and edit writes no status, quota or slices', (t) => {
  const rules = (name: string) => JSON.stringify((role(name) as Record<string, any>).rules);
  for (const rule of JSON.parse(rules('view'))) t.true(rules('edit').includes(JSON.stringify(rule)));
  for (const rule of JSON.parse(rules('edit'))) t.true(rules('admin').includes(JSON.stringify(rule)));
  const writes = (JSON.parse(rules('edit')) as Array<{ resources?: string[]; verbs: string[] }>).filter((r) =>
    r.verbs.includes('update'),
  );
  const written = writes.flatMap((r) => r.resources ?? []);
  for (const resource of [
    'endpointslices',
    'endpoints',
    'resourcequotas',
    'limitranges',
    'pods/status',
    'roles',
    'rolebindings',
  ])
    t.false(written.includes(resource), resource);
});

test('the stored rules of admin, edit and view are what aggregation gathers from the defaults', (t) => {
  for (const name of ['admin', 'edit', 'view']) {
    t.deepEqual(aggregatedRules(role(name), defaultClusterRoles), (role(name) as Record<string, any>).rules, name);
  }
});

test('a ClusterRole labelled aggregate-to-edit extends edit; planAggregation writes only a change', (t) => {
  const widgets = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'widgets', labels: { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' } },
    rules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get'] }],
  };
  const all = [...defaultClusterRoles, widgets];
  const caches = { list: () => all, get: () => undefined, claimable: () => [] };
  const plan = planAggregation(role('edit'), caches);
  t.is(plan.actions.length, 1);
  const written = (plan.actions[0] as { object: Record<string, any> }).object;
  t.deepEqual(written.rules.at(-1), widgets.rules[0], 'the new role sorts last by name');
  t.deepEqual(planAggregation(written as KubeObject, caches).actions, [], 'nothing left to do');
  t.deepEqual(
    planAggregation(role('cluster-admin'), caches).actions,
    [],
    'roles without aggregationRule are left alone',
  );
  const everything = {
    ...widgets,
    metadata: { name: 'all' },
    aggregationRule: { clusterRoleSelectors: [{}] },
  } as KubeObject;
  t.is(
    aggregatedRules(everything, [...all, everything]).length > 0,
    true,
    'an empty selector gathers every role but itself',
  );
});
