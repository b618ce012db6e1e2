/**
 * The text pool replaces a cached object's string values by one shared instance per text: what a
 * reader sees must not change (same structure, same values, nothing added or lost), frozen parts
 * are left alone, and the pool stays bounded however many distinct texts pass through it.
 */
import test from 'ava';
import { TextPool } from '../../kube/text-pool.ts';

const decodedPod = (name: string) =>
  JSON.parse(
    `${JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '7', labels: { app: 'web' } },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox:1.36', args: ['sleep', '3600', ''] }] },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null }], ready: true },
    }).slice(0, -1)},"__proto__":"a key JSON.parse makes an own property"}`,
  ) as Record<string, unknown>;

test('shared texts leave every value as it was decoded, in place, and pool the repeated ones', (t) => {
  const pool = new TextPool();
  const first = decodedPod('a');
  const second = decodedPod('b');
  const expected = [structuredClone(first), structuredClone(second)];
  t.is(pool.shareTexts(first), first, 'the same object, changed in place');
  pool.shareTexts(second);
  t.deepEqual([first, second], expected);
  t.is(Object.getPrototypeOf(first), Object.prototype, 'a "__proto__" key stays an own property');
  t.is(Object.getOwnPropertyDescriptor(first, '__proto__')?.value, 'a key JSON.parse makes an own property');
  // the values of both pods went through the pool once each; UIDs and versions are unique, not pooled
  t.is(pool.text('Running'), 'Running');
  t.false(pool.size > 20, `${pool.size} texts pooled`);
  t.true(pool.size >= 12, `${pool.size} texts pooled`);
});

test('frozen parts of an object are left alone, and long texts are not pooled', (t) => {
  const pool = new TextPool();
  const frozenSpec = Object.freeze({ image: 'busybox:1.36' });
  const object = { spec: frozenSpec, data: 'x'.repeat(4096), name: 'y' };
  t.notThrows(() => pool.shareTexts(object));
  t.is(object.spec, frozenSpec);
  t.is(object.data.length, 4096);
  t.is(pool.size, 1, 'only the short text');
  t.notThrows(() => pool.shareTexts(Object.freeze({ a: 'b' })));
});

test('a full pool starts over instead of growing', (t) => {
  const pool = new TextPool(100);
  for (let i = 0; i < 1_000; i++) t.is(pool.text(`name-${i}`), `name-${i}`);
  t.true(pool.size <= 100, `${pool.size} texts kept`);
  t.true(pool.size > 0);
});
