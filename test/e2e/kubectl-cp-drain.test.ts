/**
 * `kubectl cp` and `kubectl drain` with every kubectl release (1.27 ... 1.35) against one real
 * sandbox node joined through `bosun join`. `cp` runs `tar` in the container through exec, in both
 * directions; `drain` cordons the node, evicts a Deployment's pod through pods/eviction (its
 * emptyDir needs --delete-emptydir-data, the DaemonSet's pod is left alone with
 * --ignore-daemonsets), and with one node the replacement stays Pending until `uncordon`; the
 * same drain with --dry-run=server first changes nothing.
 * A release that is not installed is reported as a visible skip line.
 */
import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox } from '../../sandbox/sandbox.ts';
import { sandboxImages } from '../../sandbox/names.ts';
import { waitFor } from '../helpers/wait.ts';
import { installedKubectlReleases } from '../controlplane/kubectl-releases.ts';
import { kubectl as runKubectl, kubectlOk } from '../bed/kubectl.ts';
import { createTestSandbox } from '../bed/index.ts';

const releases = installedKubectlReleases();

let sandbox: Sandbox | undefined;
let kubeconfig = '';

const kubectlWith = (binary: string, args: string[], timeoutMs = 90_000) =>
  runKubectl({ kubeconfig, binary, timeoutMs }, args);

function kubectl(...args: string[]): Promise<string> {
  return kubectlOk({ kubeconfig, timeoutMs: 90_000 }, args);
}

/** A controller's pod template: busybox sleeping, labelled `app: <app>`, stopped within a second. */
const sleeper = (app: string, volumes = '') => `
  selector: {matchLabels: {app: ${app}}}
  template:
    metadata: {labels: {app: ${app}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: ${sandboxImages.busybox}
        command: ["sleep", "3600"]${volumes}`;

const workloads = `apiVersion: v1
kind: Pod
metadata: {name: files, namespace: default}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${sandboxImages.busybox}
    command: ["sh", "-c", "mkdir -p /out/sub && echo from the pod > /out/sub/made.txt && exec sleep 3600"]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: drained, namespace: default}
spec:
  replicas: 1${sleeper(
    'drained',
    `
        volumeMounts: [{name: scratch, mountPath: /scratch}]
      volumes: [{name: scratch, emptyDir: {}}]`,
  )}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: per-node, namespace: default}
spec:${sleeper('per-node')}
`;

interface PodSummary {
  name: string;
  node: string;
  phase: string;
  deleting: boolean;
}

async function podsOf(app: string): Promise<PodSummary[]> {
  const list = JSON.parse(await kubectl('get', 'pods', '-l', `app=${app}`, '-o', 'json')) as {
    items: {
      metadata: { name: string; deletionTimestamp?: string };
      spec: { nodeName?: string };
      status: { phase?: string };
    }[];
  };
  return list.items.map((p) => ({
    name: p.metadata.name,
    node: p.spec.nodeName ?? '',
    phase: p.status.phase ?? '',
    deleting: p.metadata.deletionTimestamp !== undefined,
  }));
}

async function runningOn(app: string, node: string): Promise<PodSummary | false> {
  const pods = await podsOf(app);
  return pods.length === 1 && pods[0]!.node === node && pods[0]!.phase === 'Running' && !pods[0]!.deleting
    ? pods[0]!
    : false;
}

/** The pod's phase, conditions and events and the node's schedulability, for a failure message. */
async function whereItStands(pod: string): Promise<string> {
  const ask = async (...args: string[]) => {
    const result = await kubectlWith('kubectl', args);
    return (result.code === 0 ? result.stdout : result.stderr).trim().replace(/\s+/g, ' ');
  };
  return [
    `pods: ${await ask('get', 'pods', '-l', 'app=drained', '-o', 'wide', '--no-headers')}`,
    `conditions: ${await ask('get', 'pod', pod, '-o', 'jsonpath={.status.conditions}')}`,
    `node spec: ${await ask('get', 'node', 'node-1', '-o', 'jsonpath={.spec}')}`,
    `events: ${await ask('get', 'events', '--field-selector', `involvedObject.name=${pod}`, '--no-headers')}`,
  ].join('; ');
}

test.before(async () => {
  sandbox = await createTestSandbox('bcd', 1);
  kubeconfig = (await sandbox.startControlPlane()).kubeconfig;
  await sandbox.joinAgents();
  await waitFor(
    async () => / Ready /.test((await kubectlWith('kubectl', ['get', 'node', 'node-1', '--no-headers'])).stdout),
    { what: 'node-1 Ready', timeoutMs: 90_000, intervalMs: 500 },
  );
  const file = join(sandbox.stateDir, 'workloads.yaml');
  writeFileSync(file, workloads);
  await kubectl('apply', '-f', file);
  // exec needs the node's serving certificate, which comes through a CSR in the background
  await waitFor(
    async () => (await kubectlWith('kubectl', ['exec', 'files', '--', 'cat', '/out/sub/made.txt'])).code === 0,
    { what: 'kubectl exec into pod files', timeoutMs: 90_000, intervalMs: 500 },
  );
});

test.after.always(async () => {
  await sandbox?.destroy();
});

test.serial('kubectl cp copies a file into the pod and a folder out of it, with every release', async (t) => {
  const local = join(sandbox!.stateDir, 'cp');
  mkdirSync(local, { recursive: true });
  for (const { release, binary } of releases) {
    const tag = release.replace('.', '-');
    const upload = join(local, `up-${tag}.txt`);
    writeFileSync(upload, `sent by kubectl ${release}\n`);
    const into = await kubectlWith(binary, ['cp', upload, `default/files:/tmp/up-${tag}.txt`]);
    t.is(into.code, 0, `${release} cp into the pod: ${into.stderr}`);
    t.is(await kubectl('exec', 'files', '--', 'cat', `/tmp/up-${tag}.txt`), `sent by kubectl ${release}\n`, release);

    const download = join(local, `down-${tag}`);
    const out = await kubectlWith(binary, ['cp', 'default/files:/out', download]);
    t.is(out.code, 0, `${release} cp out of the pod: ${out.stderr}`);
    t.is(readFileSync(join(download, 'sub', 'made.txt'), 'utf8'), 'from the pod\n', release);
  }
});

test.serial(
  'kubectl drain evicts the Deployment pod, leaves the DaemonSet pod, and uncordon lets it back, with every release',
  async (t) => {
    // drain refuses a pod no controller owns (without --force): the cp test's pod goes first
    await kubectl('delete', 'pod', 'files', '--now');
    for (const { release, binary } of releases) {
      const before = await waitFor(() => runningOn('drained', 'node-1'), {
        what: `the Deployment pod Running on node-1 before drain with ${release}`,
        timeoutMs: 60_000,
        intervalMs: 300,
      });
      const daemon = await waitFor(() => runningOn('per-node', 'node-1'), {
        what: 'the DaemonSet pod Running on node-1',
        timeoutMs: 60_000,
        intervalMs: 300,
      });

      // a server-side dry run cordons nothing and evicts nothing
      const rehearsed = await kubectlWith(binary, [
        'drain',
        'node-1',
        '--ignore-daemonsets',
        '--delete-emptydir-data',
        '--dry-run=server',
      ]);
      t.is(rehearsed.code, 0, `${release} drain --dry-run=server: ${rehearsed.stderr}`);
      t.regex(rehearsed.stdout, /\(server dry run\)/, `${release}: ${rehearsed.stdout}`);
      t.is(
        await kubectl('get', 'node', 'node-1', '-o', 'jsonpath={.spec.unschedulable}'),
        '',
        `${release} dry run left the node schedulable`,
      );
      t.deepEqual(await runningOn('drained', 'node-1'), before, `${release} dry run left the pod running`);

      const drained = await kubectlWith(binary, [
        'drain',
        'node-1',
        '--ignore-daemonsets',
        '--delete-emptydir-data',
        '--timeout=60s',
      ]);
      t.is(drained.code, 0, `${release} drain: ${drained.stderr}`);
      t.regex(drained.stdout, new RegExp(`pod/${before.name} evicted`), `${release}: ${drained.stdout}`);
      t.regex(drained.stdout, /node\/node-1 drained/, release);
      t.is(
        await kubectl('get', 'node', 'node-1', '-o', 'jsonpath={.spec.unschedulable}'),
        'true',
        `${release} cordoned`,
      );
      // one node: the replacement waits unscheduled; the DaemonSet pod stayed where it was
      const replacement = await waitFor(
        async () => {
          const pods = await podsOf('drained');
          return pods.length === 1 && pods[0]!.name !== before.name && pods[0]!.node === '' ? pods[0]! : false;
        },
        { what: `a Pending replacement after drain with ${release}`, timeoutMs: 30_000, intervalMs: 300 },
      );
      t.is(replacement.phase, 'Pending', release);
      t.deepEqual(await runningOn('per-node', 'node-1'), daemon, `${release} left the DaemonSet pod`);

      const uncordoned = await kubectlWith(binary, ['uncordon', 'node-1']);
      t.is(uncordoned.code, 0, `${release} uncordon: ${uncordoned.stderr}`);
      t.is(await kubectl('get', 'node', 'node-1', '-o', 'jsonpath={.spec.unschedulable}'), '', `${release} uncordoned`);
      await waitFor(
        async () => {
          const running = await runningOn('drained', 'node-1');
          return running !== false && running.name === replacement.name;
        },
        {
          what: `the replacement Running on node-1 after uncordon with ${release}`,
          timeoutMs: 60_000,
          intervalMs: 300,
        },
      ).catch(async (err: unknown) => {
        // say where it stopped: not scheduled (and why), or scheduled and not started
        throw new Error(`${(err as Error).message}; ${await whereItStands(replacement.name)}`);
      });
    }
  },
);
