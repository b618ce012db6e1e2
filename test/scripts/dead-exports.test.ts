import test from 'ava';
import { deadExports, withoutExportKeyword } from '../../scripts/dead-exports.ts';

const root = '/repo';

/** The checker over an in-memory tree: path (relative to root) -> text. */
function deadIn(tree: Record<string, string>) {
  const files = Object.keys(tree).map((path) => `${root}/${path}`);
  return deadExports(root, files, (file) => tree[file.slice(root.length + 1)] ?? '').map(
    (d) => `${d.file}#${d.name}:${d.usedInFile ? 'local' : 'unused'}`,
  );
}

test('an export no file imports is found; one used in its own file only loses just the keyword', (t) => {
  const dead = deadIn({
    'kube/a.ts': [
      'export interface Shape { x: number }',
      'export function area(s: Shape): number { return s.x; }',
      'export const unused = 1;',
      'export function used() { return 2; }',
    ].join('\n'),
    'agent/b.ts': "import { used } from '../kube/a.ts';\nused();",
  });
  t.deepEqual(dead.sort(), ['kube/a.ts#Shape:local', 'kube/a.ts#area:unused', 'kube/a.ts#unused:unused']);
});

test('imports by type, re-export, namespace, dynamic import and module URL all count as taken', (t) => {
  const dead = deadIn({
    'kube/types.ts': 'export interface A {}\nexport interface B {}',
    'kube/names.ts': 'export const n = 1;\nexport const m = 2;',
    'kube/hooks.ts': 'export function load() {}',
    'kube/lazy.ts': 'export function later() {}',
    'kube/all.ts': 'export const everything = 1;',
    'agent/uses.ts': [
      "import type { A } from '../kube/types.ts';",
      "export { B as Renamed } from '../kube/types.ts';",
      "import * as names from '../kube/names.ts';",
      "register(new URL('../kube/hooks.ts', import.meta.url));",
      "const lazy = await import('../kube/lazy.ts');",
      "export * from '../kube/all.ts';",
      'let a: A; names.n; lazy;',
    ].join('\n'),
    'cli/main.ts': "import { Renamed } from '../agent/uses.ts';\nRenamed;",
  });
  t.deepEqual(dead, []);
});

test('a default export and a name taken from another module of the same name are told apart', (t) => {
  const dead = deadIn({
    'kube/one.ts': 'export const shared = 1;\nexport default 3;',
    'kube/two.ts': 'export const shared = 2;',
    'agent/c.ts': "import { shared } from '../kube/two.ts';\nshared;",
  });
  t.deepEqual(dead.sort(), ['kube/one.ts#default:unused', 'kube/one.ts#shared:unused']);
});

test('the fix drops only the keyword of a plain declaration of that name', (t) => {
  t.is(withoutExportKeyword('export interface Shape {', 'Shape'), 'interface Shape {');
  t.is(withoutExportKeyword('export async function load(url: string) {', 'load'), 'async function load(url: string) {');
  t.is(withoutExportKeyword('export const a = 1;', 'a'), 'const a = 1;');
  t.is(withoutExportKeyword('export const ab = 1;', 'a'), undefined);
  t.is(withoutExportKeyword("export { a, b } from './x.ts';", 'a'), undefined);
  t.is(withoutExportKeyword('export default a;', 'default'), undefined);
});
