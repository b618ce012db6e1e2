/**
 * install.sh upgrade as an operator runs it: a machine (a network namespace of a test bed, no
 * systemd) installed from the previous commit's build runs 20 pods; `install.sh upgrade` from this
 * build replaces bosun and restarts the server, then the agent, on it. No container restarts, no
 * pod's readiness flips, the node stays Ready, and the daemons really are new processes.
 */
import test from 'ava';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from '../../kube/corev1.ts';
import { createBed, type Bed, type BedNode } from '../bed/index.ts';
import { run } from '../helpers/run.ts';
import { installShFrom, machineKubectl, repo } from './install-sh-runner.ts';
import { waitFor } from '../helpers/wait.ts';

const fromRev = process.env.BOSUN_UPGRADE_FROM ?? 'HEAD~1';
let bed: Bed;
let node: BedNode;
let root: string;
let oldSource: string;

test.before(async () => {
  bed = await createBed({ nodes: 1, images: [] });
  node = bed.nodes[0]!;
  root = join(bed.stateDir, 'machine');
  oldSource = join(bed.stateDir, 'previous-build');
  mkdirSync(oldSource, { recursive: true });
  // the previous commit's tree, as an operator would have unpacked it
  const archived = await run([
    'sh',
    '-c',
    `git -C '${repo}' archive --format=tar '${fromRev}' | tar -x -C '${oldSource}'`,
  ]);
  if (archived.code !== 0) throw new Error(`cannot unpack ${fromRev} of ${repo}: ${archived.stderr.trim()}`);
});

test.after.always(async () => {
  if (root !== undefined && existsSync(join(root, 'opt', 'bosun', 'bin', 'bosun')))
    await installSh(repo, 'uninstall').catch(() => undefined);
  await bed?.destroy();
});

const installSh = (source: string, ...args: string[]) => installShFrom(source, node, root, 'solo', ...args);
const kubectl = (...args: string[]) => machineKubectl(node, root, args);

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: steady}
spec:
  replicas: 20
  selector: {matchLabels: {app: steady}}
  template:
    metadata: {labels: {app: steady}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: localhost/bosun/busybox:1.35
        command: [sleep, '36000']
        resources: {requests: {cpu: 1m, memory: 4Mi}}
`;

/** Per pod: its container's ID, restarts and when Ready last changed. */
async function podStates(): Promise<Map<string, string>> {
  const listed = await kubectl('get', 'pods', '-l', 'app=steady', '-o', 'json');
  if (listed.code !== 0) throw new Error(listed.stderr);
  const states = new Map<string, string>();
  for (const pod of (JSON.parse(listed.stdout) as { items: Pod[] }).items) {
    const container = pod.status?.containerStatuses?.[0];
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
    if (container?.state?.running === undefined || ready?.status !== 'True') continue;
    states.set(
      pod.metadata.name!,
      `${container.containerID} restarts=${container.restartCount} ready-since=${ready.lastTransitionTime}`,
    );
  }
  return states;
}

const pidOf = (name: string) => readFileSync(join(root, 'run', 'bosun', `${name}.pid`), 'utf8').trim();

test.serial(`install.sh upgrade from ${fromRev} restarts the server and the agent and no container`, async (t) => {
  t.timeout(900_000);
  const installed = await installSh(oldSource);
  t.is(installed.code, 0, `${installed.stdout}\n${installed.stderr}`);
  const applied = await machineKubectl(node, root, ['apply', '-f', '-'], deployment);
  t.is(applied.code, 0, applied.stderr);
  await waitFor(async () => (await podStates()).size === 20, {
    what: '20 pods Running and Ready',
    timeoutMs: 300_000,
    intervalMs: 1000,
  });
  const before = await podStates();
  const pids = { server: pidOf('server'), agent: pidOf('agent') };

  const upgraded = await installSh(repo, 'upgrade');
  t.is(upgraded.code, 0, `${upgraded.stdout}\n${upgraded.stderr}`);
  t.regex(upgraded.stderr, /\[upgrade\] bosun server restarted on the new build/);
  t.regex(upgraded.stderr, /\[upgrade\] bosun agent restarted on the new build/);
  t.regex(upgraded.stdout, /upgraded: bosun \S+ .* -> bosun \S+/);
  t.regex(upgraded.stderr, /bosun server restarted[\s\S]*bosun agent restarted/, 'the server first, then the agent');
  t.not(pidOf('server'), pids.server, 'a new server process');
  t.not(pidOf('agent'), pids.agent, 'a new agent process');
  // the new build is what runs: the server now says its bosun version
  const version = await kubectl('get', '--raw', '/version');
  t.regex(version.stdout, /"bosunVersion":/);

  const ready = await kubectl('get', 'node', 'solo', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}');
  t.is(ready.stdout, 'True');
  // the new agent has written its statuses; each pod is as it was: same container, no restart, no readiness flip
  const after = await waitFor(
    async () => {
      const states = await podStates();
      return states.size === 20 ? states : undefined;
    },
    { what: 'all 20 pods Running and Ready after the upgrade', timeoutMs: 120_000, intervalMs: 1000 },
  );
  t.deepEqual([...after].sort(), [...before].sort());
});
