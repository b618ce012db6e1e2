/**
 * What the agent's module graph loads at start: each package costs the idle agent memory (the
 * agent-footprint bench's per-package table), so one that only a rare request needs is loaded at
 * that request. Checked in a fresh Node that imports the agent's entry module and lists the
 * packages its CommonJS loader then holds.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

function packagesLoadedBy(entry: string): string[] {
  const probe = [
    "import { createRequire } from 'node:module';",
    `await import(${JSON.stringify(entry)});`,
    "const loaded = Object.keys(createRequire(import.meta.url)('node:module')._cache);",
    'const names = loaded.map((file) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(file)?.[1]).filter(Boolean);',
    'process.stdout.write(JSON.stringify([...new Set(names)].sort()));',
  ].join('\n');
  const out = execFileSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', probe],
    { cwd: root, encoding: 'utf8' },
  );
  return JSON.parse(out) as string[];
}

let agentPackages: string[] | undefined;
const loadedByAgent = () => {
  agentPackages ??= packagesLoadedBy(join(root, 'agent', 'agent.ts'));
  return agentPackages;
};

test('the agent does not load the websocket library until a stream needs translating', (t) => {
  const loaded = loadedByAgent();
  t.true(loaded.includes('dns-packet'), `the probe sees the agent's packages: ${loaded.join(', ')}`);
  t.false(loaded.includes('ws'), `loaded at start: ${loaded.join(', ')}`);
});

test('the agent does not load grpc-js until a pod has a gRPC probe (its CRI calls go over http2)', (t) => {
  const loaded = loadedByAgent();
  t.true(loaded.includes('dns-packet'), `the probe sees the agent's packages: ${loaded.join(', ')}`);
  t.false(loaded.includes('@grpc/grpc-js'), `loaded at start: ${loaded.join(', ')}`);
});
