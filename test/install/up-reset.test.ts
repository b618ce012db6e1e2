/**
 * `bosun up` and `bosun reset` on a test-bed node (a network namespace with its own containerd), with
 * every bosun folder inside the test's state folder: up brings a single-node cluster up in the
 * foreground through the real join path and runs a pod; Ctrl-C stops server and agent but not the
 * pod; reset then leaves no pod sandbox, container, BOSUN chain, CNI state or bosun file.
 */
import test from 'ava';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createBed, type Bed, type BedNode } from '../bed/index.ts';
import { run } from '../helpers/run.ts';
import { waitFor } from '../helpers/wait.ts';
import { hostCgroupMounts } from '../../agent/pods/pod-cgroups.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
let bed: Bed;
let node: BedNode;
let dir: string;
let up: ChildProcess | undefined;
let upOutput = '';

test.before(async () => {
  bed = await createBed({ nodes: 1 });
  node = bed.nodes[0]!;
  dir = join(bed.stateDir, 'up');
});
test.after.always(async () => {
  await bed?.destroy();
});

const paths = () => [
  '--config-dir',
  join(dir, 'etc'),
  '--data-dir',
  join(dir, 'lib'),
  '--run-dir',
  join(dir, 'run'),
  '--log-dir',
  join(dir, 'log'),
  '--defaults-dir',
  join(dir, 'default'),
];
const cni = () => ['--cni-conf-dir', join(node.stateDir, 'cni', 'net.d'), '--pod-log-dir', join(dir, 'pods')];
/** What reset needs besides the folders: where the pods' CNI state, logs and cgroups are. */
const resetFlags = () => [...cni(), '--cgroup-root', node.cgroupRoot, '--container-runtime-endpoint', node.criEndpoint];
const podCgroupsLeft = async () =>
  (await hostCgroupMounts())
    .map((mount) => join(mount, node.cgroupRoot, 'kubepods'))
    .filter((folder) => existsSync(folder));
const kubectl = (...args: string[]) =>
  node.run(['kubectl', '--kubeconfig', join(dir, 'etc', 'admin.kubeconfig'), ...args], { timeoutMs: 60_000 });
const sandboxes = async () =>
  (await node.run([bosun, 'cri', '-r', node.criEndpoint, 'pods', '-q'])).stdout.split('\n').filter(Boolean);

test.serial(
  'up: a single-node cluster in the foreground, its node joined through bosun join, running a pod',
  async (t) => {
    t.timeout(300_000, 'bringing the cluster up on a loaded machine');
    up = node.spawn(
      [
        bosun,
        'up',
        ...paths(),
        ...cni(),
        '--advertise-address',
        node.ip,
        '--node-name',
        'solo',
        '--container-runtime-endpoint',
        node.criEndpoint,
        '--cni-data-dir',
        join(dir, 'ipam'),
        '--agent-arg=--cluster-cidr=10.244.0.0/16',
        // the bed's own cgroup subtree: another test's agent or reset never sees these pods' cgroups
        `--agent-arg=--cgroup-root=${node.cgroupRoot}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    up.stderr!.on('data', (chunk: Buffer) => {
      upOutput += chunk.toString();
    });
    // waitFor retries a probe that throws, so an up that exited is raced, not probed: it fails at once
    const exited = new Promise<never>((_, reject) =>
      up!.once('exit', (code) => reject(new Error(`bosun up exited (${code}) before the node was Ready: ${upOutput}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([
      waitFor(() => /node solo is Ready/.test(upOutput), {
        what: 'bosun up saying node solo is Ready',
        timeoutMs: 240_000,
        intervalMs: 200,
      }),
      exited,
    ]);
    t.regex(upOutput, /node solo joined through bosun join/);
    t.regex(upOutput, new RegExp(`export KUBECONFIG=${join(dir, 'etc', 'admin.kubeconfig')}`));
    const ready = await kubectl(
      'get',
      'node',
      'solo',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    );
    t.is(ready.stdout, 'True', ready.stderr);
    t.is(
      (await kubectl('run', 'hello', '--image=localhost/bosun/busybox:1.35', '--restart=Never', '--', 'sleep', '3600'))
        .code,
      0,
    );
    await waitFor(
      async () => (await kubectl('get', 'pod', 'hello', '-o', 'jsonpath={.status.phase}')).stdout === 'Running',
      { what: 'pod hello Running', timeoutMs: 120_000, intervalMs: 500 },
    );
    t.pass();
  },
);

test.serial('Ctrl-C stops agent and server; the pod keeps running in containerd', async (t) => {
  t.timeout(120_000);
  const exited = new Promise<number | null>((resolve) => up!.once('exit', (code) => resolve(code)));
  up!.kill('SIGINT');
  t.is(await exited, 0, upOutput);
  t.regex(upOutput, /stopping: agent, then server/);
  t.false((await run(['ps', '-eo', 'args'])).stdout.includes(join(dir, 'lib')), 'no server or agent left running');
  t.is((await sandboxes()).length, 1, 'the pod sandbox still runs');
  t.true((await podCgroupsLeft()).length > 0, "the pod's cgroups sit under the bed's own cgroup root");
});

test.serial('reset removes pods, chains, CNI state and files; the runtime keeps running', async (t) => {
  t.timeout(120_000);
  t.true(
    (await node.run(['iptables-save', '-t', 'nat'])).stdout.includes('BOSUN-SERVICES'),
    'the agent had programmed service rules',
  );
  const refused = await node.run([bosun, 'reset', ...paths()], { input: '' });
  t.is(refused.code, 1);
  t.regex(refused.stderr, /^bosun: bosun reset stops .*; pass --force to do it without asking\n$/);
  const reset = await node.run([bosun, 'reset', '--force', ...paths(), ...resetFlags()], { timeoutMs: 120_000 });
  t.is(reset.code, 0, reset.stderr);
  t.deepEqual(await sandboxes(), [], 'no pod sandbox');
  // whether reset had to wait for busy cgroups (the EBUSY retry): logged, to see if it is ever needed
  t.log(/\[reset\] removed .* cgroup folder.*$/m.exec(reset.stderr)?.[0]);
  t.regex(
    reset.stderr,
    new RegExp(`\\[reset\\] removed [1-9]\\d* cgroup folder\\(s\\) under ${node.cgroupRoot}/kubepods`),
  );
  t.deepEqual(await podCgroupsLeft(), [], 'no pod cgroup left in any hierarchy');
  t.is((await node.run([bosun, 'cri', '-r', node.criEndpoint, 'ps', '-a', '-q'])).stdout.trim(), '', 'no container');
  const save = await node.run(['iptables-save']);
  t.false(save.stdout.includes('BOSUN-'), 'no BOSUN chain or hook');
  t.false(existsSync(join(node.stateDir, 'cni', 'net.d', '10-bosun.conflist')), 'no CNI conflist');
  t.false(existsSync(join(dir, 'ipam', 'bosun')), 'no IPAM leases');
  for (const gone of [
    'etc/admin.kubeconfig',
    'etc/agent.kubeconfig',
    'etc/encryption-config.yaml',
    'lib/server',
    'lib/agent',
    'pods',
  ])
    t.false(existsSync(join(dir, gone)), `${gone} removed`);
  for (const pidFile of ['agent.pid', 'server.pid']) t.false(existsSync(join(dir, 'run', pidFile)), `no ${pidFile}`);
  const again = await node.run([bosun, 'reset', '--force', ...paths(), ...resetFlags()]);
  t.is(again.code, 0, `reset again is harmless: ${again.stderr}`);
});
