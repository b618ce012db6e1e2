import test from 'ava';
import { ApiError } from '../../kube/errors.ts';
import { matchesFields, parseFieldSelector } from '../../kube/fields.ts';
import { formatLabelSelector, matchesLabels, parseLabelSelector, selectorFromObject } from '../../kube/labels.ts';
import { humanDuration } from '../../controlplane/api/age.ts';

const labels = { app: 'web', tier: 'front', 'example.com/owner': 'ops' };

test('label selectors: equality and set-based terms', (t) => {
  const cases: [string, boolean][] = [
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app!=db', true],
    ['tier in (front,back)', true],
    ['tier notin (front)', false],
    ['missing notin (x)', true],
    ['example.com/owner', true],
    ['!example.com/owner', false],
    ['!missing', true],
    ['app=web,tier in (back)', false],
    ['app=web, tier in (front, back), !missing', true],
    ['', true],
  ];
  for (const [text, expected] of cases) t.is(matchesLabels(parseLabelSelector(text), labels), expected, text);
});

test('label selectors: bad input is a 400', (t) => {
  for (const bad of ['app=we b', 'a in b', '=x', 'app=' + 'x'.repeat(64), 'tier in (fr@nt)']) {
    const err = t.throws(() => parseLabelSelector(bad), undefined, bad);
    t.true(err instanceof ApiError && err.code === 400, bad);
  }
});

test('label selector objects and formatting', (t) => {
  const selector = selectorFromObject({
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'tier', operator: 'In', values: ['front'] },
      { key: 'x', operator: 'DoesNotExist' },
    ],
  });
  t.true(matchesLabels(selector, labels));
  t.is(formatLabelSelector(selector), 'app=web,tier in (front),!x');
  t.deepEqual(parseLabelSelector(formatLabelSelector(selector)), selector);
});

test('field selectors', (t) => {
  const pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } };
  t.true(matchesFields(parseFieldSelector('spec.nodeName=n1,status.phase!=Pending'), pod));
  t.false(matchesFields(parseFieldSelector('metadata.namespace==other'), pod));
  t.true(matchesFields(parseFieldSelector('spec.nodeName!='), pod), 'bound pods: nodeName is not empty');
  t.true(matchesFields(parseFieldSelector('spec.missing='), pod), 'a missing field reads as empty');
  t.throws(() => parseFieldSelector('spec.nodeName~n1'));
});

test('age column uses kubectl short durations', (t) => {
  const s = 1000;
  t.is(humanDuration(5 * s), '5s');
  t.is(humanDuration(119 * s), '119s');
  t.is(humanDuration(125 * s), '2m5s');
  t.is(humanDuration(600 * s), '10m');
  t.is(humanDuration(3 * 3600 * s + 5 * 60 * s), '3h5m');
  t.is(humanDuration(30 * 3600 * s), '30h');
  t.is(humanDuration(3 * 86400 * s + 4 * 3600 * s), '3d4h');
  t.is(humanDuration(400 * 86400 * s), '400d');
  t.is(humanDuration(-5 * s), '<invalid>');
});
