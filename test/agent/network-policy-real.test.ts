/**
 * The network policy applier on real iptables and ipset, with real packets, inside namespaces this
 * test creates: a "node" namespace forwarding between two "pod" namespaces (client 10.244.1.2,
 * server 10.244.2.2 serving HTTP on 80 and a line sink on 81). It proves what the compiler's truth
 * table cannot: the kernel drops what the rules say, replies of a flow that started before a policy
 * keep flowing (also across a new applier, as after an agent restart), our hook comes back to the
 * top of FORWARD, stale chains and sets go, and drops are counted.
 */
import test from 'ava';
import { NetworkPolicyApplier } from '../../agent/network-policy/applier.ts';
import { compile, type PodView } from '../../agent/network-policy/compile.ts';
import { chainPrefix, fixedChains, hookArgs, setPrefix } from '../../agent/network-policy/ruleset.ts';
import type { NetworkPolicy } from '../../kube/networkingv1.ts';
import { Lab, labUnavailable } from '../netproxy/real/lab.ts';

const unavailable = labUnavailable();
const lab = new Lab();
test.after.always(() => lab.destroy());

const podAt = (name: string, ip: string, local: boolean, ports: PodView['ports'] = []): PodView => ({
  namespace: 'x',
  name,
  labels: { app: name },
  ip,
  local,
  ports,
});
const client = podAt('client', '10.244.1.2', false);
const server = podAt('server', '10.244.2.2', true, [{ name: 'http', port: 80, protocol: 'TCP' }]);
const other = podAt('other', '10.244.1.3', false);
const pods = [client, server, other];
const namespaces = [{ name: 'x', labels: {} }];
const denyServerIngress: NetworkPolicy = {
  metadata: { namespace: 'x', name: 'deny' },
  spec: { podSelector: { matchLabels: { app: 'server' } }, policyTypes: ['Ingress'] },
};
const allowClientAndOther: NetworkPolicy = {
  metadata: { namespace: 'x', name: 'allow-client' },
  spec: {
    podSelector: { matchLabels: { app: 'server' } },
    ingress: [
      {
        from: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['client', 'other'] }] } }],
        ports: [{ port: 'http' }],
      },
    ],
  },
};

async function topology(suffix = ''): Promise<{ node: string; a: string; b: string }> {
  const node = await lab.namespace(`nd${suffix}`);
  const a = await lab.namespace(`pa${suffix}`);
  const b = await lab.namespace(`pb${suffix}`);
  await lab.link(node, 'va', a, 'eth0');
  await lab.link(node, 'vb', b, 'eth0');
  for (const [ns, cmd] of [
    [node, ['ip', 'addr', 'add', '10.244.1.1/24', 'dev', 'va']],
    [node, ['ip', 'addr', 'add', '10.244.2.1/24', 'dev', 'vb']],
    [node, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']],
    [a, ['ip', 'addr', 'add', '10.244.1.2/24', 'dev', 'eth0']],
    [a, ['ip', 'route', 'add', 'default', 'via', '10.244.1.1']],
    [b, ['ip', 'addr', 'add', '10.244.2.2/24', 'dev', 'eth0']],
    [b, ['ip', 'route', 'add', 'default', 'via', '10.244.2.1']],
  ] as const) {
    const r = await lab.inNs(ns, cmd);
    if (r.code !== 0) throw new Error(`${cmd.join(' ')}: ${r.stderr}`);
  }
  await lab.inNs(b, ['sh', '-c', 'mkdir -p /tmp/www-np && echo hi > /tmp/www-np/index.html']);
  lab.spawn(b, ['busybox', 'httpd', '-f', '-p', '10.244.2.2:80', '-h', '/tmp/www-np']);
  return { node, a, b };
}

/** Whether a datagram from the client to the server's UDP echo on 53 comes back within a second. */
async function echoes(ns: string): Promise<boolean> {
  const script =
    "const s = require('node:dgram').createSocket('udp4'); s.on('message', () => process.exit(0)); s.send('ping', 53, '10.244.2.2'); setTimeout(() => process.exit(1), 1000);";
  return (await lab.inNs(ns, [process.execPath, '-e', script])).code === 0;
}

/** Polls a condition for up to 10 s (the host may be busy): true once it holds. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** Whether an HTTP request from the client reaches the server. */
async function reaches(ns: string): Promise<boolean> {
  const r = await lab.inNs(ns, ['timeout', '2', 'busybox', 'wget', '-q', '-O', '-', 'http://10.244.2.2/']);
  return r.code === 0 && r.stdout.includes('hi');
}

if (unavailable !== undefined) {
  process.stdout.write(`  - SKIP real network policy rules: ${unavailable}\n`);
  test.skip(`network policy rules on real iptables — skipped: ${unavailable}`, () => {});
} else {
  test.serial(
    'rules on a forwarding namespace drop, allow, keep replies and go away as the policies say',
    async (t) => {
      t.timeout(120_000);
      const { node, a, b } = await topology();
      t.true(await eventually(() => reaches(a)), 'no policy: the client reaches the server (once httpd listens)');

      const applier = new NetworkPolicyApplier(lab.runner(node));
      await applier.apply(compile({ policies: [allowClientAndOther], pods, namespaces }));
      t.true(await reaches(a), 'allowed through the set of both peers, on the named port');
      const sets = (await lab.inNs(node, ['ipset', 'list', '-n'])).stdout
        .split('\n')
        .filter((s) => s.startsWith(setPrefix));
      t.is(sets.length, 1, 'one set for the two peers');

      // a long flow from the client, started while it is allowed: a line every 100 ms into a sink on 81
      const sinkScript =
        "require('node:net').createServer((s) => s.on('data', (d) => process.stdout.write(d))).listen(81, '10.244.2.2')";
      const sink = lab.spawn(b, [process.execPath, '-e', sinkScript]);
      let received = 0;
      sink.stdout?.on('data', (chunk: Buffer) => (received += chunk.toString().split('\n').length - 1));
      await new Promise((resolve) => setTimeout(resolve, 500));
      await applier.apply(compile({ policies: [], pods, namespaces }));
      const senderScript =
        "const s = require('node:net').connect(81, '10.244.2.2'); let n = 0; const t = setInterval(() => { s.write('tick\\n'); if (++n === 200) { clearInterval(t); s.end(); } }, 100); s.on('error', () => process.exit(1));";
      lab.spawn(a, [process.execPath, '-e', senderScript]);
      t.true(await eventually(async () => received > 0), 'the flow runs');

      // a new applier, as after an agent restart, reads what is there and denies everything new
      const restarted = new NetworkPolicyApplier(lab.runner(node));
      await restarted.apply(compile({ policies: [denyServerIngress], pods, namespaces }));
      t.false(await reaches(a), 'a new connection is dropped');
      const before = received;
      t.true(
        await eventually(async () => received > before + 3),
        `the flow that was already established goes on (${before} -> ${received} lines)`,
      );
      t.is(
        (await lab.inNs(node, ['ipset', 'list', '-n'])).stdout.split('\n').filter((s) => s.startsWith(setPrefix))
          .length,
        0,
        'the set no rule uses any more is destroyed',
      );
      const counted = await restarted.readCounters();
      t.true(counted.ingress.packets > 0, 'drops are counted');

      // someone puts a rule above our hook: the next apply puts the hook first again
      await lab.inNs(node, ['iptables', '-w', '-I', 'FORWARD', '1', '-j', 'ACCEPT']);
      await restarted.apply(compile({ policies: [denyServerIngress], pods, namespaces }));
      const forward = (await lab.inNs(node, ['iptables', '-w', '-S', 'FORWARD'])).stdout
        .split('\n')
        .filter((l) => l.startsWith('-A'));
      t.regex(forward[0] ?? '', new RegExp(`-j ${fixedChains.top}$`));
      t.is(forward.filter((l) => l.endsWith(`-j ${fixedChains.top}`)).length, 1, 'one hook');
      t.false(await reaches(a), 'still dropped with a blanket ACCEPT below our hook');

      // no policy left: only the fixed chains remain, and traffic flows
      await restarted.apply(compile({ policies: [], pods, namespaces }));
      const chains = (await lab.inNs(node, ['iptables-save', '-t', 'filter'])).stdout
        .split('\n')
        .filter((l) => l.startsWith(':BOSUNPOL-'))
        .map((l) => l.slice(1).split(' ')[0]);
      t.deepEqual(chains.sort(), [fixedChains.dropEgress, fixedChains.dropIngress, fixedChains.top].sort());
      t.true(await reaches(a));
    },
  );

  test.serial(
    'one apply puts back rules changed by hand, after reading them with one process that writes nothing',
    async (t) => {
      t.timeout(120_000);
      const { node, a } = await topology('d');
      t.true(await eventually(() => reaches(a)), 'no policy: the client reaches the server (once httpd listens)');
      const reads: string[] = [];
      const inner = lab.runner(node);
      const applier = new NetworkPolicyApplier({
        run: (argv, options) => {
          const writes = argv[0] === 'iptables-restore' && !/^-S /m.test(options?.input ?? '');
          if (!writes && argv[0] !== 'ipset') reads.push(argv[0]!);
          return inner.run(argv, options);
        },
      });
      const ruleset = compile({ policies: [denyServerIngress], pods, namespaces });
      await applier.apply(ruleset);
      const ours = async () => {
        const saved = (await lab.inNs(node, ['iptables-save', '-t', 'filter'])).stdout.split('\n');
        return {
          firstInForward: saved.find((l) => l.startsWith('-A FORWARD ')),
          rules: saved.filter((l) => l.startsWith(`:${chainPrefix}`) || l.startsWith(`-A ${chainPrefix}`)),
        };
      };
      const intact = await ours();
      t.is(intact.firstInForward, `-A FORWARD ${hookArgs}`);
      t.false(await reaches(a), 'the policy drops the client');
      reads.length = 0;
      const again = await applier.apply(ruleset);
      t.deepEqual(
        reads,
        ['iptables-restore'],
        'an apply over intact rules reads them with one iptables-restore that only lists',
      );
      t.notRegex(again, /^-[ADI] FORWARD /m, 'and recognises the hook iptables lists as ours: it stays untouched');

      const podChain = [...ruleset.chains.keys()].find((name) => name.includes('-PODI-'))!;
      const drifts: [string, string[][]][] = [
        [
          'a rule accepting everything put first in a drop chain',
          [['-I', fixedChains.dropIngress, '1', '-j', 'ACCEPT']],
        ],
        [
          'a pod chain deleted',
          [
            ['-F', fixedChains.top],
            ['-F', podChain],
            ['-X', podChain],
          ],
        ],
        [
          'our hook replaced by a jump for other sources only',
          [
            ['-D', 'FORWARD', '1'],
            ['-I', 'FORWARD', '1', '-s', '10.244.3.0/24', '-j', fixedChains.top],
          ],
        ],
        ['the whole filter table flushed', [['-F'], ['-X']]],
      ];
      for (const [what, commands] of drifts) {
        for (const args of commands) {
          const r = await lab.inNs(node, ['iptables', '-w', ...args]);
          if (r.code !== 0) throw new Error(`iptables ${args.join(' ')}: ${r.stderr}`);
        }
        t.true(await eventually(() => reaches(a)), `${what}: the client gets through`);
        reads.length = 0;
        await applier.apply(ruleset);
        const after = await ours();
        t.deepEqual(after.rules, intact.rules, `${what}: our chains are as before after one apply`);
        t.is(after.firstInForward, `-A FORWARD ${hookArgs}`, `${what}: our hook is first`);
        t.false(await reaches(a), `${what}: the client is dropped again`);
        t.true(reads.length <= 2, `${what}: read with ${reads.join(', ')}`);
      }
    },
  );

  test.serial('UDP is matched as UDP: a UDP port opens UDP only, a TCP port does not open UDP', async (t) => {
    t.timeout(60_000);
    const { node, a, b } = await topology('u');
    const echo =
      "const s = require('node:dgram').createSocket('udp4'); s.on('message', (m, r) => s.send(m, r.port, r.address)); s.bind(53, '10.244.2.2');";
    lab.spawn(b, [process.execPath, '-e', echo]);
    t.true(await eventually(() => echoes(a)), 'no policy: the echo answers (once it listens)');
    t.true(await eventually(() => reaches(a)), 'and httpd on TCP 80');
    const onPort = (protocol: 'TCP' | 'UDP'): NetworkPolicy => ({
      metadata: { namespace: 'x', name: `only-${protocol}` },
      spec: { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ ports: [{ port: 53, protocol }] }] },
    });
    const applier = new NetworkPolicyApplier(lab.runner(node));
    await applier.apply(compile({ policies: [onPort('UDP')], pods, namespaces }));
    t.true(await echoes(a), 'UDP 53 allowed; the reply comes back through conntrack');
    t.false(await reaches(a), 'TCP 80 is not');
    await applier.apply(compile({ policies: [onPort('TCP')], pods, namespaces }));
    t.false(await echoes(a), 'TCP 53 does not open UDP 53');
  });
}
