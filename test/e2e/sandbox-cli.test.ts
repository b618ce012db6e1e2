/**
 * `bosun sandbox` as a user runs it: up, kubectl against the printed kubeconfig, exec into a node
 * (its runtime and the API server through the relays), partition/heal, kill/start containerd,
 * status, and down leaving nothing behind.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../helpers/run.ts';
import { sandboxRoots } from '../../sandbox/names.ts';
import { alive } from '../../host/process/process.ts';
import { waitFor } from '../helpers/wait.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
const name = `cli${process.pid.toString(36)}`;
const scope = ['--name', name, '--root', sandboxRoots.tests];
// the scope flags go right after the subcommand, before any `--` that starts a node command
const sandbox = (command: string, ...args: string[]) =>
  run([bosun, 'sandbox', command, ...scope, ...args], { timeoutMs: 120_000 });

test.after.always(async () => {
  await sandbox('down');
});

test.serial('up joins every node through bosun join; kubectl sees them Ready', async (t) => {
  // routed: the two nodes on two segments behind the hub; the agents carry pods between them by VXLAN
  const up = await sandbox('up', '--nodes', '2', '--topology', 'routed');
  t.is(up.code, 0, up.stderr);
  const kubeconfig = up.stdout.trim();
  t.true(existsSync(kubeconfig));
  t.is((await sandbox('kubeconfig')).stdout.trim(), kubeconfig);
  const namespaces = await run(['kubectl', '--kubeconfig', kubeconfig, 'get', 'namespaces', '-o', 'name']);
  t.is(namespaces.code, 0, namespaces.stderr);
  t.true(namespaces.stdout.includes('namespace/kube-system'));
  const nodes = await waitFor(
    async () => {
      const list = await run(['kubectl', '--kubeconfig', kubeconfig, 'get', 'nodes', '-o', 'json']);
      const items = (
        JSON.parse(list.stdout || '{"items":[]}') as {
          items: { metadata: { name: string }; status: { conditions?: { type: string; status: string }[] } }[];
        }
      ).items;
      const ready = items
        .filter((n) => n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((n) => n.metadata.name)
        .sort();
      return ready.length === 2 ? ready : undefined;
    },
    { what: 'node-1 and node-2 Ready in kubectl get nodes', timeoutMs: 60_000 },
  );
  t.deepEqual(nodes, ['node-1', 'node-2']);
  const csrs = await run([
    'kubectl',
    '--kubeconfig',
    kubeconfig,
    'get',
    'csr',
    '-o',
    'jsonpath={range .items[*]}{.spec.username}{"\\n"}{end}',
  ]);
  t.is(
    csrs.stdout
      .trim()
      .split('\n')
      .filter((u) => /^system:bootstrap:[a-z0-9]{6}$/.test(u)).length,
    2,
    'each node joined with the bootstrap token',
  );
  const again = await sandbox('up');
  t.is(again.code, 1);
  t.regex(again.stderr, /already exists; remove it first/);
});

test.serial(
  '--topology routed puts the nodes on two segments; the agents route between them over bosun.1',
  async (t) => {
    const status = JSON.parse((await sandbox('status', '-o', 'json')).stdout) as {
      nodes: { name: string; ip: string; segment: number }[];
    };
    t.deepEqual(
      status.nodes.map((n) => `${n.name}:${n.segment}:${n.ip}`),
      ['node-1:0:172.30.0.11', 'node-2:1:172.30.1.12'],
    );
    t.regex((await sandbox('status')).stdout, /\(routed\)/);
    const routes = await waitFor(
      async () => {
        const out = (await sandbox('exec', 'node-1', '--', 'ip', 'route', 'show', 'proto', '98')).stdout;
        return out.includes('dev bosun.1') ? out : undefined;
      },
      { what: "node-1 routing node-2's pods over bosun.1", timeoutMs: 30_000 },
    );
    t.regex(routes, /via \S+ dev bosun\.1 onlink/);
  },
);
test.serial('exec runs inside a node: its own runtime, and the API server through the hub address', async (t) => {
  const images = await sandbox('exec', 'node-2', '--', bosun, 'cri', 'images', '-q');
  t.is(images.code, 0, images.stderr);
  t.is(images.stdout.trim().split('\n').length, 2, 'pause and busybox, imported into node-2');
  const route = await sandbox('exec', 'node-2', '--', 'ip', 'route', 'show', '10.96.0.0/12');
  t.regex(route.stdout, /via 198\.18\.2\.2 dev sink0/, 'the service CIDR goes into the sink');
  const env = await sandbox('exec', 'node-2', '--', 'sh', '-c', 'cat "$KUBECONFIG"');
  const server = /server: (https:\/\/172\.30\.0\.1:\d+)/.exec(env.stdout)?.[1];
  t.truthy(server, 'nodes see the API server at the hub address');
  const ca = join(sandboxRoots.tests, name, 'server', 'pki', 'ca.crt');
  const version = await sandbox(
    'exec',
    'node-2',
    '--',
    'curl',
    '-s',
    '--max-time',
    '5',
    '--cacert',
    ca,
    `${server}/version`,
  );
  t.is(version.code, 0, version.stderr);
  t.is(JSON.parse(version.stdout).major, '1');
  const status = await sandbox('exec', 'node-1', '--', 'sh', '-c', 'exit 7');
  t.is(status.code, 7, "the command's exit code is passed through");
});

test.serial('partition cuts a node off the API server; heal brings it back', async (t) => {
  const server = /server: (https:\/\/172\.30\.0\.1:\d+)/.exec(
    readFileSync(join(sandboxRoots.tests, name, 'server', 'admin.kubeconfig'), 'utf8'),
  )?.[1];
  const ca = join(sandboxRoots.tests, name, 'server', 'pki', 'ca.crt');
  const probe = () =>
    sandbox(
      'exec',
      'node-1',
      '--',
      'curl',
      '-s',
      '-o',
      '/dev/null',
      '--max-time',
      '2',
      '--cacert',
      ca,
      `${server}/version`,
    );
  t.is((await sandbox('partition', 'node-1')).code, 0);
  t.not((await probe()).code, 0, 'no answer while partitioned');
  t.regex((await sandbox('status')).stdout, /node-1 .* partitioned/);
  t.is((await sandbox('heal', 'node-1')).code, 0);
  await waitFor(async () => (await probe()).code === 0, {
    what: 'node-1 reaching the API server again after heal',
    timeoutMs: 10_000,
  });
  t.pass();
});

test.serial('kill and start containerd of one node', async (t) => {
  t.is((await sandbox('kill', 'node-2', '--component', 'containerd')).code, 0);
  const status = JSON.parse((await sandbox('status', '-o', 'json')).stdout) as {
    nodes: { name: string; containerd: string }[];
  };
  t.deepEqual(
    status.nodes.map((n) => `${n.name}:${n.containerd}`),
    ['node-1:running', 'node-2:stopped'],
  );
  const refused = await sandbox('exec', 'node-2', '--', bosun, 'cri', 'ps');
  t.is(refused.code, 1);
  t.regex(refused.stderr, /not reachable/);
  t.is((await sandbox('start', 'node-2', '--component', 'containerd')).code, 0);
  t.is((await sandbox('exec', 'node-2', '--', bosun, 'cri', 'ps')).code, 0);
});

test.serial('kill and start the agent of one node', async (t) => {
  t.is((await sandbox('kill', 'node-1')).code, 0, 'the agent is the default component');
  let status = JSON.parse((await sandbox('status', '-o', 'json')).stdout) as {
    nodes: { name: string; agent: string }[];
  };
  t.deepEqual(
    status.nodes.map((n) => `${n.name}:${n.agent}`),
    ['node-1:stopped', 'node-2:running'],
  );
  t.is((await sandbox('start', 'node-1')).code, 0);
  status = JSON.parse((await sandbox('status', '-o', 'json')).stdout) as { nodes: { name: string; agent: string }[] };
  t.deepEqual(
    status.nodes.map((n) => `${n.name}:${n.agent}`),
    ['node-1:running', 'node-2:running'],
  );
  const health = await waitFor(
    async () => {
      const r = await sandbox(
        'exec',
        'node-1',
        '--',
        'curl',
        '-s',
        '--max-time',
        '2',
        'http://127.0.0.1:10248/healthz',
      );
      return r.code === 0 ? r.stdout : undefined;
    },
    { what: "node-1's agent answering /healthz again", timeoutMs: 30_000 },
  );
  t.is(health.trim(), 'ok');
});

test.serial('bad input: unknown node, bad name, missing sandbox — one line each, nothing changed', async (t) => {
  const unknown = await sandbox('exec', 'node-9', '--', 'true');
  t.is(unknown.code, 1);
  t.is(unknown.stderr.trim(), `bosun: sandbox ${name} has no node node-9; it has node-1, node-2`);
  const badName = await run([bosun, 'sandbox', 'status', '--name', 'Bad_Name']);
  t.is(badName.code, 2);
  const missing = await run([bosun, 'sandbox', 'status', '--name', 'does-not-exist', '--root', sandboxRoots.tests]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /there is no sandbox 'does-not-exist'; create it with/);
});

test.serial('down removes every namespace, process, mount and file of the sandbox', async (t) => {
  const stateDir = join(sandboxRoots.tests, name);
  const record = JSON.parse(readFileSync(join(stateDir, 'sandbox.json'), 'utf8')) as {
    netns: string[];
    controlPlane: { serverPid: number };
    nodes: { agent?: { pid: number } }[];
  };
  const down = await sandbox('down');
  t.is(down.code, 0, down.stderr);
  const netns = (await run(['ip', 'netns', 'list'])).stdout;
  for (const ns of record.netns) t.false(netns.includes(ns), `${ns} is gone`);
  t.false(alive(record.controlPlane.serverPid), 'the server is gone');
  for (const node of record.nodes) t.false(alive(node.agent!.pid), 'the agents are gone');
  t.false(existsSync(stateDir));
  t.false(readFileSync('/proc/self/mountinfo', 'utf8').includes(stateDir));
  t.false((await run(['ps', '-eo', 'args'])).stdout.includes(stateDir), 'no process runs from the sandbox folder');
  t.is((await sandbox('down')).code, 0, 'down again is harmless');
});
