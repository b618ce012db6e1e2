/**
 * The node defends itself, on a real node: `bosun server` with its controllers, one sandbox node
 * with its own containerd and `bosun agent`, real kubectl. The agent's root folder (its nodefs)
 * is a 64 MiB tmpfs the test mounts under its own state folder, so a pod can fill it.
 *
 *  - events of a normal start (Pulled, Created, Started) and of a crash loop (one BackOff Event
 *    whose count climbs) through kubectl;
 *  - a pod filling an emptyDir: DiskPressure and its taint, the pod Failed/Evicted with the event,
 *    and (transition period shortened to 15 s) DiskPressure False again;
 *  - a fast writer's log rotated within 1Mi × 3 files (bounded: 24 MB written, then it sleeps).
 */
import test from 'ava';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../host/process/run.ts';
import { Sandbox } from '../../sandbox/sandbox.ts';
import { waitFor } from '../helpers/wait.ts';
import { AgentProcess } from './agent-process.ts';
import { kubectlOk } from '../bed/kubectl.ts';
import { createTestSandbox } from '../bed/index.ts';

let sandbox: Sandbox | undefined;
let agent: AgentProcess | undefined;
let kubeconfig = '';
let rootDir = '';
let mounted = false;

test.before(async () => {
  sandbox = await createTestSandbox('bnd', 1);
  const plane = await sandbox.startControlPlane(['--node-monitor-period', '1s']);
  kubeconfig = plane.kubeconfig;
  const node = sandbox.nodes[0]!;
  rootDir = join(node.stateDir, 'small-root');
  mkdirSync(rootDir, { recursive: true });
  const mount = await run(['mount', '-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', rootDir]);
  if (mount.code !== 0) throw new Error(`mount tmpfs: ${mount.stderr}`);
  mounted = true;
  agent = new AgentProcess(node, plane.nodeKubeconfig, [
    '--eviction-hard',
    'memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%',
    '--eviction-pressure-transition-period',
    '15s',
    '--container-log-max-size',
    '1Mi',
    '--container-log-max-files',
    '3',
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

function kubectl(...args: string[]): Promise<string> {
  return kubectlOk({ kubeconfig }, args);
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

async function nodeJson(): Promise<{
  status: { conditions: { type: string; status: string; reason: string }[] };
  spec: { taints?: { key: string; effect: string }[] };
}> {
  return JSON.parse(await kubectl('get', 'node', sandbox!.nodes[0]!.name, '-o', 'json'));
}

test.serial('a normal start records Pulled, Created and Started for the container', async (t) => {
  await apply('hello', podManifest('hello', 'trap "exit 0" TERM; while true; do sleep 1; done'));
  await kubectl('wait', '--for=condition=Ready', 'pod/hello', '--timeout=90s');
  let events: EventItem[] = [];
  await waitFor(
    async () => {
      events = await eventsOf('hello');
      return ['Pulled', 'Created', 'Started'].every((r) => events.some((e) => e.reason === r));
    },
    { what: 'Pulled, Created and Started events for pod hello', timeoutMs: 30_000, intervalMs: 500 },
  );
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
  await waitFor(
    async () => {
      backOffs = (await eventsOf('crasher')).filter((e) => e.reason === 'BackOff');
      return backOffs.some((e) => e.count >= 3);
    },
    { what: 'a BackOff event for pod crasher with count >= 3', timeoutMs: 120_000, intervalMs: 1_000 },
  );
  t.is(backOffs.length, 1, 'one aggregated BackOff object, not one per back-off');
  t.is(backOffs[0]!.type, 'Warning');
  t.regex(backOffs[0]!.message, /^Back-off restarting failed container app in pod crasher_default\(/);
  // Created/Started repeat for each restart: also aggregated, one object each
  const all = await eventsOf('crasher');
  t.is(all.filter((e) => e.reason === 'Started').length, 1);
  await kubectl('delete', 'pod', 'crasher', '--wait=false');
});

test.serial('a pod filling its emptyDir is evicted under DiskPressure, which then clears', async (t) => {
  await apply(
    'filler',
    podManifest(
      'filler',
      'dd if=/dev/zero of=/data/fill bs=1M count=60; trap "exit 0" TERM; while true; do sleep 1; done',
      `    volumeMounts: [{name: scratch, mountPath: /data}]
  volumes: [{name: scratch, emptyDir: {}}]`,
    ),
  );
  await waitFor(
    async () =>
      (await nodeJson()).status.conditions.some(
        (c) => c.type === 'DiskPressure' && c.status === 'True' && c.reason === 'KubeletHasDiskPressure',
      ),
    {
      what: 'the node reports DiskPressure True',
      timeoutMs: 90_000,
      intervalMs: 1_000,
    },
  );
  await waitFor(
    async () =>
      ((await nodeJson()).spec.taints ?? []).some(
        (x) => x.key === 'node.kubernetes.io/disk-pressure' && x.effect === 'NoSchedule',
      ),
    {
      what: 'the disk-pressure taint on the node',
      timeoutMs: 60_000,
      intervalMs: 1_000,
    },
  );
  let status: { phase: string; reason?: string; message?: string } = { phase: '' };
  await waitFor(
    async () => {
      status = JSON.parse(await kubectl('get', 'pod', 'filler', '-o', 'jsonpath={.status}')) as typeof status;
      return status.phase === 'Failed' && status.reason === 'Evicted';
    },
    { what: 'pod filler Failed with reason Evicted', timeoutMs: 90_000, intervalMs: 1_000 },
  );
  t.regex(
    status.message ?? '',
    /^The node was low on resource: ephemeral-storage\. Threshold quantity: .*, available: .*Pod filler was using \d+Mi in emptyDir volumes/,
  );
  await waitFor(async () => (await eventsOf('filler')).some((e) => e.reason === 'Evicted' && e.type === 'Warning'), {
    what: 'an Evicted event for pod filler',
    timeoutMs: 30_000,
    intervalMs: 1_000,
  });
  // the other pod was not evicted: one pod per round, and the reclaimed emptyDir ended the pressure
  t.is((await kubectl('get', 'pod', 'hello', '-o', 'jsonpath={.status.phase}')).trim(), 'Running');
  await waitFor(
    async () => (await nodeJson()).status.conditions.some((c) => c.type === 'DiskPressure' && c.status === 'False'),
    {
      what: 'DiskPressure False again after the transition period',
      timeoutMs: 90_000,
      intervalMs: 1_000,
    },
  );
  await waitFor(
    async () => !((await nodeJson()).spec.taints ?? []).some((x) => x.key === 'node.kubernetes.io/disk-pressure'),
    {
      what: 'the disk-pressure taint removed',
      timeoutMs: 60_000,
      intervalMs: 1_000,
    },
  );
});

test.serial(
  "a fast writer's log is rotated and stays within --container-log-max-size × --container-log-max-files",
  async (t) => {
    // after two quiet seconds, 24 MB of 1 kB lines at up to ~2 MB/s (100 lines, then 50 ms), then quiet
    await apply(
      'chatty',
      podManifest(
        'chatty',
        'sleep 2; line=$(head -c 1000 /dev/zero | tr "\\\\0" x); j=0; while [ $j -lt 240 ]; do i=0; while [ $i -lt 100 ]; do echo $line; i=$((i+1)); done; usleep 50000; j=$((j+1)); done; echo done; trap "exit 0" TERM; while true; do sleep 1; done',
      ),
    );
    const uid = (await kubectl('get', 'pod', 'chatty', '-o', 'jsonpath={.metadata.uid}')).trim();
    const dir = join(sandbox!.nodes[0]!.podLogDir, `default_chatty_${uid}`, 'app');
    const budget = 3 * 1024 * 1024;
    let largest = 0;
    let files: string[] = [];
    // sample the folder while the writer runs: every file and their sum stay near the budget
    await waitFor(
      async () => {
        files = existsSync(dir) ? readdirSync(dir) : [];
        const total = files.reduce((sum, name) => sum + statOrZero(join(dir, name)), 0);
        largest = Math.max(largest, total);
        // the last line is in the live file or the newest rotated one (older ones are gzipped)
        return files
          .filter((name) => !name.endsWith('.gz'))
          .some((name) => readFileSync(join(dir, name), 'utf8').includes(' done\n'));
      },
      { what: 'the writer in pod chatty to finish (its last line in its log)', timeoutMs: 180_000, intervalMs: 200 },
    );
    t.true(
      files.some((name) => /^0\.log\.\d{8}-\d{6}/.test(name)),
      `rotated files named as upstream names them, found ${files.join(', ')}`,
    );
    // compressing the older rotated file finishes in the background: then at most max-files remain
    await waitFor(
      async () => {
        files = readdirSync(dir);
        return files.length <= 3 && !files.some((name) => name.endsWith('.tmp'));
      },
      {
        what: `at most 3 log files for the container once compression finished (last seen: ${files.join(', ')})`,
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
    t.true(
      files.some((name) => name.endsWith('.gz')),
      `an older rotated file is compressed, found ${files.join(', ')}`,
    );
    // the runtime goes on writing into the renamed file until ReopenContainerLog returns (up to a
    // second or so on this busy machine), so each of the two uncompressed files may pass max-size by
    // what the writer wrote meanwhile; unrotated, the folder would hold all 24 MB
    t.true(
      largest <= budget + 4 * 1024 * 1024,
      `the log folder held at most ${largest} bytes (budget ${budget} plus 4 MiB)`,
    );
  },
);

function statOrZero(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
