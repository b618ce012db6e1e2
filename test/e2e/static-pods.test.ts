/**
 * Static pods on a real node: a manifest dropped into the node's --pod-manifest-path runs on its
 * containerd with no API object asked for, a mirror pod owned by the Node shows it (and its status)
 * in the API, a deleted mirror comes back without the pod restarting, an agent restart adopts the
 * pod, an edited file replaces it and a removed file stops it and deletes its mirror. One sandbox
 * node with its own containerd, a real `bosun server` and `bosun agent`, real kubectl.
 */
import test from 'ava';
import { mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from '../../kube/corev1.ts';
import { CriClient } from '../../cri/client.ts';
import { run } from '../../host/process/run.ts';
import type { Sandbox } from '../../sandbox/sandbox.ts';
import { createTestSandbox } from '../bed/index.ts';
import { sandboxImages } from '../../sandbox/names.ts';
import { waitFor } from '../helpers/wait.ts';
import { staticPodFromManifest } from '../../agent/static-pods/static-pod-manifest.ts';

let sandbox: Sandbox | undefined;
let kubeconfig = '';

test.before(async () => {
  sandbox = await createTestSandbox('bsp', 1);
  kubeconfig = (await sandbox.startControlPlane()).kubeconfig;
  await sandbox.joinAgents(['--file-check-frequency', '1s']);
});

test.afterEach.always(async (t) => {
  if (t.passed || sandbox === undefined) return;
  // the agent's own lines about static pods say what never happened
  const log = await run([
    'sh',
    '-c',
    `grep -h -e static -e mirror ${join(sandbox.nodes[0]!.stateDir, '*.log')} | tail -20`,
  ]);
  t.log(log.stdout);
});

test.after.always(async () => {
  await sandbox?.destroy();
});

async function mirror(name: string): Promise<Pod | undefined> {
  const r = await run(['kubectl', '--kubeconfig', kubeconfig, 'get', 'pod', name, '-o', 'json'], { timeoutMs: 30_000 });
  if (r.code !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(`kubectl get pod ${name}: ${r.stderr.trim()}`);
  }
  return JSON.parse(r.stdout) as Pod;
}

const manifest = (command: string) => `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: static}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: ${sandboxImages.busybox}
    command: [sh, -c, '${command}']
`;

test.serial('a static pod runs from its file, is mirrored in the API and follows the file', async (t) => {
  const node = sandbox!.nodes[0]!;
  const podName = `web-${node.name}`;
  const folder = join(node.stateDir, 'manifests');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, 'web.yaml');
  // written then renamed into place, as configuration tools do
  writeFileSync(`${file}.tmp`, manifest('sleep 3600'));
  renameSync(`${file}.tmp`, file);

  const running = async (): Promise<Pod | undefined> => {
    const pod = await mirror(podName);
    const state = pod?.status?.containerStatuses?.[0]?.state;
    return state?.running !== undefined ? pod : undefined;
  };
  await waitFor(async () => (await running()) !== undefined, {
    what: `mirror pod ${podName} to show the static pod Running`,
    timeoutMs: 90_000,
    intervalMs: 500,
  });
  const first = (await running())!;
  const hash = first.metadata.annotations?.['kubernetes.io/config.mirror'];
  t.regex(hash ?? '', /^[0-9a-f]{32}$/);
  t.is(first.metadata.annotations?.['kubernetes.io/config.source'], 'file');
  t.like(first.metadata.ownerReferences?.[0], { apiVersion: 'v1', kind: 'Node', name: node.name, controller: true });
  t.is(first.spec.nodeName, node.name);
  const containerId = first.status?.containerStatuses?.[0]?.containerID;
  t.truthy(containerId);

  const cri = new CriClient(node.criEndpoint);
  t.teardown(() => cri.close());
  const containersOf = async (uid: string) =>
    cri.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': uid }, state: { state: 'CONTAINER_RUNNING' } });
  t.is((await containersOf(hash!)).length, 1, 'the container runs under the static pod UID, the mirror hash');

  // a user deletes the mirror: it comes back; the pod itself never stopped
  const deleted = await run(['kubectl', '--kubeconfig', kubeconfig, 'delete', 'pod', podName, '--wait=false'], {
    timeoutMs: 30_000,
  });
  t.is(deleted.code, 0, deleted.stderr);
  await waitFor(
    async () => {
      const again = await running();
      return again !== undefined && again.metadata.uid !== first.metadata.uid;
    },
    { what: 'the deleted mirror pod to be created again', timeoutMs: 60_000, intervalMs: 500 },
  );
  const back = (await running())!;
  t.is(back.status?.containerStatuses?.[0]?.containerID, containerId, 'deleting the mirror did not restart the pod');
  t.is(back.status?.containerStatuses?.[0]?.restartCount, 0);

  // the agent restarts: the same file gives the same pod, which is adopted, not started again
  await sandbox!.killAgent(node.name);
  await sandbox!.startAgent(node.name);
  await waitFor(async () => sandbox!.agentRunning(node.name) && (await containersOf(hash!)).length === 1, {
    what: 'the restarted agent to keep the static pod running',
    timeoutMs: 60_000,
    intervalMs: 500,
  });
  t.deepEqual(
    (await containersOf(hash!)).map((c) => `containerd://${c.id}`),
    [containerId],
  );

  // the file is edited: a new pod (new UID) replaces the old one, and a new mirror the old mirror
  writeFileSync(`${file}.tmp`, manifest('sleep 3601'));
  renameSync(`${file}.tmp`, file);
  await waitFor(
    async () => {
      const pod = await running();
      return pod !== undefined && pod.metadata.annotations?.['kubernetes.io/config.mirror'] !== hash;
    },
    { what: 'the edited file to give a new static pod and mirror', timeoutMs: 90_000, intervalMs: 500 },
  );
  await waitFor(async () => (await containersOf(hash!)).length === 0, {
    what: 'the old static pod to stop',
    timeoutMs: 60_000,
    intervalMs: 500,
  });
  const edited = (await running())!;
  t.deepEqual(edited.spec.containers[0]?.command, ['sh', '-c', 'sleep 3601']);

  // the file is removed: the pod stops and its mirror goes
  const newHash = edited.metadata.annotations?.['kubernetes.io/config.mirror']!;
  unlinkSync(file);
  await waitFor(async () => (await mirror(podName)) === undefined && (await containersOf(newHash)).length === 0, {
    what: 'the removed file to stop the pod and delete its mirror',
    timeoutMs: 60_000,
    intervalMs: 500,
  });
  t.pass();
});

test.serial('static pods start while the API server is down; their mirrors appear once it is back', async (t) => {
  const node = sandbox!.nodes[0]!;
  const folder = join(node.stateDir, 'manifests');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, 'offline.yaml');
  const text = manifest('sleep 3602').replace('name: web', 'name: offline');
  // the UID the agent will give it: the same pure function, the same file, the same node
  const expected = staticPodFromManifest(text, file, node.name, new Date());
  if ('error' in expected) throw new Error(expected.error);
  const uid = expected.pod.metadata.uid!;

  await sandbox!.killServer();
  await sandbox!.killAgent(node.name);
  writeFileSync(file, text);
  await sandbox!.startAgent(node.name);
  const cri = new CriClient(node.criEndpoint);
  t.teardown(async () => {
    cri.close();
    await sandbox!.startServer();
  });
  await waitFor(
    async () =>
      (
        await cri.listContainers({
          labelSelector: { 'io.kubernetes.pod.uid': uid },
          state: { state: 'CONTAINER_RUNNING' },
        })
      ).length === 1,
    { what: 'the static pod to run on an agent whose API server is down', timeoutMs: 90_000, intervalMs: 500 },
  );
  await sandbox!.startServer();
  await waitFor(
    async () => (await mirror(`offline-${node.name}`))?.metadata.annotations?.['kubernetes.io/config.mirror'] === uid,
    { what: 'its mirror pod once the API server is back', timeoutMs: 120_000, intervalMs: 1000 },
  );
  unlinkSync(file);
  await waitFor(async () => (await mirror(`offline-${node.name}`)) === undefined, {
    what: 'the mirror gone with the file',
    timeoutMs: 60_000,
    intervalMs: 500,
  });
  t.pass();
});
