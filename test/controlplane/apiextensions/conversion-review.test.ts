/**
 * A conversion webhook's answer, checked as upstream checks it (table of answers and the words of
 * each refusal), and the metadata a converted object keeps: the original's, except labels and
 * annotations, which must then be valid.
 */
import test from 'ava';
import {
  ConversionFailure,
  conversionReview,
  readConversionAnswer,
  reviewVersionOf,
} from '../../../controlplane/apiextensions/conversion-review.ts';

type Any = Record<string, any>;

const from = 'stable.bosun.test/v1';
const to = 'stable.bosun.test/v2';
const original = (name: string, extra: Any = {}): Any => ({
  apiVersion: from,
  kind: 'Pump',
  metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '7', labels: { a: '1' }, ...extra },
  spec: { litres: 3 },
});
const asDesired = (o: Any): Any => ({ ...structuredClone(o), apiVersion: to, spec: { flow: '3l' } });
const answer = (converted: unknown[], response: Any = {}, review: Any = {}): Any => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'ConversionReview',
  ...review,
  response: { uid: 'u1', result: { status: 'Success' }, convertedObjects: converted, ...response },
});

function refusal(body: unknown, originals: Any[], version: 'v1' | 'v1beta1' = 'v1'): string {
  try {
    readConversionAnswer(body, version, 'u1', originals, to);
  } catch (err) {
    if (err instanceof ConversionFailure) return err.message;
    throw err;
  }
  return 'accepted';
}

test('the review names the desired version and carries the objects; the first known review version is used', (t) => {
  t.is(reviewVersionOf(['v2', 'v1beta1', 'v1']), 'v1beta1');
  t.is(reviewVersionOf(['v9']), undefined);
  t.deepEqual(conversionReview('v1', 'u1', to, [original('a')]), {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'ConversionReview',
    request: { uid: 'u1', desiredAPIVersion: to, objects: [original('a')] },
  });
});

test('answers that break the protocol are refused in upstream words', (t) => {
  const one = [original('a')];
  const converted = asDesired(original('a'));
  const fine = [converted];
  const prefix = 'conversion webhook for stable.bosun.test/v1, Kind=Pump';
  const cases: [string, unknown, string][] = [
    [
      'not a review',
      { apiVersion: 'v1', kind: 'Status' },
      `${prefix} failed: expected webhook response of apiextensions.k8s.io/v1, Kind=ConversionReview, got /v1, Kind=Status`,
    ],
    [
      'no response',
      { apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview' },
      `${prefix} failed: no response provided`,
    ],
    ['another uid', answer(fine, { uid: 'u2' }), `${prefix} failed: expected response.uid="u1", got "u2"`],
    [
      'failure, no message',
      answer(fine, { result: { status: 'Failure' } }),
      `${prefix} failed: response.result.status was 'Failure', not 'Success'`,
    ],
    ['failure with message', answer(fine, { result: { status: 'Failure', message: 'no' } }), `${prefix} failed: no`],
    ['too few', answer([]), `${prefix} returned 0 objects, expected 1`],
    [
      'wrong version',
      answer([{ ...converted, apiVersion: from }]),
      `${prefix} returned invalid object at index 0: invalid groupVersion (expected ${to}, received ${from})`,
    ],
    [
      'wrong kind',
      answer([{ ...converted, kind: 'Valve' }]),
      `${prefix} returned invalid object at index 0: invalid kind (expected Pump, received Valve)`,
    ],
    [
      'moved',
      answer([{ ...converted, metadata: { ...converted.metadata, namespace: 'other' } }]),
      `${prefix} returned invalid object: must have the same namespace: default != other`,
    ],
    [
      'new uid',
      answer([{ ...converted, metadata: { ...converted.metadata, uid: 'x' } }]),
      `${prefix} returned invalid object: must have the same UID: uid-a != x`,
    ],
    [
      'no metadata',
      answer([{ ...converted, metadata: undefined }]),
      `${prefix} returned invalid object: must have the same name: a != `,
    ],
    [
      'a number as label',
      answer([{ ...converted, metadata: { ...converted.metadata, labels: { a: 1 } } }]),
      `${prefix} returned invalid metadata: metadata.labels[a] must be a string, but is float64 in converted object`,
    ],
  ];
  for (const [what, body, message] of cases) t.is(refusal(body, one), message, what);
  const bad = answer([{ ...converted, metadata: { ...converted.metadata, labels: { 'bad key!': 'x' } } }]);
  t.regex(
    refusal(bad, one),
    /^conversion webhook for .* returned invalid metadata: metadata\.labels: Invalid value: "bad key!": /,
  );
  // a list is worded by item
  const two = [original('a'), original('b')];
  const second = asDesired(original('b'));
  t.is(
    refusal(answer([converted, { ...second, metadata: { ...second.metadata, name: 'c' } }]), two),
    `${prefix} returned invalid converted object at index 1: must have the same name: b != c`,
  );
  // v1beta1 answers are not checked for their uid, as upstream never checked them
  t.is(
    refusal({ response: { uid: 'other', result: { status: 'Success' }, convertedObjects: fine } }, one, 'v1beta1'),
    'accepted',
  );
});

test('a converted object keeps its original metadata but takes the webhook labels and annotations', (t) => {
  const converted = asDesired(original('a'));
  converted.metadata = {
    name: 'a',
    namespace: 'default',
    uid: 'uid-a',
    resourceVersion: '99',
    generation: 5,
    labels: { b: '2' },
    annotations: { note: 'converted' },
  };
  const [result] = readConversionAnswer(answer([converted]), 'v1', 'u1', [original('a')], to);
  t.deepEqual(result?.metadata, {
    name: 'a',
    namespace: 'default',
    uid: 'uid-a',
    resourceVersion: '7',
    labels: { b: '2' },
    annotations: { note: 'converted' },
  });
  t.deepEqual(result?.spec, { flow: '3l' });
  // labels the webhook leaves out are gone
  const unlabelled = asDesired(original('a'));
  delete unlabelled.metadata.labels;
  t.false(
    'labels' in (readConversionAnswer(answer([unlabelled]), 'v1', 'u1', [original('a')], to)[0]?.metadata as Any),
  );
});
