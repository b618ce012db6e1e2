/**
 * The scheduler and controllers against a real `bosun server` (in this process, on 127.0.0.1),
 * driven with real kubectl. No agents run: a fake kubelet marks bound pods Running and Ready (or
 * Succeeded) through the API, and two Node objects stand in for nodes.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { KubeClient } from '../../../kube/client.ts';
import type { Node } from '../../../kube/corev1.ts';
import {
  startControlLoopsWithKubeconfig,
  type RunningControlLoops,
} from '../../../controlplane/controllers/control-loops.ts';
import { KubeClusterClient } from '../../../controlplane/controllers/kube-cluster-client.ts';
import { waitFor } from '../../helpers/wait.ts';
import { startInProcess, type InProcessServer } from '../in-process.ts';
import { node } from '../scheduler/fixtures.ts';
import { startFakeKubelet, type FakeKubelet } from './fake-kubelet.ts';
import { kubectl as runKubectl } from '../../bed/kubectl.ts';

let server: InProcessServer | undefined;
let loops: RunningControlLoops | undefined;
let kubelet: FakeKubelet | undefined;
let client: KubeClient | undefined;
const dir = mkdtempSync(join(tmpdir(), `bosun-ctl-${process.pid}-`));

test.before(async () => {
  server = await startInProcess();
  client = new KubeClient(server.admin);
  const api = new KubeClusterClient(client);
  for (const name of ['node-a', 'node-b']) {
    const { status, ...rest } = node(name, { cpu: '4', memory: '8Gi' });
    const created = (await api.create('nodes', { ...rest, metadata: { name, labels: rest.metadata.labels } })) as Node;
    await api.updateStatus('nodes', { ...created, status });
  }
  kubelet = await startFakeKubelet(api);
  kubelet.outcomes.set('pi-', 'Succeeded');
  // The same entry point `bosun server` is meant to call: its admin.kubeconfig, over HTTPS.
  loops = await startControlLoopsWithKubeconfig(server.server.kubeconfigPath, { logger: pino({ level: 'silent' }) });
});

test.after.always(async () => {
  await loops?.stop();
  kubelet?.stop();
  client?.close();
  await server?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runKubectl({ kubeconfig: server!.server.kubeconfigPath, timeoutMs: 90_000 }, args);
}

async function ok(t: ExecutionContext, ...args: string[]): Promise<string> {
  const result = await kubectl(...args);
  t.is(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** apply → rollout status → set image → status → history shows 1 and 2 → undo → status. */
async function rolloutUpdateUndo(
  t: ExecutionContext,
  manifest: string,
  target: string,
  container: string,
  nextImage: string,
): Promise<void> {
  // Deployments and DaemonSets say "successfully rolled out"; StatefulSets, whose partition the API
  // defaults to 0 as upstream does, "partitioned roll out complete".
  const rolledOut = async () =>
    t.regex(
      await ok(t, 'rollout', 'status', target, '--timeout=60s'),
      /successfully rolled out|partitioned roll out complete/,
    );
  await ok(t, 'apply', '-f', manifest);
  await rolledOut();
  await ok(t, 'set', 'image', target, `${container}=${nextImage}`);
  await rolledOut();
  const history = await ok(t, 'rollout', 'history', target);
  t.regex(history, /^1\s/m);
  t.regex(history, /^2\s/m);
  await ok(t, 'rollout', 'undo', target);
  await rolledOut();
}

test.serial('a Deployment rolls out, updates and rolls back, as kubectl rollout sees it', async (t) => {
  const manifest = join(dir, 'web.yaml');
  writeFileSync(
    manifest,
    `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: "web:1", resources: {requests: {cpu: 100m}}}]
`,
  );
  await rolloutUpdateUndo(t, manifest, 'deployment/web', 'app', 'web:2');
  const images = await ok(
    t,
    'get',
    'pods',
    '-l',
    'app=web',
    '-o',
    'jsonpath={range .items[*]}{.spec.containers[0].image}{" "}{.metadata.deletionTimestamp}{"\\n"}{end}',
  );
  const live = images.split('\n').filter((line) => line.trim() !== '' && line.trim().split(' ').length === 1);
  t.deepEqual(
    live.map((l) => l.trim()),
    ['web:1', 'web:1', 'web:1'],
  );
  t.regex(await ok(t, 'rollout', 'history', 'deployment/web'), /^3\s/m);
  const ready = await ok(
    t,
    'get',
    'deployment',
    'web',
    '-o',
    'jsonpath={.status.readyReplicas}/{.status.updatedReplicas}/{.metadata.annotations.deployment\\.kubernetes\\.io/revision}',
  );
  t.is(ready, '3/3/3');
  // The scale subresource: the controller follows a new replica count.
  await ok(t, 'scale', 'deployment/web', '--replicas=5');
  t.regex(await ok(t, 'rollout', 'status', 'deployment/web', '--timeout=60s'), /successfully rolled out/);
  t.is(await ok(t, 'get', 'deployment', 'web', '-o', 'jsonpath={.status.availableReplicas}'), '5');
});

test.serial(
  'a DaemonSet rolls out on both nodes, updates and rolls back through its ControllerRevisions',
  async (t) => {
    const manifest = join(dir, 'agent.yaml');
    writeFileSync(
      manifest,
      `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: a, image: "agent:1"}]
`,
    );
    await rolloutUpdateUndo(t, manifest, 'daemonset/agent', 'a', 'agent:2');
    const images = await waitFor(
      async () => {
        const out = await ok(
          t,
          'get',
          'pods',
          '-l',
          'app=agent',
          '-o',
          'jsonpath={range .items[*]}{.spec.containers[0].image}{" "}{.spec.nodeName}{"\\n"}{end}',
        );
        const lines = out.trim().split('\n').sort();
        return lines.length === 2 && lines.every((l) => l.startsWith('agent:1 ')) ? lines : undefined;
      },
      { what: 'one agent:1 pod on each node after the undo', timeoutMs: 30_000, intervalMs: 200 },
    );
    t.deepEqual(images, ['agent:1 node-a', 'agent:1 node-b']);
  },
);

test.serial('a StatefulSet rolls out and updates in order, as kubectl rollout status reports it', async (t) => {
  const manifest = join(dir, 'db.yaml');
  writeFileSync(
    manifest,
    `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: default}
spec:
  replicas: 2
  serviceName: db
  # Named explicitly: bosun server does not default it yet, and kubectl rollout status needs it.
  updateStrategy: {type: RollingUpdate}
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: "db:1"}]
`,
  );
  await rolloutUpdateUndo(t, manifest, 'statefulset/db', 'db', 'db:2');
  const pods = await ok(
    t,
    'get',
    'pods',
    '-l',
    'app=db',
    '-o',
    'jsonpath={range .items[*]}{.metadata.name}={.spec.containers[0].image}/{.spec.hostname}.{.spec.subdomain} {end}',
  );
  t.deepEqual(pods.trim().split(' ').sort(), ['db-0=db:1/db-0.db', 'db-1=db:1/db-1.db']);
});

test.serial('a Job completes and kubectl wait sees it', async (t) => {
  await ok(t, 'create', 'job', 'pi', '--image=busybox');
  await ok(t, 'wait', '--for=condition=complete', 'job/pi', '--timeout=60s');
  t.is(await ok(t, 'get', 'job', 'pi', '-o', 'jsonpath={.status.succeeded}'), '1');
});

test.serial('kubectl describe shows why a pod cannot be scheduled', async (t) => {
  const manifest = join(dir, 'huge.yaml');
  writeFileSync(
    manifest,
    `apiVersion: v1\nkind: Pod\nmetadata: {name: huge, namespace: default}\nspec:\n  containers: [{name: a, image: x, resources: {requests: {cpu: "64"}}}]\n`,
  );
  await ok(t, 'apply', '-f', manifest);
  const described = await waitFor(
    async () => {
      const text = (await kubectl('describe', 'pod', 'huge')).stdout;
      return /FailedScheduling/.test(text) ? text : undefined;
    },
    { what: 'a FailedScheduling event in kubectl describe pod huge', timeoutMs: 30_000, intervalMs: 200 },
  );
  t.regex(
    described,
    /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/2 nodes are available: 2 Insufficient cpu\./,
  );
  t.regex(
    await ok(t, 'get', 'pod', 'huge', '-o', 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].reason}'),
    /^Unschedulable$/,
  );
});
