/** The bench's timing runner: each command's time by name, taken per operation. */
import test from 'ava';
import { commandName, TimedRunner } from '../../bench/command-timings.ts';
import type { CommandResult, CommandRunner } from '../../netproxy/command-runner.ts';

test('a command is named by its program, and its subcommand when the next word is one', (t) => {
  t.is(commandName(['iptables-restore', '-w', '--noflush']), 'iptables-restore');
  t.is(commandName(['ipset', 'restore']), 'ipset restore');
  t.is(commandName(['/usr/sbin/ipset', 'list', '-n']), 'ipset list');
  t.is(commandName(['sh', '-c', 'iptables -S FORWARD']), 'sh');
});

test('an iptables-restore that only lists chains is named apart from one that writes', (t) => {
  const restore = ['iptables-restore', '-w', '--noflush'];
  t.is(commandName(restore, '*filter\n-S FORWARD\n-S BOSUNPOL-DROP-INGRESS -v\nCOMMIT\n'), 'iptables-restore (read)');
  t.is(commandName(restore, '*filter\n-S FORWARD\n-A FORWARD -j ACCEPT\nCOMMIT\n'), 'iptables-restore');
  t.is(commandName(restore, '*filter\n:BOSUNPOL-X - [0:0]\nCOMMIT\n'), 'iptables-restore');
  t.is(commandName(['ipset', 'restore'], 'list x\n'), 'ipset restore');
});

test('each run counts toward its command, failed runs too, and take() starts afresh', async (t) => {
  const calls: string[][] = [];
  const inner: CommandRunner = {
    async run(argv): Promise<CommandResult> {
      calls.push([...argv]);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (argv[0] === 'false') throw new Error('cannot start');
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  const runner = new TimedRunner(inner);
  await runner.run(['ipset', 'restore'], { input: 'x' });
  await runner.run(['ipset', 'restore']);
  await t.throwsAsync(runner.run(['false']), { message: 'cannot start' });
  const first = runner.take();
  t.deepEqual([...first.keys()].sort(), ['false', 'ipset restore']);
  t.true(first.get('ipset restore')! >= 2 * 4, 'both ipset runs add up');
  t.is(calls.length, 3, 'every command reached the runner it wraps');
  t.is(runner.take().size, 0, 'nothing since the last take');
});
