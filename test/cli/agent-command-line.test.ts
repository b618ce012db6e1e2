/**
 * `bosun agent`'s plain command-line reader (cli/agent-command-line.ts) against yargs: for command
 * lines drawn from the agent's own flag records (valid and invalid values, every spelling, config
 * files of each kind), the reader either leaves the line to yargs or gives exactly the arguments
 * yargs hands the agent's handler. And the agent it starts does not load yargs.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs, { type CommandModule, type Options } from 'yargs';
import { agentCommand } from '../../cli/agent-command.ts';
import { parseAgentCommandLine, readableRecords } from '../../cli/agent-command-line.ts';
import { agentConfigFileFlags, agentFlags } from '../../cli/agent-flags.ts';
import { optionTableOf, optionTableOfRecords } from '../../cli/config/option-table.ts';
import { loadedModules } from '../helpers/loaded-modules.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
const scratch = mkdtempSync(join(tmpdir(), `bosun-agent-argv-${process.pid}-`));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

function file(name: string, lines: readonly string[]): string {
  const path = join(scratch, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** Config files of each kind the agent reads, and ones that yargs alone handles or refuses. */
const configFiles = {
  flags: file('flags.yaml', ['max-pods: 50', 'node-labels: [zone=a, "disk=ssd,tier=1"]', 'cgroups-per-qos: false']),
  // a key that --proxy-config sets too: the first file read wins
  withMode: file('with-mode.yaml', ['proxy-mode: none', 'healthz-port: 0']),
  shared: file('shared.yaml', ['max-pods: 40', '# a key of bosun server', 'datastore: etcd']),
  kubelet: file('kubelet.yaml', [
    'apiVersion: kubelet.config.k8s.io/v1beta1',
    'kind: KubeletConfiguration',
    'maxPods: 30',
    'clusterDNS: [10.96.0.53]',
  ]),
  proxy: file('proxy.yaml', [
    'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
    'kind: KubeProxyConfiguration',
    'mode: ipvs',
  ]),
  unknownKey: file('unknown.yaml', ['max-podz: 3']),
  badValue: file('bad-value.yaml', ['max-pods: many']),
  notYaml: file('not-yaml.yaml', ['max-pods: [1']),
  missing: join(scratch, 'missing.yaml'),
};

const everyFlag = { ...agentFlags, ...agentConfigFileFlags } as Record<string, Options>;
const flagNames = Object.keys(everyFlag);

/** The arguments yargs hands the handler under the flags' own names, or 'refused'. */
async function viaYargs(argv: readonly string[]): Promise<Record<string, unknown> | 'refused'> {
  let seen: Record<string, unknown> | undefined;
  try {
    await yargs([...argv])
      .strict()
      .command({ ...agentCommand, handler: (args: Record<string, unknown>) => void (seen = args) } as CommandModule)
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      })
      .exitProcess(false)
      .parseAsync();
  } catch {
    return 'refused';
  }
  if (seen === undefined) return 'refused';
  const args = seen;
  return Object.fromEntries(flagNames.filter((name) => args[name] !== undefined).map((name) => [name, args[name]]));
}

/** A small seeded generator, so that a failure names a case that can be run again. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

const pick = <T>(next: () => number, items: readonly T[]): T => items[Math.floor(next() * items.length)]!;

const texts = ['a', 'node-1', 'a,b', ' x , y ', '10.0.0.1', 'true', 'false', '', '-x', '5', 'k=v:NoSchedule', '1m'];
const numbers = ['0', '5', '08', '1.5', '-3', '0x10', '1e3', 'abc', '', '65536'];

/** The words one flag adds to a command line, in one of the spellings a user may write. */
function flagWords(next: () => number, name: string): string[] {
  const option = everyFlag[name]!;
  const dashes = name.length === 1 && next() < 0.5 ? '-' : '--';
  if (name === 'config' || name === 'proxy-config') {
    const path = pick(next, Object.values(configFiles));
    return next() < 0.5 ? [`--${name}`, path] : [`--${name}=${path}`];
  }
  if (option.type === 'boolean') {
    return pick(next, [
      [`--${name}`],
      [`--no-${name}`],
      [`--${name}=false`],
      [`--${name}=true`],
      [`--${name}`, 'false'],
      [`--${name}=yes`],
      [`--no-${name}=true`],
    ]);
  }
  const choices = (option.choices as readonly string[] | undefined) ?? [];
  const value =
    option.type === 'number' ? pick(next, numbers) : pick(next, [...choices, ...choices, ...choices, ...texts]);
  return next() < 0.5 ? [`${dashes}${name}`, value] : [`${dashes}${name}=${value}`];
}

const noise = [['--bogus'], ['extra'], ['--'], ['--help'], ['-h'], ['--version'], ['-V'], ['--nodeName', 'x'], ['-v']];

function commandLine(next: () => number): string[] {
  const argv = ['agent'];
  const count = Math.floor(next() * 7);
  for (let i = 0; i < count; i += 1) argv.push(...flagWords(next, pick(next, flagNames)));
  // a repeated flag: a list adds up, a plain flag is yargs' to read
  if (next() < 0.15 && argv.length > 1) argv.push(...argv.slice(1, 3));
  if (next() < 0.1) argv.splice(1 + Math.floor(next() * argv.length), 0, ...pick(next, noise));
  return argv;
}

test('the reader understands every record of the agent, and reads them into the table yargs builds', (t) => {
  t.true(readableRecords(agentFlags));
  const built = (agentCommand.builder as (y: ReturnType<typeof yargs>) => ReturnType<typeof yargs>)(yargs([]));
  t.deepEqual(optionTableOfRecords(agentFlags), optionTableOf(built));
  // a record the reader does not understand (here an alias) leaves every command line to yargs
  t.false(readableRecords({ ...agentFlags, 'max-pods': { ...agentFlags['max-pods'], alias: 'm' } }));
  t.is(
    parseAgentCommandLine(['agent', '--max-pods', '3'], {
      ...agentFlags,
      'max-pods': { ...agentFlags['max-pods'], alias: 'm' },
    }),
    undefined,
  );
});

test('for command lines drawn from the flag records, the reader declines or gives what yargs gives', async (t) => {
  const next = random(22);
  let read = 0;
  let declined = 0;
  for (let i = 0; i < 400; i += 1) {
    const argv = commandLine(next);
    const plain = parseAgentCommandLine(argv);
    if (plain === undefined) {
      declined += 1;
      continue;
    }
    read += 1;
    const expected = await viaYargs(argv);
    t.deepEqual(plain as unknown, expected, `case ${i}: bosun ${argv.join(' ')}`);
  }
  // both sides of the reader were exercised, not only its refusals
  t.true(read > 150, `read ${read}`);
  t.true(declined > 50, `declined ${declined}`);
});

test('the command lines join, systemd and the test bed run are read without yargs, as yargs reads them', async (t) => {
  const lines = [
    [
      'agent',
      '--kubeconfig',
      '/etc/bosun/agent.kubeconfig',
      '--node-name',
      'n1',
      '--container-runtime-endpoint',
      'unix:///run/containerd/containerd.sock',
    ],
    [
      'agent',
      '--node-ip',
      '10.0.0.2',
      '--cluster-cidr',
      '10.244.0.0/16',
      '--cgroup-root',
      '/bosun',
      '--cni-conf-dir',
      '/tmp/cni',
    ],
    [
      'agent',
      '--no-cluster-dns-serve',
      '--pod-manifest-path=',
      '--server',
      'https://a:6443,https://b:6443',
      '--server=https://c:6443',
    ],
    ['agent', '--config', configFiles.flags, '--max-pods=7', '--proxy-config', configFiles.proxy, '-v', '4'],
    ['agent', '--config', configFiles.kubelet, '--log-level', 'debug', '--disable-network-policy'],
    ['agent', '--proxy-config', configFiles.proxy, '--config', configFiles.withMode],
  ];
  for (const argv of lines) {
    const plain = parseAgentCommandLine(argv);
    t.not(plain, undefined, argv.join(' '));
    t.deepEqual(plain as unknown, await viaYargs(argv), argv.join(' '));
  }
});

test('what yargs alone words is left to it: help, version, unknown flags and words, a shared file with server keys', (t) => {
  for (const argv of [
    ['agent', '--help'],
    ['agent', '--version'],
    ['agent', '--bogus'],
    ['agent', 'extra'],
    ['agent', '--max-pods', 'many'],
    ['agent', '--proxy-mode', 'userspace'],
    ['agent', '--node-name', 'a', '--node-name', 'b'],
    ['agent', '--config', configFiles.shared],
    ['agent', '--config', configFiles.missing],
    ['server', '--max-pods', '3'],
  ])
    t.is(parseAgentCommandLine(argv), undefined, argv.join(' '));
});

test('bosun agent with plain flags runs without loading yargs; a bad flag still gets yargs words', async (t) => {
  const plain = await loadedModules([
    bosun,
    'agent',
    '--kubeconfig',
    '/nonexistent/agent.kubeconfig',
    '--node-ip',
    'no-ip',
  ]);
  // a bad value of a known flag: the agent's own check refuses it, after the parse
  t.is(plain.result.code, 2, plain.result.stderr);
  t.is(plain.result.stderr, 'bosun: --node-ip no-ip is not an IPv4 address\n');
  t.true(plain.own.includes('cli/agent-run.ts'));
  t.false(plain.packages.includes('yargs'), plain.packages.join(' '));
  t.false(plain.own.includes('cli/command-line.ts'));
  const unknown = await loadedModules([bosun, 'agent', '--node-naem', 'x']);
  t.is(unknown.result.code, 2);
  t.is(unknown.result.stderr, 'bosun agent: unknown flag --node-naem (did you mean --node-name?)\n');
  t.true(unknown.packages.includes('yargs'));
});

test('hostile words: object keys as flags or config keys are left to yargs, a long command line is read in linear time', async (t) => {
  const hostileFile = file('hostile.yaml', ['__proto__: {max-pods: 1}', 'constructor: x']);
  for (const argv of [
    ['agent', '--__proto__', 'x'],
    ['agent', '--no-__proto__'],
    ['agent', '--constructor=x'],
    ['agent', '--hasOwnProperty', '1'],
    ['agent', '--toString'],
    ['agent', '--config', hostileFile],
  ]) {
    t.is(parseAgentCommandLine(argv), undefined, argv.join(' '));
    t.is(({} as Record<string, unknown>)['max-pods'], undefined);
  }
  // 100,000 repetitions of a list flag (about ARG_MAX's worth of words): one pass, not one copy per word
  const argv = ['agent', ...Array.from({ length: 100_000 }, (_, i) => `--node-labels=k${i}=v`)];
  const started = performance.now();
  const parsed = parseAgentCommandLine(argv);
  const elapsedMs = performance.now() - started;
  t.is(parsed?.['node-labels'].length, 100_000);
  t.true(elapsedMs < 2_000, `read in ${Math.round(elapsedMs)} ms`);
});
