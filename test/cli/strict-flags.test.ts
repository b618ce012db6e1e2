/**
 * Strict command lines: every bosun command refuses an unknown flag or word with one line and exit
 * code 2 (and does nothing), names upstream flags bosun has no equivalent for, and reads list
 * flags in upstream's forms (comma-separated and repeated). Runs the real bin/bosun.
 */
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from '../../kube/corev1.ts';
import { ignoredPreflightChecks, judge, type HostFacts } from '../../host/join/preflight.ts';
import { editDistance, nearestFlag } from '../../cli/unknown-arguments.ts';
import { listItems } from '../../cli/list-flag.ts';
import { run } from '../helpers/run.ts';
import { adminIdentity, call, startServerProcess } from '../controlplane/server-process.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
const scratch = mkdtempSync(join(tmpdir(), `bosun-strict-${process.pid}-`));
// the unprivileged user's compile cache and home
const nobodyHome = mkdtempSync(join(tmpdir(), `bosun-strict-home-${process.pid}-`));
chownSync(nobodyHome, 65534, 65534);
test.after.always(() => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(nobodyHome, { recursive: true, force: true });
});

/**
 * Runs bin/bosun as an unprivileged user: should a command ever ignore the unknown flag again and
 * run (init, sandbox up, node-setup containerd-start, ...), it cannot change this machine.
 */
const bosunUnprivileged = (args: readonly string[]) =>
  run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', bosun, ...args], {
    timeoutMs: 30_000,
    env: { HOME: nobodyHome, NODE_COMPILE_CACHE: nobodyHome },
  });

const commands = [
  'server',
  'agent',
  'join',
  'init',
  'up',
  'reset',
  'hollow',
  'token',
  'token create',
  'token list',
  'token delete',
  'certs',
  'certs check-expiration',
  'certs renew',
  'kubeconfig',
  'cri',
  'cri version',
  'cri info',
  'cri ps',
  'cri pods',
  'cri images',
  'cri inspect',
  'cri inspectp',
  'cri inspecti',
  'cri logs',
  'cri exec',
  'cri attach',
  'cri port-forward',
  'cri stats',
  'cri statsp',
  'cri pull',
  'cri rmi',
  'cri runp',
  'cri create',
  'cri start',
  'cri stop',
  'cri stopp',
  'cri rm',
  'cri rmp',
  'sandbox',
  'sandbox up',
  'sandbox down',
  'sandbox status',
  'sandbox kubeconfig',
  'sandbox exec',
  'sandbox kill',
  'sandbox start',
  'sandbox partition',
  'sandbox heal',
  'node-setup',
  'node-setup containerd-config',
  'node-setup images',
  'node-setup cgroup-driver',
  'node-setup pod-cidr',
  'node-setup wait-ready',
  'node-setup containerd-start',
  'node-setup containerd-stop',
];

test('every command refuses --bogus-flag with one line naming the command and the nearest flag, exit 2', async (t) => {
  const results = [];
  // a few at a time: each is a Node process on a shared machine
  for (let i = 0; i < commands.length; i += 6) {
    results.push(
      ...(await Promise.all(
        commands.slice(i, i + 6).map(async (command) => ({
          command,
          result: await bosunUnprivileged([...command.split(' '), '--bogus-flag']),
        })),
      )),
    );
  }
  for (const { command, result } of results) {
    t.is(result.code, 2, `bosun ${command}: ${result.stderr}`);
    t.is(result.stdout, '', `bosun ${command}`);
    t.regex(
      result.stderr,
      new RegExp(`^bosun ${command}: unknown flag --bogus-flag( \\(did you mean --[a-z][a-z0-9-]*\\?\\))?\\n$`),
      `bosun ${command}`,
    );
  }
});

test('a typo is refused with the flag it was meant to be', async (t) => {
  const result = await bosunUnprivileged([
    'server',
    '--data-dir',
    join(scratch, 'typo'),
    '--secure-port',
    '0',
    '--node-monitor-grace-perod=10s',
  ]);
  t.is(result.code, 2);
  t.is(
    result.stderr,
    'bosun server: unknown flag --node-monitor-grace-perod (did you mean --node-monitor-grace-period?)\n',
  );
});

test('an unknown word, and upstream flags bosun has no equivalent for, are refused too', async (t) => {
  const cases: [string[], string][] = [
    [['server', 'extra'], "bosun server: unknown argument 'extra'"],
    [['token', 'list', 'extra', 'words'], "bosun token list: unknown argument 'extra'"],
    [
      ['agent', '--feature-gates=NodeSwap=true'],
      'bosun agent: flag --feature-gates of upstream components is not supported by bosun',
    ],
    [
      ['server', '--etcd-servers', 'https://127.0.0.1:2379'],
      'bosun server: flag --etcd-servers of kube-apiserver is not supported by bosun',
    ],
    [['agent', '--masquerade-all'], 'bosun agent: flag --masquerade-all of kube-proxy is not supported by bosun'],
    [
      ['join', '--control-plane-endpoint=x:6443'],
      'bosun join: flag --control-plane-endpoint of kubeadm is not supported by bosun',
    ],
  ];
  for (const [argv, line] of cases) {
    const result = await bosunUnprivileged(argv);
    t.is(result.code, 2, argv.join(' '));
    t.is(result.stderr, `${line}\n`, argv.join(' '));
  }
});

test('suggestions come from edit distance', (t) => {
  t.is(editDistance('perod', 'period'), 1);
  t.is(nearestFlag('node-lables', ['node-name', 'node-labels', 'node-ip']), 'node-labels');
  t.is(nearestFlag('x', []), undefined);
});

test('list flags: comma-separated, repeated, and both, blanks dropped', (t) => {
  t.deepEqual(listItems('runtime,ports'), ['runtime', 'ports']);
  t.deepEqual(listItems(['a.example,b.example', 'c.example']), ['a.example', 'b.example', 'c.example']);
  t.deepEqual(listItems(' a , ,b '), ['a', 'b']);
  t.deepEqual(listItems(undefined), []);
});

test('--ignore-preflight-errors: a comma-separated list ignores each check; all ignores every one, alone', (t) => {
  const broken: HostFacts = {
    uid: 1000,
    runtimeProblem: 'down',
    runtimeEndpoint: 'unix:///x',
    iptablesRules: { legacy: 0, nft: 0 },
    swapDevices: 1,
    busyPorts: [10250],
    clockOffsetMs: 600_000,
    kubeconfigExists: false,
    kubeconfigPath: '/x',
  };
  t.deepEqual(
    judge(broken, ignoredPreflightChecks(listItems('runtime,ports'))).map((f) => f.check),
    ['root', 'swap', 'clock'],
  );
  t.deepEqual(
    judge(broken, ignoredPreflightChecks(listItems(['Root', 'swap,clock']))).map((f) => f.check),
    ['runtime', 'ports'],
  );
  t.deepEqual(judge(broken, ignoredPreflightChecks(['all'])), []);
  t.throws(() => ignoredPreflightChecks(['all', 'swap']), {
    message: `--ignore-preflight-errors: Invalid value: "all,swap": don't specify individual checks if 'all' is used`,
  });
});

test('bosun server: --tls-san repeated and comma-separated, and the DefaultTolerationSeconds flags, reach the running server', async (t) => {
  const server = await startServerProcess({
    datastore: 'sqlite',
    serverArgs: [
      '--tls-san',
      'a.example,b.example',
      '--tls-san=c.example',
      '--default-not-ready-toleration-seconds',
      '30',
      '--default-unreachable-toleration-seconds=45',
    ],
  });
  try {
    const serving = new X509Certificate(readFileSync(join(server.dataDir, 'pki/apiserver.crt')));
    for (const name of ['a.example', 'b.example', 'c.example'])
      t.true(serving.subjectAltName?.includes(`DNS:${name}`), `${name} in ${serving.subjectAltName}`);
    const created = await call(server, 'POST', '/api/v1/namespaces/default/pods', adminIdentity(server.dataDir), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    t.is(created.status, 201, JSON.stringify(created.body));
    t.deepEqual((created.body as Pod).spec.tolerations, [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 45 },
    ]);
  } finally {
    await server.destroy();
  }
});

test('bosun server: a toleration time that is not a whole number of seconds is refused', async (t) => {
  const result = await bosunUnprivileged([
    'server',
    '--data-dir',
    join(scratch, 'tol'),
    '--secure-port',
    '0',
    '--default-unreachable-toleration-seconds=-1',
  ]);
  t.is(result.code, 2);
  t.is(result.stderr, 'bosun: --default-unreachable-toleration-seconds -1: use a whole number of seconds\n');
});

test.serial('bosun agent: --disable names only components it has; ingress ports must be ports', async (t) => {
  const unknown = await bosunUnprivileged(['agent', '--disable', 'ingress,traefik', '--kubeconfig', '/nonexistent']);
  t.is(unknown.code, 2, unknown.stderr);
  t.regex(unknown.stderr, /--disable traefik: not a component of the agent \(known: ingress\)/);
  const port = await bosunUnprivileged(['agent', '--ingress-https-port', '70000', '--kubeconfig', '/nonexistent']);
  t.is(port.code, 2, port.stderr);
  t.regex(port.stderr, /--ingress-https-port 70000 is not a port/);
});
