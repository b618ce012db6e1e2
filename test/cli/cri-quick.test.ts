/**
 * The quick path of `bosun cri` (cli/cri-quick.ts) reads a plain listing command line exactly as
 * yargs reads it from the same option records, and leaves every other command line to yargs.
 */
import test from 'ava';
import { join } from 'node:path';
import yargs from 'yargs';
import { run } from '../helpers/run.ts';
import { parseQuickCommandLine } from '../../cli/cri-quick.ts';
import { listingSubcommands } from '../../cli/cri.ts';
import { criGlobalOptions, criParserConfiguration } from '../../cli/cri-options.ts';

/** What yargs hands the subcommand's handler for `argv`, under the options' own names. */
async function yargsArgs(argv: readonly string[]): Promise<Record<string, unknown>> {
  let captured: Record<string, unknown> | undefined;
  let declared: string[] = [];
  await yargs([...argv])
    .strict()
    .fail((message) => {
      throw new Error(message);
    })
    .command('cri', '', (y) => {
      y.parserConfiguration(criParserConfiguration).options(criGlobalOptions);
      for (const [name, subcommand] of Object.entries(listingSubcommands)) {
        y.command(
          name,
          '',
          (sub) => sub.options(subcommand.options),
          (args) => {
            captured = args;
            declared = [...Object.keys(criGlobalOptions), ...Object.keys(subcommand.options)];
          },
        );
      }
      return y;
    })
    .parseAsync();
  if (captured === undefined) throw new Error(`yargs ran no subcommand for ${argv.join(' ')}`);
  return Object.fromEntries(declared.filter((name) => captured![name] !== undefined).map((n) => [n, captured![n]]));
}

const readAlike: string[][] = [
  ['cri', 'ps'],
  ['cri', 'ps', '-a', '-q'],
  ['cri', '-r', 'unix:///run/other.sock', 'ps', '--name', 'web', '--label', 'a=b', '--label', 'c=d'],
  ['cri', 'ps', '--name=x.*', '--namespace', 'kube-system', '-s', 'running', '-n', '3', '--latest'],
  ['cri', 'ps', '-o', 'json', '--pod', 'abc', '--image=busybox', '--id', '12'],
  ['cri', 'ps', '--runtime-endpoint=unix:///x', '--request-timeout', '2.5', '--config', '/etc/crictl.yaml'],
  ['cri', 'pods', '--state', 'ready', '-o', 'yaml', '--last=10'],
  ['cri', 'images', '-q'],
  ['cri', 'images', '--digests', '--output', 'json'],
  ['cri', 'version'],
  ['cri', 'info', '-o', 'yaml'],
  ['cri', 'ps', '--name', '123'],
  ['cri', 'ps', '--no-trunc', '-a'],
  ['cri', 'images', '--no-trunc'],
];

for (const argv of readAlike) {
  test(`read as yargs reads it: ${argv.join(' ')}`, async (t) => {
    const quick = parseQuickCommandLine(argv);
    t.truthy(quick);
    const named: string | undefined = quick?.subcommand;
    t.is(
      named,
      argv.find((word, i) => i > 0 && Object.hasOwn(listingSubcommands, word)),
    );
    t.deepEqual(quick?.args, await yargsArgs(argv));
  });
}

test('help, completion, unknown flags, positional words and values yargs reads its own way go to yargs', (t) => {
  const leftToYargs: string[][] = [
    ['cri'],
    ['cri', '--help'],
    ['cri', 'ps', '--help'],
    ['cri', 'ps', '-h'],
    ['cri', 'ps', '--version'],
    ['--get-yargs-completions', 'bosun', 'cri', 'p'],
    ['cri', 'ps', '--bogus'],
    ['cri', 'ps', '--no-all'],
    ['cri', 'ps', '-aq'],
    ['cri', 'ps', '--all', 'false'],
    ['cri', 'ps', '--all=true'],
    ['cri', 'ps', '-a', '-a'],
    ['cri', 'ps', '--name', 'a', '--name', 'b'],
    ['cri', 'ps', '--name'],
    ['cri', 'ps', '--name', '--all'],
    ['cri', 'ps', '--name='],
    ['cri', 'ps', '--last', 'many'],
    ['cri', 'ps', '--last', '0x10'],
    ['cri', 'ps', '-o', 'wide'],
    ['cri', 'ps', '--', 'x'],
    ['cri', 'ps', 'extra'],
    ['cri', 'images', 'busybox'],
    ['cri', 'img'],
    ['cri', '-a', 'ps'],
    ['cri', 'ps', 'pods'],
    ['cri', 'inspect', 'abc'],
    ['cri', 'logs', 'abc'],
    ['cri', 'exec', 'abc', '--', 'true'],
    ['server'],
  ];
  for (const argv of leftToYargs) t.is(parseQuickCommandLine(argv), undefined, argv.join(' '));
});

test("crictl's --no-trunc and --no-pull are flags of their own, on either path; --no-all is no flag", async (t) => {
  const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
  const endpoint = ['-r', 'unix:///nonexistent/containerd.sock'];
  const unreachable = /^bosun: containerd is not reachable at unix:\/\/\/nonexistent\/containerd\.sock/;
  // the quick path, then yargs (a positional word sends `images` there)
  for (const argv of [
    ['cri', ...endpoint, 'ps', '--no-trunc'],
    ['cri', ...endpoint, 'images', 'busybox', '--no-trunc'],
  ]) {
    const listed = await run([bosun, ...argv]);
    t.is(listed.code, 1, argv.join(' '));
    t.regex(listed.stderr, unreachable);
  }
  const created = await run([bosun, 'cri', ...endpoint, 'create', '--no-pull', 'pod', 'missing.json', 'pod.json']);
  t.is(created.code, 2);
  t.regex(created.stderr, /^bosun: cannot read missing\.json/);
  const negated = await run([bosun, 'cri', ...endpoint, 'ps', '--no-all']);
  t.is(negated.code, 2);
  t.regex(negated.stderr, /^bosun cri ps: unknown flag --no-all/);
});
