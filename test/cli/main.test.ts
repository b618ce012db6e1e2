import test from 'ava';
import { join } from 'node:path';
import { run } from '../helpers/run.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');

test('bosun --version names bosun and the Node 24 runtime it runs on', async (t) => {
  const result = await run([bosun, '--version']);
  t.is(result.code, 0);
  t.regex(result.stdout.trim(), /^bosun \d+\.\d+\.\d+ \(node v24\.\d+\.\d+, linux\/x64\)$/);
});

test('bosun --help lists usage and exits 0', async (t) => {
  const result = await run([bosun, '--help']);
  t.is(result.code, 0);
  t.true(result.stdout.includes('bosun <command> [options]'));
});

for (const [argv, message] of [
  [['no-such-command'], "bosun: unknown command 'no-such-command'; see bosun --help"],
  [[], 'bosun: name a command; see bosun --help'],
  [['--bogus-flag'], 'bosun: unknown option --bogus-flag; see bosun --help'],
] as const) {
  test(`usage error for [${argv.join(' ')}]: one line on stderr, exit 2, no stack`, async (t) => {
    const result = await run([bosun, ...argv]);
    t.is(result.code, 2);
    t.is(result.stdout, '');
    t.is(result.stderr.trim(), message);
  });
}
