/**
 * `--config` files of bosun server and bosun agent: flags as keys (k3s' config.yaml form, one file
 * shared by both daemons), upstream's KubeletConfiguration and KubeProxyConfiguration, and the one
 * line each bad file gets. The commands' real builders parse real files; a real server reads one.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs, { type CommandModule } from 'yargs';
import { agentCommand } from '../../cli/agent-command.ts';
import { serverCommand } from '../../cli/server.ts';
import { refusedConfig } from '../../cli/config/daemon-config.ts';
import { adminIdentity, call, startServerProcess } from '../controlplane/server-process.ts';
import { waitFor } from '../controlplane/ports.ts';
import { run } from '../helpers/run.ts';

const scratch = mkdtempSync(join(tmpdir(), `bosun-config-${process.pid}-`));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;
function file(text: string): string {
  const path = join(scratch, `config-${files++}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** The arguments a command's handler would get for a command line, without running it. */
async function parsed(command: CommandModule<object, never>, argv: string[]): Promise<Record<string, unknown>> {
  let seen: Record<string, unknown> | undefined;
  await yargs([command.command as string, ...argv])
    .strict()
    .command({ ...command, handler: (args: Record<string, unknown>) => void (seen = args) } as CommandModule)
    .fail((msg, err) => {
      throw err === undefined || err === null ? new Error(msg) : (refusedConfig(err.message) ?? err);
    })
    .parseAsync();
  if (seen === undefined) throw new Error('the handler did not run');
  return seen;
}
const agent = (argv: string[]) => parsed(agentCommand as unknown as CommandModule<object, never>, argv);
const server = (argv: string[]) => parsed(serverCommand as unknown as CommandModule<object, never>, argv);

test('flags as keys: the file sets flags, the command line wins, lists and booleans keep their kinds', async (t) => {
  const shared = file(
    [
      'max-pods: 50',
      'node-labels: [zone=a, disk=ssd]',
      'cgroups-per-qos: false',
      'proxy-mode: ipvs',
      '# a key of bosun server, skipped by the agent',
      'datastore: etcd',
    ].join('\n'),
  );
  const fromFile = await agent(['--config', shared]);
  t.is(fromFile['max-pods'], 50);
  t.deepEqual(fromFile['node-labels'], ['zone=a', 'disk=ssd']);
  t.is(fromFile['cgroups-per-qos'], false);
  t.is(fromFile['proxy-mode'], 'ipvs');
  const overridden = await agent(['--config', shared, '--max-pods', '7', '--node-labels', 'x=y']);
  t.is(overridden['max-pods'], 7);
  t.deepEqual(overridden['node-labels'], ['x=y']);
  const serverArgs = await server(['--config', shared]);
  t.is(serverArgs.datastore, 'etcd', 'the server reads its keys from the same file and skips the agent ones');
});

test('a missing default file is fine; a named file that is missing, bad YAML, a typo or a wrong type is one line', async (t) => {
  const defaults = await agent([]);
  t.is(defaults.config, '/etc/bosun/config.yaml');
  const cases: Array<[string, RegExp]> = [
    [join(scratch, 'absent.yaml'), /absent\.yaml: no such file$/],
    [file('max-pods: [1\n'), /: not valid YAML: /],
    [file('max-podz: 50\n'), /: unknown key "max-podz": it is not a flag of bosun agent or of another bosun daemon$/],
    [file('max-pods: lots\n'), /: max-pods: expected a number, got "lots"$/],
    [file('node-labels: {a: b}\n'), /: node-labels: expected a list of strings/],
    [file('- a\n- b\n'), /: expected a mapping of flag names to values/],
    [
      file('kind: Pod\napiVersion: v1\n'),
      /: kind "Pod" is not read by bosun agent \(it reads KubeletConfiguration, or flags as keys\)$/,
    ],
  ];
  for (const [path, message] of cases) {
    const error = await t.throwsAsync(agent(['--config', path]));
    t.regex(error?.message ?? '', message, path);
  }
  const big = file(`# ${'x'.repeat(1024 * 1024 + 10)}\n`);
  t.regex((await t.throwsAsync(agent(['--config', big])))?.message ?? '', /larger than 1 MiB/);
});

test('KubeletConfiguration: supported fields become flags in their forms; others are named in one error', async (t) => {
  const kubelet = file(
    [
      'apiVersion: kubelet.config.k8s.io/v1beta1',
      'kind: KubeletConfiguration',
      'maxPods: 30',
      'clusterDNS: [10.96.0.10]',
      'clusterDomain: cluster.local',
      'cgroupDriver: systemd',
      'evictionHard: {memory.available: 200Mi, nodefs.available: "10%"}',
      'systemReserved: {cpu: 100m, memory: 256Mi}',
      'registerWithTaints: [{key: dedicated, value: db, effect: NoSchedule}, {key: edge, effect: NoExecute}]',
      'shutdownGracePeriod: 30s',
      'authentication: {anonymous: {enabled: false}}',
      'authorization: {mode: Webhook}',
    ].join('\n'),
  );
  const args = await agent(['--config', kubelet, '--max-pods', '12']);
  t.is(args['max-pods'], 12, 'the command line still wins');
  t.deepEqual(args['cluster-dns'], ['10.96.0.10']);
  t.is(args['cgroup-driver'], 'systemd');
  t.deepEqual(args['eviction-hard'], ['memory.available<200Mi', 'nodefs.available<10%']);
  t.deepEqual(args['system-reserved'], ['cpu=100m', 'memory=256Mi']);
  t.deepEqual(args['register-with-taints'], ['dedicated=db:NoSchedule', 'edge:NoExecute']);
  t.is(args['shutdown-grace-period'], '30s');

  const unsupported = file(
    'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nserializeImagePulls: false\nfailSwapOn: false\nmaxPods: 10\n',
  );
  t.regex(
    (await t.throwsAsync(agent(['--config', unsupported])))?.message ?? '',
    /KubeletConfiguration fields not supported by bosun agent: serializeImagePulls, failSwapOn \(supported: address, /,
  );
  const anonymous = file(
    'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication: {anonymous: {enabled: true}}\n',
  );
  t.regex(
    (await t.throwsAsync(agent(['--config', anonymous])))?.message ?? '',
    /authentication\.anonymous\.enabled: only false is supported \(the kubelet port admits no anonymous requests\)$/,
  );
  const oldVersion = file('apiVersion: kubelet.config.k8s.io/v1alpha1\nkind: KubeletConfiguration\n');
  t.regex(
    (await t.throwsAsync(agent(['--config', oldVersion])))?.message ?? '',
    /apiVersion "kubelet.config.k8s.io\/v1alpha1" is not supported; use kubelet.config.k8s.io\/v1beta1/,
  );
});

test('KubeProxyConfiguration through --proxy-config sets the proxy flags; flags as keys are refused there', async (t) => {
  const proxy = file(
    [
      'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
      'kind: KubeProxyConfiguration',
      'mode: ""',
      'clusterCIDR: 10.244.0.0/16',
      'healthzBindAddress: 127.0.0.1:10256',
    ].join('\n'),
  );
  const args = await agent(['--proxy-config', proxy]);
  t.is(args['proxy-mode'], 'iptables', "kube-proxy's empty mode is iptables on Linux");
  t.is(args['cluster-cidr'], '10.244.0.0/16');
  t.is(args['proxy-healthz-bind-address'], '127.0.0.1:10256');
  const ipvs = file(
    'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\nipvs: {scheduler: lc}\n',
  );
  t.regex(
    (await t.throwsAsync(agent(['--proxy-config', ipvs])))?.message ?? '',
    /KubeProxyConfiguration field not supported by bosun agent: ipvs\.scheduler/,
  );
  const flat = file('max-pods: 3\n');
  t.regex(
    (await t.throwsAsync(agent(['--proxy-config', flat])))?.message ?? '',
    /expected a KubeProxyConfiguration \(apiVersion and kind\)$/,
  );
});

test('the real bosun prints a bad file as one line and exits 2; a real server takes its flags from a file', async (t) => {
  const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
  const typo = file('secure-prot: 6443\n');
  const refused = await run([bosun, 'server', '--config', typo]);
  t.is(refused.code, 2);
  t.is(
    refused.stderr,
    `bosun: ${typo}: unknown key "secure-prot": it is not a flag of bosun server or of another bosun daemon\n`,
  );

  const config = file('v: 4\nmax-pods: 50\n');
  const started = await startServerProcess({ datastore: 'sqlite', serverArgs: ['--config', config] });
  t.teardown(() => started.destroy());
  t.is((await call(started, 'GET', '/api/v1/namespaces/default', adminIdentity(started.dataDir))).status, 200);
  await waitFor(
    'the server configured with v: 4 in its file to log the request at debug',
    () => /"level":20[^\n]*"url":"\/api\/v1\/namespaces\/default"/.test(started.output()),
    10_000,
  );
  t.pass();
});
