/**
 * The agent's process guard, in a real Node process: an unhandled rejection and an exception
 * thrown from a timer are logged with their origin and the process keeps running; without the
 * guard the same process dies at the first one (Node's default, which short commands keep).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { installProcessGuard } from '../../agent/process-guard.ts';

const guardModule = join(import.meta.dirname, '..', '..', 'agent', 'process-guard.ts');

/** Runs a child that fails twice in the background, then says it is alive after 200 ms. */
function runChild(guarded: boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `
    const log = { error: (fields, message) => console.log(JSON.stringify({ ...fields, message })) };
    if (${guarded}) (await import(${JSON.stringify(guardModule)})).installProcessGuard(log);
    Promise.reject(new Error('rejected by a record'));
    setTimeout(() => { throw new Error('thrown by a handler'); }, 10);
    setTimeout(() => console.log('alive'), 200);
  `;
  const child = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', script],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

test('with the guard, escaped errors are logged with their origin and the process keeps running', async (t) => {
  const result = await runChild(true);
  t.is(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  t.is(lines.at(-1), 'alive');
  const logged = lines.slice(0, -1).map((line) => JSON.parse(line) as { origin: string; err: { message: string } });
  t.deepEqual(
    logged.map((entry) => [entry.origin, entry.err.message]),
    [
      ['unhandledRejection', 'rejected by a record'],
      ['uncaughtException', 'thrown by a handler'],
    ],
  );
});

test('without the guard the same process dies (what the agent did before)', async (t) => {
  const result = await runChild(false);
  t.not(result.code, 0);
  t.false(result.stdout.includes('alive'));
});

test('uninstall gives the process its default behaviour back', (t) => {
  const emitter = new EventEmitter();
  const guard = installProcessGuard({ error: () => {} }, emitter as never);
  t.is(emitter.listenerCount('unhandledRejection'), 1);
  emitter.emit('unhandledRejection', 'x');
  t.is(guard.escaped, 1);
  guard.uninstall();
  t.is(emitter.listenerCount('unhandledRejection'), 0);
  t.is(emitter.listenerCount('uncaughtException'), 0);
});
