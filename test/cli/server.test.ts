/** `bosun server` as a user meets it: help, usage errors (exit 2) and start failures (exit 1), one line each. */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const bosun = resolve(import.meta.dirname, '../../bin/bosun');
const dir = mkdtempSync(join(tmpdir(), `bosun-cli-${process.pid}-`));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(bosun, args, { timeout: 30_000 }, (err, stdout, stderr) =>
      done({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('bosun server --help names the flags', async (t) => {
  const r = await run(['server', '--help']);
  t.is(r.code, 0);
  for (const flag of [
    '--data-dir',
    '--datastore',
    '--etcd-endpoints',
    '--bind-address',
    '--secure-port',
    '--advertise-address',
  ])
    t.true(r.stdout.includes(flag), flag);
});

test('a bad port is a usage error, one line, exit 2', async (t) => {
  const r = await run(['server', '--data-dir', dir, '--secure-port', '70000']);
  t.is(r.code, 2);
  t.is(r.stderr.trim().split('\n').length, 1);
  t.regex(r.stderr, /--secure-port 70000 is not a port/);
});

test('a metric resolution below 10s is a usage error, as metrics-server refuses it', async (t) => {
  for (const value of ['5s', 'soon']) {
    const r = await run(['server', '--data-dir', dir, '--metric-resolution', value]);
    t.is(r.code, 2, value);
    t.regex(r.stderr, /--metric-resolution .*: metric-resolution should be a time duration at least 10s/);
  }
});

test('etcd without endpoints fails to start, one line, exit 1', async (t) => {
  const r = await run(['server', '--data-dir', dir, '--datastore', 'etcd']);
  t.is(r.code, 1);
  t.regex(r.stderr, /^bosun: server failed to start: --datastore etcd needs --etcd-endpoints\n$/);
});

test('an unreachable etcd fails to start with the reason', async (t) => {
  const r = await run([
    'server',
    '--data-dir',
    dir,
    '--datastore',
    'etcd',
    '--etcd-endpoints',
    'http://127.0.0.1:9',
    '--secure-port',
    '0',
  ]);
  t.is(r.code, 1);
  t.regex(r.stderr, /^bosun: server failed to start: the etcd datastore is not reachable/);
  t.false(r.stderr.includes('    at '), 'no stack trace');
});
