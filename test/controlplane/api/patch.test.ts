import test from 'ava';
import { applyJsonPatch, applyMergePatch, strategicMerge } from '../../../controlplane/api/patch.ts';
import { ApiError } from '../../../kube/errors.ts';

const pod = () => ({
  metadata: { name: 'p', labels: { a: '1', b: '2' }, finalizers: ['x'] },
  spec: {
    containers: [
      {
        name: 'app',
        image: 'app:1',
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
        ports: [{ containerPort: 80 }],
      },
      { name: 'side', image: 'side:1' },
    ],
    tolerations: [{ key: 't1' }],
  },
});

test('strategic merge: lists of named things merge by key', (t) => {
  const out = strategicMerge(pod(), {
    spec: {
      containers: [
        {
          name: 'app',
          image: 'app:2',
          env: [
            { name: 'B', value: '20' },
            { name: 'C', value: '3' },
          ],
        },
      ],
    },
  }) as any;
  t.deepEqual(
    out.spec.containers.map((c: any) => `${c.name}=${c.image}`),
    ['app=app:2', 'side=side:1'],
  );
  t.deepEqual(out.spec.containers[0].env, [
    { name: 'A', value: '1' },
    { name: 'B', value: '20' },
    { name: 'C', value: '3' },
  ]);
  t.deepEqual(out.spec.containers[0].ports, [{ containerPort: 80 }], 'untouched lists stay');
});

test('strategic merge: $patch delete, $patch replace, null, $retainKeys, $deleteFromPrimitiveList', (t) => {
  const deleted = strategicMerge(pod(), { spec: { containers: [{ name: 'side', $patch: 'delete' }] } }) as any;
  t.deepEqual(
    deleted.spec.containers.map((c: any) => c.name),
    ['app'],
  );
  const replaced = strategicMerge(pod(), {
    spec: { containers: [{ name: 'only', image: 'o:1' }, { $patch: 'replace' }] },
  }) as any;
  t.deepEqual(replaced.spec.containers, [{ name: 'only', image: 'o:1' }]);
  const nulled = strategicMerge(pod(), { metadata: { labels: { a: null } } }) as any;
  t.deepEqual(nulled.metadata.labels, { b: '2' });
  const retained = strategicMerge(
    { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } },
    { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
  ) as any;
  t.deepEqual(retained.spec.strategy, { type: 'Recreate' });
  const primitive = strategicMerge(pod(), { metadata: { '$deleteFromPrimitiveList/finalizers': ['x'] } }) as any;
  t.deepEqual(primitive.metadata.finalizers, []);
  const union = strategicMerge(pod(), { metadata: { finalizers: ['y'] } }) as any;
  t.deepEqual(union.metadata.finalizers, ['x', 'y'], 'finalizers merge as a set');
  const ordered = strategicMerge(pod(), {
    spec: { '$setElementOrder/containers': [{ name: 'side' }, { name: 'app' }] },
  }) as any;
  t.false(JSON.stringify(ordered).includes('$setElementOrder'), 'directives never reach the stored object');
  const tolerations = strategicMerge(pod(), { spec: { tolerations: [{ key: 't2' }] } }) as any;
  t.deepEqual(tolerations.spec.tolerations, [{ key: 't2' }], 'lists without a merge key are replaced');
});

test('merge patch follows RFC 7386', (t) => {
  t.deepEqual(applyMergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] }), {
    a: { c: 2, d: 3 },
    l: [3],
  });
});

test('json patch: every operation, errors as 400/422', (t) => {
  const doc = { a: [1, 2, 3], o: { k: 'v' } };
  t.deepEqual(
    applyJsonPatch(doc, [
      { op: 'add', path: '/a/1', value: 9 },
      { op: 'remove', path: '/a/0' },
      { op: 'replace', path: '/o/k', value: 'w' },
      { op: 'copy', from: '/o/k', path: '/o/c' },
      { op: 'move', from: '/o/c', path: '/m' },
      { op: 'add', path: '/a/-', value: 4 },
      { op: 'test', path: '/m', value: 'w' },
    ]),
    { a: [9, 2, 3, 4], o: { k: 'w' }, m: 'w' },
  );
  t.deepEqual(doc, { a: [1, 2, 3], o: { k: 'v' } }, 'the input is not modified');
  const missing = t.throws(() => applyJsonPatch(doc, [{ op: 'remove', path: '/nope' }]));
  t.is((missing as ApiError).code, 400);
  const failedTest = t.throws(() => applyJsonPatch(doc, [{ op: 'test', path: '/o/k', value: 'x' }]));
  t.is((failedTest as ApiError).code, 422);
  t.is((t.throws(() => applyJsonPatch(doc, { op: 'add' })) as ApiError).code, 400);
});

test('json patch: test compares objects whatever the order of their keys, as upstream does', (t) => {
  const doc = { spec: { a: 1, b: { c: [1, { d: 2, e: 3 }] } } };
  t.deepEqual(
    applyJsonPatch(doc, [{ op: 'test', path: '/spec', value: { b: { c: [1, { e: 3, d: 2 }] }, a: 1 } }]),
    doc,
  );
  for (const value of [
    { a: 1 },
    { a: 1, b: { c: [1, { d: 2 }] } },
    { a: 1, b: { c: [{ d: 2, e: 3 }, 1] } },
    { a: 1, b: { c: [1, { d: 2, e: 3 }] }, x: null },
  ]) {
    t.throws(() => applyJsonPatch(doc, [{ op: 'test', path: '/spec', value }]), undefined, JSON.stringify(value));
  }
});
