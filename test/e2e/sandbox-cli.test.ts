/**
 * `bosun sandbox` as a user runs it: up, kubectl against the printed kubeconfig, exec into a node
 * (its runtime and the API server through the relays), partition/heal, kill/start containerd,
 * status, and down leaving nothing behind.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../helpers/run.ts';
import { sandboxRoots } from '../../cli/sandbox/names.ts';
import { alive } from '../../cli/sandbox/process.ts';
import { waitFor } from '../helpers/wait.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
const name = `cli${process.pid.toString(36)}`;
const scope = ['--name', name, '--root', sandboxRoots.tests];
// the scope flags go right after the subcommand, before any `--` that starts a node command
const sandbox = (command: string, ...args: string[]) => run([bosun, 'sandbox', command, ...scope, ...args], { timeoutMs: 120_000 });

test.after.always(async () => {
  await sandbox('down');
});

test.serial('up prints a kubeconfig that kubectl uses to reach the sandbox API server', async (t) => {
  const up = await sandbox('up', '--nodes', '2');
  t.is(up.code, 0, up.stderr);
  const kubeconfig = up.stdout.trim();
  t.true(existsSync(kubeconfig));
  t.is((await sandbox('kubeconfig')).stdout.trim(), kubeconfig);
  const namespaces = await run(['kubectl', '--kubeconfig', kubeconfig, 'get', 'namespaces', '-o', 'name']);
  t.is(namespaces.code, 0, namespaces.stderr);
  t.true(namespaces.stdout.includes('namespace/kube-system'));
  const again = await sandbox('up');
  t.is(again.code, 1);
  t.regex(again.stderr, /already exists; remove it first/);
});

test.serial("exec runs inside a node: its own runtime, and the API server through the hub address", async (t) => {
  const images = await sandbox('exec', 'node-2', '--', bosun, 'cri', 'images', '-q');
  t.is(images.code, 0, images.stderr);
  t.is(images.stdout.trim().split('\n').length, 2, 'pause and busybox, imported into node-2');
  const route = await sandbox('exec', 'node-2', '--', 'ip', 'route', 'show', '10.96.0.0/12');
  t.regex(route.stdout, /via 198\.18\.2\.2 dev sink0/, 'the service CIDR goes into the sink');
  const env = await sandbox('exec', 'node-2', '--', 'sh', '-c', 'cat "$KUBECONFIG"');
  const server = /server: (https:\/\/172\.30\.0\.1:\d+)/.exec(env.stdout)?.[1];
  t.truthy(server, 'nodes see the API server at the hub address');
  const ca = join(sandboxRoots.tests, name, 'server', 'pki', 'ca.crt');
  const version = await sandbox('exec', 'node-2', '--', 'curl', '-s', '--max-time', '5', '--cacert', ca, `${server}/version`);
  t.is(version.code, 0, version.stderr);
  t.is(JSON.parse(version.stdout).major, '1');
  const status = await sandbox('exec', 'node-1', '--', 'sh', '-c', 'exit 7');
  t.is(status.code, 7, "the command's exit code is passed through");
});

test.serial('partition cuts a node off the API server; heal brings it back', async (t) => {
  const server = /server: (https:\/\/172\.30\.0\.1:\d+)/.exec(readFileSync(join(sandboxRoots.tests, name, 'server', 'admin.kubeconfig'), 'utf8'))?.[1];
  const ca = join(sandboxRoots.tests, name, 'server', 'pki', 'ca.crt');
  const probe = () => sandbox('exec', 'node-1', '--', 'curl', '-s', '-o', '/dev/null', '--max-time', '2', '--cacert', ca, `${server}/version`);
  t.is((await sandbox('partition', 'node-1')).code, 0);
  t.not((await probe()).code, 0, 'no answer while partitioned');
  t.regex((await sandbox('status')).stdout, /node-1 .* partitioned/);
  t.is((await sandbox('heal', 'node-1')).code, 0);
  await waitFor(async () => (await probe()).code === 0, { what: 'node-1 reaching the API server again after heal', timeoutMs: 10_000 });
  t.pass();
});

test.serial('kill and start containerd of one node', async (t) => {
  t.is((await sandbox('kill', 'node-2', '--component', 'containerd')).code, 0);
  const status = JSON.parse((await sandbox('status', '-o', 'json')).stdout) as { nodes: { name: string; containerd: string }[] };
  t.deepEqual(status.nodes.map((n) => `${n.name}:${n.containerd}`), ['node-1:running', 'node-2:stopped']);
  const refused = await sandbox('exec', 'node-2', '--', bosun, 'cri', 'ps');
  t.is(refused.code, 1);
  t.regex(refused.stderr, /not reachable/);
  t.is((await sandbox('start', 'node-2', '--component', 'containerd')).code, 0);
  t.is((await sandbox('exec', 'node-2', '--', bosun, 'cri', 'ps')).code, 0);
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
  const record = JSON.parse(readFileSync(join(stateDir, 'sandbox.json'), 'utf8')) as { netns: string[]; controlPlane: { serverPid: number } };
  const down = await sandbox('down');
  t.is(down.code, 0, down.stderr);
  const netns = (await run(['ip', 'netns', 'list'])).stdout;
  for (const ns of record.netns) t.false(netns.includes(ns), `${ns} is gone`);
  t.false(alive(record.controlPlane.serverPid), 'the server is gone');
  t.false(existsSync(stateDir));
  t.false(readFileSync('/proc/self/mountinfo', 'utf8').includes(stateDir));
  t.false((await run(['ps', '-eo', 'args'])).stdout.includes(stateDir), 'no process runs from the sandbox folder');
  t.is((await sandbox('down')).code, 0, 'down again is harmless');
});
