/**
 * How `bosun agent` starts from the source tree (bin/bosun): the agent runs with 1 MiB semi-spaces
 * (cli/agent-run.ts says why), a flag V8 takes only at start. When the launcher gives it, Node
 * starts once; otherwise the agent re-executes itself to add it, paying a second Node start and a
 * second parse of the command line on every node's join and every agent restart.
 * Counted by a preload that notes each Node start, not by a clock.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/run.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');

/** Runs `argv` and returns its result and one line per Node process start: that start's V8 flags. */
async function nodeStarts(argv: readonly string[]) {
  const folder = mkdtempSync(join(tmpdir(), 'bosun-node-starts-'));
  try {
    const log = join(folder, 'starts.log');
    const preload = join(folder, 'note-start.cjs');
    writeFileSync(
      preload,
      `require('node:fs').appendFileSync(${JSON.stringify(log)}, JSON.stringify(process.execArgv) + '\\n');\n`,
    );
    const result = await run(argv, { env: { NODE_OPTIONS: `--require=${preload}` }, timeoutMs: 60_000 });
    const starts = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as string[]);
    return { result, starts };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

test('bosun agent starts Node once, already with its small young generation', async (t) => {
  const { result, starts } = await nodeStarts([
    bosun,
    'agent',
    '--kubeconfig',
    '/nonexistent/agent.kubeconfig',
    '--node-name',
    'start-count',
  ]);
  // no kubeconfig: the agent stops at its first step, after the point where it would re-execute
  t.is(result.code, 1, result.stderr);
  t.regex(result.stderr, /kubeconfig/);
  t.is(starts.length, 1, `Node started ${starts.length} times: ${JSON.stringify(starts)}`);
  t.true(starts[0]!.includes('--max-semi-space-size=1'));
});

test('other commands keep the default young generation', async (t) => {
  const { result, starts } = await nodeStarts([bosun, 'cri', '--help']);
  t.is(result.code, 0, result.stderr);
  t.is(starts.length, 1);
  t.false(starts[0]!.some((flag) => flag.startsWith('--max-semi-space-size')));
});
