/**
 * `npm run bench -- <suite> [--quick] [suite options]`: runs bench/<suite>.ts on this Node with the
 * remaining arguments. Each suite measures its own same-run baseline and prints one JSON object as
 * its last output line. `npm run bench -- list` names the suites.
 */
import { readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const here = import.meta.dirname;
const suites = readdirSync(here)
  .filter((name) => name.endsWith('.ts') && name !== 'run.ts' && !name.startsWith('_'))
  .map((name) => name.slice(0, -'.ts'.length))
  .sort();

const [suite, ...rest] = process.argv.slice(2);
if (suite === undefined || suite === 'list' || suite === '--help') {
  process.stdout.write(`usage: npm run bench -- <suite> [--quick]\nsuites: ${suites.join(', ') || '(none yet)'}\n`);
  process.exitCode = suite === undefined ? 2 : 0;
} else if (!suites.includes(suite)) {
  process.stderr.write(`bench: no suite '${suite}'; suites: ${suites.join(', ') || '(none yet)'}\n`);
  process.exitCode = 2;
} else {
  const child = spawn(process.execPath, [join(here, `${suite}.ts`), ...rest], { stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
}
