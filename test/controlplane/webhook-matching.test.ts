/**
 * Which writes a webhook rule takes, as upstream's rule matcher decides: operations, groups,
 * versions (only under matchPolicy Exact), resources with their subresources and wildcards, and
 * scope; then the selectors (a Namespace by its own labels, other cluster-scoped objects always).
 */
import test from 'ava';
import {
  namespaceSelectorMatches,
  objectSelectorMatches,
  ruleMatches,
  type RequestAttributes,
} from '../../controlplane/admission/webhooks/matching.ts';

const podCreate: RequestAttributes = {
  operation: 'CREATE',
  group: '',
  version: 'v1',
  resource: 'pods',
  subresource: '',
  namespaced: true,
  namespace: 'default',
};
const podStatus: RequestAttributes = { ...podCreate, operation: 'UPDATE', subresource: 'status' };
const nodeUpdate: RequestAttributes = {
  ...podCreate,
  operation: 'UPDATE',
  resource: 'nodes',
  namespaced: false,
  namespace: '',
};
const rule = (resources: string[], extra: Record<string, unknown> = {}) => ({
  operations: ['*'],
  apiGroups: ['*'],
  apiVersions: ['*'],
  resources,
  ...extra,
});

const rows: ReadonlyArray<[string, Record<string, unknown>, RequestAttributes, boolean]> = [
  ['pods takes a pod', rule(['pods']), podCreate, true],
  ['pods does not take pods/status', rule(['pods']), podStatus, false],
  ['* takes every resource', rule(['*']), podCreate, true],
  ['* takes no subresource', rule(['*']), podStatus, false],
  ['*/status takes pods/status', rule(['*/status']), podStatus, true],
  ['pods/* takes pods/status', rule(['pods/*']), podStatus, true],
  ['pods/* takes no main resource', rule(['pods/*']), podCreate, false],
  ['*/* takes everything', rule(['*/*']), podStatus, true],
  ['another operation does not match', rule(['pods'], { operations: ['DELETE'] }), podCreate, false],
  ['another group does not match', rule(['pods'], { apiGroups: ['apps'] }), podCreate, false],
  ['Namespaced scope takes a pod', rule(['*'], { scope: 'Namespaced' }), podCreate, true],
  ['Namespaced scope does not take a node', rule(['*'], { scope: 'Namespaced' }), nodeUpdate, false],
  ['Cluster scope takes a node', rule(['*'], { scope: 'Cluster' }), nodeUpdate, true],
];

for (const [title, r, attributes, expected] of rows) {
  test(`rule: ${title}`, (t) => t.is(ruleMatches(r, attributes, false), expected));
}

test('rule: another version matches under Equivalent, not under Exact', (t) => {
  const v1beta1 = rule(['pods'], { apiVersions: ['v1beta1'] });
  t.true(ruleMatches(v1beta1, podCreate, false));
  t.false(ruleMatches(v1beta1, podCreate, true));
});

test('namespaceSelector: a namespace is judged by its own labels, other cluster objects always match', (t) => {
  const selector = { matchLabels: { team: 'a' } };
  t.true(namespaceSelectorMatches(selector, podCreate, { team: 'a' }, {}));
  t.false(namespaceSelectorMatches(selector, podCreate, { team: 'b' }, { team: 'a' }));
  t.true(namespaceSelectorMatches(selector, nodeUpdate, undefined, {}));
  const namespaceWrite = { ...nodeUpdate, resource: 'namespaces' };
  t.true(namespaceSelectorMatches(selector, namespaceWrite, undefined, { team: 'a' }));
  t.false(namespaceSelectorMatches(selector, namespaceWrite, undefined, { team: 'b' }));
});

test('objectSelector: the new or the old labels', (t) => {
  const selector = { matchExpressions: [{ key: 'managed', operator: 'Exists' }] };
  t.true(objectSelectorMatches(selector, { managed: 'yes' }, undefined));
  t.true(objectSelectorMatches(selector, {}, { managed: 'yes' }), 'removing the label is still seen');
  t.false(objectSelectorMatches(selector, {}, {}));
});
