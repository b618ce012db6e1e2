/**
 * `kubectl drain` against a PodDisruptionBudget, with the machine's kubectl, 1.27 and 1.35: the
 * budget blocks (drain gets 429 and retries every 5 s as upstream's drain does, the pods stay), then
 * allows once the Deployment is scaled up, and drain completes. The bed's nodes are API objects and
 * a fake kubelet makes bound pods Running and Ready and confirms deletions, which is all the budget
 * arithmetic and the eviction path read; no container runs.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { useKubectlBed } from './kubectl-bed.ts';
import { installedKubectlReleases } from './kubectl-releases.ts';
import { waitFor } from './ports.ts';

const bed = useKubectlBed();
const releases = [{ release: 'machine', binary: 'kubectl' }, ...installedKubectlReleases(['1.27', '1.35'])];

interface PodView {
  name: string;
  node: string;
  ready: boolean;
}

async function podsIn(ns: string): Promise<PodView[]> {
  const list = await bed.client.list<{
    metadata: { name?: string; deletionTimestamp?: string };
    spec: { nodeName?: string };
    status?: { conditions?: { type: string; status: string }[] };
  }>({ group: '', version: 'v1', resource: 'pods', namespaced: true }, { namespace: ns });
  return list.items
    .filter((p) => p.metadata.deletionTimestamp === undefined)
    .map((p) => ({
      name: p.metadata.name ?? '',
      node: p.spec.nodeName ?? '',
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    }));
}

const manifest = (ns: string) => `apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: guarded, namespace: ${ns}}
spec:
  replicas: 2
  selector: {matchLabels: {app: guarded}}
  template:
    metadata: {labels: {app: guarded}}
    spec:
      containers: [{name: main, image: busybox}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: guarded, namespace: ${ns}}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: guarded}}
`;

test.serial('kubectl drain waits while a budget blocks, and completes once it allows', async (t) => {
  t.timeout(240_000);
  for (const { release, binary } of releases) {
    const ns = `drain-${release.replace('.', '-')}`;
    // both pods on node-a: node-b takes nothing while they are placed
    await bed.ok(t, 'cordon', 'node-b');
    await bed.ok(t, 'apply', '-f', bed.file(`${ns}.yaml`, manifest(ns)));
    await waitFor(`${ns}: two ready pods on node-a`, async () => {
      const pods = await podsIn(ns);
      return pods.length === 2 && pods.every((p) => p.node === 'node-a' && p.ready);
    });
    await waitFor(`${ns}: the budget judged`, async () => {
      const out = await bed.kubectl(['get', 'pdb', 'guarded', '-n', ns, '-o', 'jsonpath={.status.expectedPods}']);
      return out.stdout === '2';
    });
    await bed.ok(t, 'uncordon', 'node-b');

    const started = Date.now();
    const drain = spawn(binary, ['drain', 'node-a', '--ignore-daemonsets', '--timeout=120s'], {
      env: { ...process.env, KUBECONFIG: bed.server.server.kubeconfigPath },
    });
    let stderr = '';
    let stdout = '';
    drain.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    drain.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number>((resolve) => drain.on('close', (code) => resolve(code ?? -1)));
    try {
      await waitFor(`${release}: drain told about the budget`, () =>
        stderr.includes("Cannot evict pod as it would violate the pod's disruption budget."),
      );
      // blocked: both pods still on node-a, drain still running
      t.deepEqual(
        (await podsIn(ns)).map((p) => p.node),
        ['node-a', 'node-a'],
        release,
      );
      t.is(drain.exitCode, null, `${release}: drain is still waiting`);
      t.regex(stderr, /will retry after 5s/, release);

      // room for one disruption at a time: a third pod lands on node-b
      await bed.ok(t, 'scale', 'deployment/guarded', '-n', ns, '--replicas=3');
      const code = await exited;
      // a drain that failed says why only through the cluster's state: the nodes, the pods, the budget
      const state =
        code === 0
          ? ''
          : (await bed.kubectl(['get', 'nodes,pods,pdb', '-n', ns, '-o', 'wide'])).stdout +
            (await bed.kubectl(['get', 'pdb', 'guarded', '-n', ns, '-o', 'jsonpath={.status}'])).stdout;
      t.is(code, 0, `${release} drain: ${stderr}\n${state}`);
      t.regex(stdout, /node\/node-a drained/, release);
      const pods = await podsIn(ns);
      t.false(
        pods.some((p) => p.node === 'node-a'),
        `${release}: nothing of ${ns} left on node-a`,
      );
      t.log(`kubectl ${release}: drain blocked, then completed in ${Date.now() - started} ms`);
    } finally {
      drain.kill();
      await bed.kubectl(['uncordon', 'node-a']);
    }
  }
});
