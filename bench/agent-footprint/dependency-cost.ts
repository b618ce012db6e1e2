/**
 * What each package the agent loads costs in memory: each is imported alone into a fresh Node
 * with the agent's own young-generation flag, and the RSS and V8 heap after two full collections
 * are compared with the same process before the import. The first package a process loads also
 * pays for Node's CommonJS loader, so the baseline imports a one-line built-in first.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/** The packages the agent's module graph holds, by the specifier it imports them with, and the agent itself. */
const agentPackages = [
  // built-ins several packages share: their cost is counted again in each package's own row
  'node:tls',
  'node:http2',
  '@grpc/grpc-js',
  'protobufjs/dist/light/protobuf.min.js',
  'ws',
  'js-yaml',
  'dns-packet',
  'pino',
  // everything at once: less than the sum, since the rows above share built-ins and helpers
  './agent/agent.ts',
] as const;

interface DependencyCost {
  rssMiB: number;
  heapMiB: number;
}

const round = (n: number) => Math.round(n * 10) / 10;
const repo = resolve(import.meta.dirname, '..', '..');

function costOf(specifier: string): DependencyCost {
  const probe = [
    "import { createRequire } from 'node:module';",
    "createRequire(import.meta.url)('node:path');",
    'const settle = () => { globalThis.gc(); globalThis.gc(); return process.memoryUsage(); };',
    'const before = settle();',
    `await import(${JSON.stringify(specifier)});`,
    'const after = settle();',
    'process.stdout.write(JSON.stringify({ rss: after.rss - before.rss, heap: after.heapUsed - before.heapUsed }));',
  ].join('\n');
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--max-semi-space-size=1', '--input-type=module', '-e', probe],
    { cwd: repo, encoding: 'utf8' },
  );
  const { rss, heap } = JSON.parse(out) as { rss: number; heap: number };
  return { rssMiB: round(rss / 1048576), heapMiB: round(heap / 1048576) };
}

/** RSS and heap of each of the agent's packages, loaded one at a time. */
export function dependencyCosts(): Record<string, DependencyCost> {
  return Object.fromEntries(agentPackages.map((name) => [name, costOf(name)]));
}
