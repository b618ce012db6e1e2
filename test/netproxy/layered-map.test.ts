/** The renderer's copy-on-write map: versions never see each other's changes, and folding keeps every entry. */
import test from 'ava';
import { LayeredMap } from '../../netproxy/layered-map.ts';

test('a new version sees its parent, and changes to it never show in the parent', (t) => {
  const first = LayeredMap.empty<string, number>();
  first.set('a', 1);
  first.set('b', 2);
  const second = first.next();
  second.set('a', 10);
  second.delete('b');
  second.set('c', 3);
  t.deepEqual([first.get('a'), first.get('b'), first.get('c')], [1, 2, undefined]);
  t.deepEqual([second.get('a'), second.get('b'), second.get('c')], [10, undefined, 3]);
  t.deepEqual([...second.entries()].sort(), [
    ['a', 10],
    ['c', 3],
  ]);
});

test('past the depth limit the versions fold into one map with the same entries', (t) => {
  let map = LayeredMap.empty<number, number>();
  for (let i = 0; i < 100; i++) {
    map = map.next(4);
    map.set(i, i);
    if (i % 3 === 0) map.delete(i - 1);
  }
  const expected = Array.from({ length: 100 }, (_, i) => i).filter((i) => (i + 1) % 3 !== 0 || i === 99);
  t.deepEqual(
    [...map.entries()].map(([k]) => k).sort((a, b) => a - b),
    expected,
  );
  for (const i of expected) t.is(map.get(i), i);
});
