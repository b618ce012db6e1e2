/**
 * File and folder names are kebab-case (`change-tracker.ts`, `service-proxy.test.ts`), so a name
 * read in an import, a stack trace or a review is spelt one way everywhere. Dot-files and the
 * all-caps documents (README.md, ARCHITECTURE.md) follow their own conventions.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const kebab = /^[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)*$/;
const capsDocument = /^[A-Z][A-Z0-9-]*\.md$/;

/** Names kept on purpose, each with the reason a rename would be worse. */
const keptNames: ReadonlyMap<string, string> = new Map([
  ['cri/proto/runtime_v1.proto', 'the CRI wire contract keeps the name it is published under'],
  ['cri/proto/runtime_v1.json', 'compiled from runtime_v1.proto and named after it'],
  ['bench/_without-validation.ts', 'the leading underscore keeps bench/run.ts from running it as a suite'],
  ['bench/_without-validation-hooks.ts', 'the leading underscore keeps bench/run.ts from running it as a suite'],
]);

/** Pure: the finding for one path relative to the root (`a/b/c.ts`), or undefined when its last name is fine. */
export function fileNameFinding(path: string): string | undefined {
  const name = path.split('/').at(-1) ?? '';
  if (name.startsWith('.') || capsDocument.test(name) || kebab.test(name) || keptNames.has(path)) return undefined;
  return `${path}: file and folder names are kebab-case (lower case words joined by "-")`;
}

/** Every file and folder under `root`, except node_modules and dot-folders. */
export function* namesUnder(root: string, dir = root): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    yield relative(root, path).split('\\').join('/');
    if (statSync(path).isDirectory()) yield* namesUnder(root, path);
  }
}
