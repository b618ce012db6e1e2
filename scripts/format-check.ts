/**
 * Which files the pinned formatter would rewrite. One style for the whole tree keeps reviews about
 * what changed, not about where a line was broken. Biome is a single native binary shipped inside its
 * npm package, so the check costs a fraction of a second on the whole tree.
 */
import { spawnSync } from 'node:child_process';
import { relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const biome = resolve(root, 'node_modules/.bin/biome');

/** One finding per file the formatter would change, or one line saying why the check could not run. */
export function unformattedFiles(): string[] {
  const run = spawnSync(biome, ['format', '--max-diagnostics=none', '--reporter=github', '.'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error !== undefined) return [`formatter did not run (${run.error.message}); run npm ci`];
  if (run.status === 0) return [];
  const files = new Set<string>();
  for (const line of run.stdout.split('\n')) {
    const match = /^::error[^:]*file=([^,]+),/.exec(line);
    if (match?.[1] !== undefined) files.add(relative(root, resolve(root, match[1])));
  }
  if (files.size === 0) return [`formatter failed: ${(run.stderr || run.stdout).trim().split('\n')[0]}`];
  return [...files].sort().map((file) => `${file}: not formatted; run npx biome format --write ${file}`);
}
