/**
 * The audit policy's matching, rule by rule, as upstream's policy checker decides it: subresources
 * (`pods/log`, `pods/*`, `* /status`), resourceNames, namespaces (`""` for cluster scope),
 * nonResourceURLs with a trailing `*`, users and groups, first match wins, omitStages merged.
 */
import test from 'ava';
import { auditDecision, auditPolicyFrom, type AuditAttributes } from '../../../controlplane/audit/policy.ts';

const admin = { name: 'alice', groups: ['devs', 'system:authenticated'] };

function resource(
  verb: string,
  group: string,
  resource: string,
  subresource = '',
  namespace = 'default',
  name = 'x',
): AuditAttributes {
  return { user: admin, verb, path: '/ignored', resource: { group, resource, subresource, namespace, name } };
}

function levelOf(rules: unknown[], attributes: AuditAttributes): string {
  return auditDecision(auditPolicyFrom({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules }), attributes).level;
}

test('subresources match only as written', (t) => {
  const rules = [{ level: 'Request', resources: [{ group: '', resources: ['pods'] }] }];
  t.is(levelOf(rules, resource('get', '', 'pods')), 'Request');
  t.is(levelOf(rules, resource('get', '', 'pods', 'log')), 'None');
  t.is(
    levelOf(
      [{ level: 'Request', resources: [{ group: '', resources: ['pods/log'] }] }],
      resource('get', '', 'pods', 'log'),
    ),
    'Request',
  );
  t.is(
    levelOf(
      [{ level: 'Request', resources: [{ group: '', resources: ['pods/*'] }] }],
      resource('create', '', 'pods', 'exec'),
    ),
    'Request',
  );
  t.is(
    levelOf(
      [{ level: 'Request', resources: [{ group: '', resources: ['*/status'] }] }],
      resource('patch', '', 'nodes', 'status'),
    ),
    'Request',
  );
  t.is(
    levelOf(
      [{ level: 'Request', resources: [{ group: '', resources: ['*/status'] }] }],
      resource('patch', '', 'nodes'),
    ),
    'None',
  );
  t.is(
    levelOf([{ level: 'Request', resources: [{ group: '', resources: ['*'] }] }], resource('get', '', 'pods', 'log')),
    'Request',
  );
  t.is(
    levelOf([{ level: 'Request', resources: [{ group: 'apps' }] }], resource('get', 'apps', 'deployments', 'scale')),
    'Request',
  );
  t.is(levelOf([{ level: 'Request', resources: [{ group: 'apps' }] }], resource('get', '', 'pods')), 'None');
});

test('resourceNames, namespaces and verbs narrow a rule', (t) => {
  const named = [
    { level: 'Metadata', resources: [{ group: '', resources: ['configmaps'], resourceNames: ['cluster-info'] }] },
  ];
  t.is(levelOf(named, resource('get', '', 'configmaps', '', 'kube-public', 'cluster-info')), 'Metadata');
  t.is(levelOf(named, resource('get', '', 'configmaps', '', 'kube-public', 'other')), 'None');
  const clusterScope = [{ level: 'Metadata', namespaces: [''] }];
  t.is(levelOf(clusterScope, resource('get', '', 'nodes', '', '')), 'Metadata');
  t.is(levelOf(clusterScope, resource('get', '', 'pods')), 'None');
  t.is(levelOf([{ level: 'Metadata', verbs: ['delete'] }], resource('get', '', 'pods')), 'None');
});

test('non-resource URLs match exactly or by a trailing *, and never resource requests', (t) => {
  const rules = [{ level: 'Metadata', nonResourceURLs: ['/healthz*', '/version'] }];
  const path = (p: string): AuditAttributes => ({ user: admin, verb: 'get', path: p });
  t.is(levelOf(rules, path('/healthz')), 'Metadata');
  t.is(levelOf(rules, path('/healthz/etcd')), 'Metadata');
  t.is(levelOf(rules, path('/version')), 'Metadata');
  t.is(levelOf(rules, path('/versions')), 'None');
  t.is(levelOf(rules, resource('get', '', 'pods')), 'None');
});

test('users and groups; the first matching rule wins; stages merge', (t) => {
  const rules = [
    { level: 'None', users: ['system:kube-proxy'] },
    { level: 'RequestResponse', userGroups: ['devs'], omitStages: ['ResponseStarted'] },
    { level: 'Metadata' },
  ];
  t.is(levelOf(rules, { ...resource('get', '', 'pods'), user: { name: 'system:kube-proxy', groups: [] } }), 'None');
  t.is(levelOf(rules, resource('get', '', 'pods')), 'RequestResponse');
  t.is(levelOf(rules, { ...resource('get', '', 'pods'), user: { name: 'bob', groups: ['ops'] } }), 'Metadata');
  const decision = auditDecision(
    auditPolicyFrom({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: ['RequestReceived'], rules }),
    resource('get', '', 'pods'),
  );
  t.deepEqual([...decision.omitStages].sort(), ['RequestReceived', 'ResponseStarted']);
});

test('credentials are capped at Metadata whatever the rule says', (t) => {
  const everything = [{ level: 'RequestResponse' }];
  t.is(levelOf(everything, resource('get', '', 'secrets')), 'Metadata');
  t.is(levelOf(everything, resource('create', '', 'serviceaccounts', 'token')), 'Metadata');
  t.is(levelOf(everything, resource('create', 'authentication.k8s.io', 'tokenreviews', '', '')), 'Metadata');
  t.is(levelOf(everything, resource('get', '', 'serviceaccounts')), 'RequestResponse');
  t.is(levelOf([{ level: 'None' }], resource('get', '', 'secrets')), 'None');
});
