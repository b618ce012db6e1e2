/**
 * Project lint, kept fast: checks what the type checker cannot.
 *  - which top-level folder may import which (ARCHITECTURE.md, "Which folder may use which"),
 *    including that nothing but the CLI, tests and benchmarks loads the sandbox;
 *  - no `console.log` left in library folders (they log through pino or return values);
 *  - kebab-case file and folder names (scripts/file-names.ts);
 *  - every test under the test/ folder that mirrors the code it covers (scripts/test-layout.ts);
 *  - every TypeScript file as the pinned formatter (Biome, biome.json) writes it; `npx biome format --write .` fixes it;
 *  - no export that no other file imports (scripts/dead-exports.ts; `npm run lint -- --fix-dead-exports`
 *    drops the keyword where only the file itself uses the name, and lists what is left);
 * Prints one line per finding and exits 1 when there is any.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { deadExportFinding, deadExports, fixDeadExports } from './dead-exports.ts';
import { fileNameFinding, namesUnder } from './file-names.ts';
import { testLayoutFinding } from './test-layout.ts';
import { unformattedFiles } from './format-check.ts';

const root = resolve(import.meta.dirname, '..');

/** folder -> folders of ours it may import. Folders not listed (test, bench, scripts) may use anything but the sandbox. */
const allowed: Record<string, readonly string[]> = {
  cli: ['cli', 'host', 'sandbox', 'agent', 'controlplane', 'cri', 'netproxy', 'kube'],
  host: ['host', 'agent', 'controlplane', 'cri', 'netproxy', 'kube'],
  sandbox: ['sandbox', 'host', 'agent', 'controlplane', 'cri', 'netproxy', 'kube'],
  agent: ['agent', 'cri', 'netproxy', 'kube'],
  netproxy: ['netproxy', 'kube'],
  controlplane: ['controlplane', 'kube'],
  kube: ['kube'],
  cri: ['cri'],
};
const libraryFolders = new Set(['agent', 'netproxy', 'controlplane', 'kube', 'cri', 'host']);
/**
 * The sandbox is a learning and test bed, never part of a node or a server: besides the folders
 * above (whose lists leave it out), only the CLI, tests and benchmarks may load it.
 */
const sandboxUsers = new Set(['cli', 'sandbox', 'test', 'bench']);

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (name.endsWith('.ts')) yield path;
  }
}

const findings: string[] = [];
const importPattern =
  /(?:^|\n)\s*(?:import|export)[^'"\n]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

const topFolders = readdirSync(root).filter(
  (name) => name !== 'node_modules' && !name.startsWith('.') && statSync(join(root, name)).isDirectory(),
);

const everyFile = topFolders.flatMap((top) => [...sourceFiles(join(root, top))]);

for (const top of topFolders) {
  const rule = allowed[top];
  if (rule === undefined && sandboxUsers.has(top)) continue;
  for (const file of sourceFiles(join(root, top))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(importPattern)) {
      const spec = match[1] ?? match[2];
      if (spec === undefined) continue;
      const target = relative(root, resolve(dirname(file), spec)).split(sep)[0] ?? '';
      const refused = rule === undefined ? target === 'sandbox' : !rule.includes(target);
      if (refused) {
        findings.push(`${relative(root, file)}: ${top}/ may not import ${target}/ (${spec}); see ARCHITECTURE.md`);
      }
    }
    if (libraryFolders.has(top) && /^\s*console\.log\(/m.test(text)) {
      findings.push(`${relative(root, file)}: console.log in a library folder; log through pino or return the value`);
    }
  }
}

const sourceFolders = new Set(topFolders.filter((name) => name !== 'test'));
for (const path of namesUnder(root)) {
  const finding = fileNameFinding(path);
  if (finding !== undefined) findings.push(finding);
  const layout = testLayoutFinding(path, sourceFolders);
  if (layout !== undefined) findings.push(layout);
}

const dead = process.argv.includes('--fix-dead-exports')
  ? fixDeadExports(root, everyFile)
  : deadExports(root, everyFile);
findings.push(...dead.map(deadExportFinding));
findings.push(...unformattedFiles());

for (const line of findings) process.stdout.write(`${line}\n`);
process.exitCode = findings.length > 0 ? 1 : 0;
