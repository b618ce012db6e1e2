/**
 * `-v N` on the daemons, as klog users pass it, and `bosun completion bash|zsh|fish`: the level a
 * verbosity means, a real server logging each request at -v 4 (and not without it), and the bash
 * script answering a real completion request through the real bin/bosun.
 */
import test from 'ava';
import { join } from 'node:path';
import { logLevelOf } from '../../cli/verbosity.ts';
import { call, adminIdentity, startServerProcess } from '../controlplane/server-process.ts';
import { waitFor } from '../controlplane/ports.ts';
import { run } from '../helpers/run.ts';

const bin = join(import.meta.dirname, '..', '..', 'bin');

test('-v maps onto levels as klog verbosity does; --log-level wins', (t) => {
  t.is(logLevelOf({}, 'info'), 'info');
  t.is(logLevelOf({}, 'warn'), 'warn');
  t.is(logLevelOf({ v: 2 }, 'info'), 'info');
  t.is(logLevelOf({ v: 2 }, 'warn'), 'info', 'asking for verbosity on a quiet daemon shows its info lines');
  t.is(logLevelOf({ v: 0 }, 'warn'), 'warn');
  t.is(logLevelOf({ v: 4 }, 'info'), 'debug');
  t.is(logLevelOf({ v: 6 }, 'info'), 'trace');
  t.is(logLevelOf({ v: 6, 'log-level': 'error' }, 'info'), 'error');
});

test('a server started with --v=4 logs every request at debug; without it, it does not', async (t) => {
  const verbose = await startServerProcess({ datastore: 'sqlite', serverArgs: ['--v=4'] });
  const quiet = await startServerProcess({ datastore: 'sqlite' });
  t.teardown(() => Promise.all([verbose.destroy(), quiet.destroy()]));
  for (const server of [verbose, quiet]) {
    const reply = await call(server, 'GET', '/api/v1/namespaces/default', adminIdentity(server.dataDir));
    t.is(reply.status, 200);
  }
  await waitFor(
    'the verbose server to log the request at debug',
    () => /"level":20[^\n]*"url":"\/api\/v1\/namespaces\/default"/.test(verbose.output()),
    10_000,
  );
  t.notRegex(quiet.output(), /"level":20/);
});

test('bosun completion writes the named shell script and refuses an unknown shell in one line', async (t) => {
  const bash = await run([join(bin, 'bosun'), 'completion', 'bash']);
  t.is(bash.code, 0);
  t.regex(bash.stdout, /complete -o bashdefault -o default -F _bosun_yargs_completions bosun/);
  const zsh = await run([join(bin, 'bosun'), 'completion', 'zsh']);
  t.regex(zsh.stdout, /^#compdef bosun/);
  const fish = await run([join(bin, 'bosun'), 'completion', 'fish']);
  t.regex(fish.stdout, /complete -f -c bosun -a/);
  const tcsh = await run([join(bin, 'bosun'), 'completion', 'tcsh']);
  t.is(tcsh.code, 2);
  t.is(tcsh.stderr.trim(), 'bosun completion: unsupported shell "tcsh"; name one of bash, zsh, fish');
});

test('the bash script completes subcommands and flags through the real bosun', async (t) => {
  const script = (await run([join(bin, 'bosun'), 'completion', 'bash'])).stdout;
  const complete = async (...words: string[]) => {
    const line = [
      script,
      `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}`,
      '_bosun_yargs_completions',
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const result = await run(['bash', '-c', line], { env: { PATH: `${bin}:${process.env.PATH}` } });
    t.is(result.code, 0, result.stderr);
    return result.stdout.trim().split('\n').sort();
  };
  t.deepEqual(await complete('bosun', 'cri', 'po'), ['pods', 'port-forward']);
  t.deepEqual(await complete('bosun', 'check'), ['check-config']);
  t.true((await complete('bosun', 'server', '--data')).includes('--data-dir'));
});
