/**
 * The fake host the proxy tests run against keeps state as the real tools do and fails on request,
 * so a proxy test can tell "the proxy asked for the right thing" from "the fake said yes to anything".
 */
import test from 'ava';
import { FakeHost, type ConntrackFlow } from './fake-host.ts';

const dnsFlow = (replySrc: string): ConntrackFlow => ({
  protocol: 'udp',
  origDst: '10.96.0.10',
  origDport: 53,
  replySrc,
});

test('conntrack -D deletes only the flows its filters match, and exits 1 when none did', async (t) => {
  const host = new FakeHost();
  host.flows.push(dnsFlow('10.244.1.6'), dnsFlow('10.244.1.7'), {
    protocol: 'tcp',
    origDst: '10.96.0.10',
    origDport: 53,
    replySrc: '10.244.1.6',
  });
  const first = await host.run([
    'conntrack',
    '-D',
    '-p',
    'udp',
    '--orig-dst',
    '10.96.0.10',
    '--orig-port-dst',
    '53',
    '--reply-src',
    '10.244.1.6',
  ]);
  t.is(first.code, 0);
  t.regex(first.stderr, /: 1 flow entries have been deleted/);
  t.deepEqual(
    host.flows.map((f) => `${f.protocol} ${f.replySrc}`),
    ['udp 10.244.1.7', 'tcp 10.244.1.6'],
  );
  const again = await host.run([
    'conntrack',
    '-D',
    '-p',
    'udp',
    '--orig-dst',
    '10.96.0.10',
    '--orig-port-dst',
    '53',
    '--reply-src',
    '10.244.1.6',
  ]);
  t.is(again.code, 1);
  t.regex(again.stderr, /: 0 flow entries have been deleted/);
});

test('a conntrack told to fail deletes nothing and says why', async (t) => {
  const host = new FakeHost();
  host.flows.push(dnsFlow('10.244.1.6'));
  host.failNext('conntrack', 'conntrack v1.4.7 (conntrack-tools): Operation failed: Operation not permitted');
  const failed = await host.run(['conntrack', '-D', '-p', 'udp', '--reply-src', '10.244.1.6']);
  t.is(failed.code, 1);
  t.regex(failed.stderr, /Operation not permitted/);
  t.is(host.flows.length, 1);
});

test('ipset restore refuses what ipset refuses without -exist, and keeps the lines before a failing one', async (t) => {
  const host = new FakeHost();
  t.is((await host.run(['ipset', 'restore'], { input: 'create S hash:ip family inet\nadd S 10.0.0.1\n' })).code, 0);
  const recreate = await host.run(['ipset', 'restore'], {
    input: 'add S 10.0.0.2\ncreate S hash:ip family inet\nadd S 10.0.0.3\n',
  });
  t.is(recreate.code, 1);
  t.regex(recreate.stderr, /Error in line 2: Set cannot be created: set with the same name already exists/);
  t.deepEqual([...host.ipsets.get('S')!].sort(), ['10.0.0.1', '10.0.0.2'], 'line 1 applied, line 3 never reached');
  t.regex((await host.run(['ipset', 'restore'], { input: 'add S 10.0.0.1\n' })).stderr, /it's already added/);
  t.regex((await host.run(['ipset', 'restore'], { input: 'add T 10.0.0.1\n' })).stderr, /does not exist/);
  t.is(
    (await host.run(['ipset', 'restore', '-exist'], { input: 'create S hash:ip family inet\nadd S 10.0.0.1\n' })).code,
    0,
    '-exist tolerates both',
  );
});

test('sh -c passes on the stderr and exit code of its last command; a failure queued for a command inside it applies', async (t) => {
  const host = new FakeHost();
  const missing = await host.run(['sh', '-c', 'echo start; iptables-nft -t nat -S NOPE']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /No chain\/target\/match by that name/);
  host.failNext('iptables-nft-save', 'iptables-nft-save: Permission denied');
  const listed = await host.run(['sh', '-c', 'iptables-nft-save -t nat; echo @@end@@']);
  t.is(listed.code, 0, 'the last command (echo) decides the code, as in sh');
  t.is(listed.stdout, '@@end@@\n');
  t.regex(listed.stderr, /Permission denied/);
});

test('a tool that is not installed: spawning it is refused; inside sh -c it answers 127 and the next part still runs', async (t) => {
  const host = new FakeHost();
  host.absent.add('conntrack');
  host.flows.push(dnsFlow('10.244.1.6'));
  const error = await t.throwsAsync(host.run(['conntrack', '-D', '-p', 'udp']));
  t.is((error as NodeJS.ErrnoException).code, 'ENOENT');
  t.is(host.flows.length, 1, 'nothing deleted');
  const shell = await host.run(['sh', '-c', 'conntrack -D -p udp; echo @@end@@']);
  t.is(shell.code, 0);
  t.is(shell.stdout, '@@end@@\n');
  t.is(shell.stderr, 'sh: 1: conntrack: not found\n');
});

test('conntrack refuses a filter the fake does not model instead of reading it as any', async (t) => {
  const host = new FakeHost();
  host.flows.push(dnsFlow('10.244.1.6'));
  const unknown = await host.run(['conntrack', '-D', '-p', 'udp', '--reply-dst', '10.244.1.6']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown or incomplete option --reply-dst/);
  const incomplete = await host.run(['conntrack', '-D', '-p', 'udp', '--orig-dst']);
  t.is(incomplete.code, 2);
  t.is(host.flows.length, 1, 'nothing deleted');
});

test('ipset told to fail changes no set; sh told to fail runs none of its commands', async (t) => {
  const host = new FakeHost();
  t.is((await host.run(['ipset', 'restore'], { input: 'create S hash:ip family inet\nadd S 10.0.0.1\n' })).code, 0);
  host.failNext('ipset', 'ipset v7.17: Kernel error received: Operation not permitted\n', 1);
  const failed = await host.run(['ipset', 'restore', '-exist'], { input: 'flush S\nadd S 10.0.0.9\n' });
  t.is(failed.code, 1);
  t.regex(failed.stderr, /Operation not permitted/);
  t.deepEqual([...host.ipsets.get('S')!], ['10.0.0.1'], 'the set is as it was');

  host.flows.push(dnsFlow('10.244.1.6'));
  host.failNext('sh', 'sh: fork: Resource temporarily unavailable\n', 2);
  const calls = host.calls.length;
  const shell = await host.run(['sh', '-c', 'conntrack -D -p udp; echo @@end@@']);
  t.is(shell.code, 2, 'the queued exit code');
  t.is(shell.stdout, '');
  t.is(host.calls.length, calls + 1, 'only the sh call itself');
  t.is(host.flows.length, 1, 'nothing deleted');
});
