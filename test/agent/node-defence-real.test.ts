/**
 * The node defends itself, on a real node: `bosun server` with its controllers, one sandbox node
 * with its own containerd and `bosun agent`, real kubectl. The agent's root folder (its nodefs)
 * is a 64 MiB tmpfs the test mounts under its own state folder, so a pod can fill it.
 *
 *  - events of a normal start (Pulled, Created, Started) and of a crash loop (one BackOff Event
 *    whose count climbs) through kubectl;
 *  - a pod filling an emptyDir: DiskPressure and its taint, the pod Failed/Evicted with the event,
 *    and (transition period shortened to 15 s) DiskPressure False again.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../cli/sandbox/run.ts';
import { Sandbox } from '../../cli/sandbox/sandbox.ts';
import { sandboxRoots } from '../../cli/sandbox/names.ts';
import { waitFor } from '../helpers/wait.ts';
import { AgentProcess } from './agent-process.ts';

const imageCacheDir = join(import.meta.dirname, '..', '..', '.cache', 'images');

let sandbox: Sandbox | undefined;
let agent: AgentProcess | undefined;
let kubeconfig = '';
let rootDir = '';
let mounted = false;

test.before(async () => {
  const id = `bnd${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
  sandbox = await Sandbox.create({ name: id, id, stateDir: join(sandboxRoots.tests, id), ownerPid: process.pid, images: ['pause', 'busybox'], imageCacheDir }, 1);
  const plane = await sandbox.startControlPlane(['--node-monitor-period', '1s']);
  kubeconfig = plane.kubeconfig;
  const node = sandbox.nodes[0]!;
  rootDir = join(node.stateDir, 'small-root');
  mkdirSync(rootDir, { recursive: true });
  const mount = await run(['mount', '-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', rootDir]);
  if (mount.code !== 0) throw new Error(`mount tmpfs: ${mount.stderr}`);
  mounted = true;
  agent = new AgentProcess(node, plane.nodeKubeconfig, [
    '--eviction-hard', 'memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%',
    '--eviction-pressure-transition-period', '15s',
  ]);
  // replaces the default --root-dir (a repeated flag would become a list)
  const started = agent.start(['--root-dir', rootDir]);
  try {
    await agent.ready(120_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${started.stderr().trim().split('\n').slice(-3).join(' | ')}`);
  }
});

test.after.always(async () => {
  if (agent?.running) await agent.stop(5_000);
  agent?.close();
  await sandbox?.destroy();
  if (mounted) await run(['umount', '-l', rootDir]);
});

async function kubectl(...args: string[]): Promise<string> {
  const result = await run(['kubectl', '--kubeconfig', kubeconfig, ...args], { timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout;
}

async function apply(name: string, manifest: string): Promise<void> {
  const file = join(sandbox!.stateDir, `${name}.yaml`);
  writeFileSync(file, manifest);
  await kubectl('apply', '-f', file);
}

function podManifest(name: string, script: string, extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: localhost/bosun/busybox:1.35
    command: [sh, -c, '${script}']
${extra}`;
}

interface EventItem {
  metadata: { name: string };
  involvedObject: { name: string; fieldPath?: string; uid?: string };
  reason: string;
  message: string;
  count: number;
  type: string;
  source: { component: string; host?: string };
}

async function eventsOf(pod: string): Promise<EventItem[]> {
  const list = JSON.parse(await kubectl('get', 'events', '-n', 'default', '-o', 'json')) as { items: EventItem[] };
  return list.items.filter((e) => e.involvedObject.name === pod);
}

async function nodeJson(): Promise<{ status: { conditions: { type: string; status: string; reason: string }[] }; spec: { taints?: { key: string; effect: string }[] } }> {
  return JSON.parse(await kubectl('get', 'node', sandbox!.nodes[0]!.name, '-o', 'json'));
}

test.serial('a normal start records Pulled, Created and Started for the container', async (t) => {
  await apply('hello', podManifest('hello', 'trap "exit 0" TERM; while true; do sleep 1; done'));
  await kubectl('wait', '--for=condition=Ready', 'pod/hello', '--timeout=90s');
  let events: EventItem[] = [];
  await waitFor(async () => {
    events = await eventsOf('hello');
    return ['Pulled', 'Created', 'Started'].every((r) => events.some((e) => e.reason === r));
  }, { what: 'Pulled, Created and Started events for pod hello', timeoutMs: 30_000, intervalMs: 500 });
  const started = events.find((e) => e.reason === 'Started')!;
  t.is(started.source.component, 'kubelet');
  t.is(started.source.host, sandbox!.nodes[0]!.name);
  t.is(started.involvedObject.fieldPath, 'spec.containers{app}');
  t.is(started.message, 'Started container app');
  t.regex(await kubectl('describe', 'pod', 'hello'), /Started\s+.*Started container app/);
});

test.serial('a crash loop makes one BackOff Event whose count climbs', async (t) => {
  await apply('crasher', podManifest('crasher', 'exit 1'));
  let backOffs: EventItem[] = [];
  await waitFor(async () => {
    backOffs = (await eventsOf('crasher')).filter((e) => e.reason === 'BackOff');
    return backOffs.some((e) => e.count >= 3);
  }, { what: 'a BackOff event for pod crasher with count >= 3', timeoutMs: 120_000, intervalMs: 1_000 });
  t.is(backOffs.length, 1, 'one aggregated BackOff object, not one per back-off');
  t.is(backOffs[0]!.type, 'Warning');
  t.regex(backOffs[0]!.message, /^Back-off restarting failed container app in pod crasher_default\(/);
  // Created/Started repeat for each restart: also aggregated, one object each
  const all = await eventsOf('crasher');
  t.is(all.filter((e) => e.reason === 'Started').length, 1);
  await kubectl('delete', 'pod', 'crasher', '--wait=false');
});

test.serial('a pod filling its emptyDir is evicted under DiskPressure, which then clears', async (t) => {
  await apply('filler', podManifest('filler', 'dd if=/dev/zero of=/data/fill bs=1M count=60; trap "exit 0" TERM; while true; do sleep 1; done', `    volumeMounts: [{name: scratch, mountPath: /data}]
  volumes: [{name: scratch, emptyDir: {}}]`));
  await waitFor(async () => (await nodeJson()).status.conditions.some((c) => c.type === 'DiskPressure' && c.status === 'True' && c.reason === 'KubeletHasDiskPressure'), {
    what: 'the node reports DiskPressure True', timeoutMs: 90_000, intervalMs: 1_000,
  });
  await waitFor(async () => ((await nodeJson()).spec.taints ?? []).some((x) => x.key === 'node.kubernetes.io/disk-pressure' && x.effect === 'NoSchedule'), {
    what: 'the disk-pressure taint on the node', timeoutMs: 60_000, intervalMs: 1_000,
  });
  let status: { phase: string; reason?: string; message?: string } = { phase: '' };
  await waitFor(async () => {
    status = JSON.parse(await kubectl('get', 'pod', 'filler', '-o', 'jsonpath={.status}')) as typeof status;
    return status.phase === 'Failed' && status.reason === 'Evicted';
  }, { what: 'pod filler Failed with reason Evicted', timeoutMs: 90_000, intervalMs: 1_000 });
  t.regex(status.message ?? '', /^The node was low on resource: ephemeral-storage\. Threshold quantity: .*, available: .*Pod filler was using \d+Mi in emptyDir volumes/);
  await waitFor(async () => (await eventsOf('filler')).some((e) => e.reason === 'Evicted' && e.type === 'Warning'), {
    what: 'an Evicted event for pod filler', timeoutMs: 30_000, intervalMs: 1_000,
  });
  // the other pod was not evicted: one pod per round, and the reclaimed emptyDir ended the pressure
  t.is((await kubectl('get', 'pod', 'hello', '-o', 'jsonpath={.status.phase}')).trim(), 'Running');
  await waitFor(async () => (await nodeJson()).status.conditions.some((c) => c.type === 'DiskPressure' && c.status === 'False'), {
    what: 'DiskPressure False again after the transition period', timeoutMs: 90_000, intervalMs: 1_000,
  });
  await waitFor(async () => !((await nodeJson()).spec.taints ?? []).some((x) => x.key === 'node.kubernetes.io/disk-pressure'), {
    what: 'the disk-pressure taint removed', timeoutMs: 60_000, intervalMs: 1_000,
  });
});
