/**
 * A HorizontalPodAutoscaler on a real sandbox node: `kubectl autoscale` (the machine's kubectl and
 * the newest installed release) aims a Deployment at 50 % of its pods' CPU request; a bounded
 * busybox busy loop in its one pod (100m requested, 100m limit) drives the pod to about 100 %,
 * the resource metrics API (bosun server scraping the agent's /metrics/resource) reports it and
 * the controller scales the Deployment up; when the loop stops, it scales back down after the
 * stabilization window. Windows are shortened for the test: metrics every 10 s (the least
 * metrics-server takes), an autoscaler pass every 2 s, a 20 s scale-down window. Then every
 * installed kubectl (1.27 ... 1.35) autoscales a Deployment of its own and prints the autoscaler
 * with the CPU utilization the controller read from the real node.
 */
import test from 'ava';
import type { Sandbox } from '../../sandbox/sandbox.ts';
import { sandboxImages } from '../../sandbox/names.ts';
import { waitFor } from '../helpers/wait.ts';
import { installedKubectlReleases } from '../controlplane/kubectl-releases.ts';
import { kubectlOk } from '../bed/kubectl.ts';
import { createTestSandbox } from '../bed/index.ts';

const releases = installedKubectlReleases();
const newest = releases.at(-1);

let sandbox: Sandbox | undefined;
let kubeconfig = '';

const kubectl = (args: string[], input?: string, binary?: string) =>
  kubectlOk({ kubeconfig, binary, input, timeoutMs: 90_000 }, args);

test.before(async () => {
  sandbox = await createTestSandbox('bhp', 1);
  kubeconfig = (
    await sandbox.startControlPlane([
      '--metric-resolution=10s',
      '--horizontal-pod-autoscaler-sync-period=2s',
      '--horizontal-pod-autoscaler-downscale-stabilization=20s',
    ])
  ).kubeconfig;
  await sandbox.joinAgents();
  await waitFor(async () => / Ready /.test(await kubectl(['get', 'node', 'node-1', '--no-headers'])), {
    what: 'node-1 Ready',
    timeoutMs: 90_000,
    intervalMs: 500,
  });
});

test.after.always(async () => {
  await sandbox?.destroy();
});

/**
 * The pod's container burns CPU while /tmp/burn holds a time still to come (the test writes it
 * with `kubectl exec`; it ends by itself then, or when the test removes the file), else idles.
 */
const burner = [
  'while :; do',
  '  end=$(cat /tmp/burn 2>/dev/null || echo 0)',
  '  if [ $(date +%s) -lt $end ]; then i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; else sleep 1; fi',
  'done',
].join('\n');

const deployment = (name: string, command: readonly string[] = ['sh', '-c', burner]) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: ${sandboxImages.busybox}
        command: ${JSON.stringify(command)}
        resources:
          requests: {cpu: 100m}
          limits: {cpu: 100m}
`;

interface HpaView {
  status?: {
    currentReplicas?: number;
    desiredReplicas?: number;
    currentMetrics?: { resource?: { current?: { averageUtilization?: number } } }[];
    conditions?: { type: string; status: string; reason: string }[];
  };
}

async function hpa(name: string): Promise<HpaView> {
  return JSON.parse(await kubectl(['get', 'hpa', name, '-o', 'json'])) as HpaView;
}

/** What the autoscaler saw, for the log of a failed wait. */
async function diagnose(t: { log(...values: unknown[]): void }, name: string): Promise<void> {
  for (const args of [
    ['get', 'hpa', name, '-o', 'yaml'],
    ['get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods'],
    ['get', 'pods', '-o', 'wide'],
  ])
    t.log(await kubectl(args).catch((err: Error) => err.message));
}

async function replicas(name: string): Promise<number> {
  return Number(await kubectl(['get', 'deployment', name, '-o', 'jsonpath={.spec.replicas}']));
}

test.serial('CPU load in a pod scales its Deployment up, and the end of the load scales it back down', async (t) => {
  t.timeout(480_000, 'metrics every 10 s, a scale up, the load stopped, a 20 s window, a scale down');
  const name = 'burn';
  await kubectl(['apply', '-f', '-'], deployment(name));
  await waitFor(
    async () => (await kubectl(['get', 'deployment', name, '-o', 'jsonpath={.status.readyReplicas}'])) === '1',
    {
      what: 'the deployment ready',
      timeoutMs: 90_000,
      intervalMs: 500,
    },
  );
  const autoscaled = await kubectl(['autoscale', 'deployment', name, '--min=1', '--max=3', '--cpu-percent=50']);
  t.regex(autoscaled, /horizontalpodautoscaler.autoscaling\/burn autoscaled/);
  // idle first: the metric shows up as a low utilization and nothing scales
  await waitFor(
    async () => (await hpa(name)).status?.currentMetrics?.[0]?.resource?.current?.averageUtilization !== undefined,
    {
      what: 'a CPU utilization from the metrics API',
      timeoutMs: 90_000,
      intervalMs: 1000,
    },
  );
  t.is(await replicas(name), 1);
  const pod = (await kubectl(['get', 'pods', '-l', `app=${name}`, '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  // load for at most 4 minutes, in this pod only (pods added by the scale-up stay idle)
  await kubectl(['exec', pod, '--', 'sh', '-c', 'echo $(($(date +%s)+240)) > /tmp/burn']);
  const started = Date.now();
  await waitFor(async () => (await replicas(name)) >= 2, {
    what: 'the deployment scaled up by the autoscaler',
    timeoutMs: 150_000,
    intervalMs: 1000,
  }).catch(async (err: unknown) => {
    await diagnose(t, name);
    throw err;
  });
  t.log(`scaled up ${Math.round((Date.now() - started) / 1000)} s after the load began`);
  const up = await hpa(name);
  t.true((up.status?.desiredReplicas ?? 0) >= 2);
  const events = await kubectl([
    'get',
    'events',
    '--field-selector',
    `involvedObject.name=${name},reason=SuccessfulRescale`,
  ]);
  t.regex(events, /New size: [23]; reason: cpu resource utilization \(percentage of request\) above target/);
  if (newest !== undefined) {
    const table = await kubectl(['get', 'hpa', name], undefined, newest.binary);
    t.regex(table, /burn\s+Deployment\/burn\s+cpu: \d+%\/50%\s+1\s+3\s+[123]\s/);
  }
  await kubectl(['exec', pod, '--', 'rm', '/tmp/burn']);
  const stopped = Date.now();
  // a new pod counts as missing until it has two scrapes; on a busy machine that takes a while
  await waitFor(async () => (await replicas(name)) === 1, {
    what: 'the deployment scaled back down once the load stopped',
    timeoutMs: 240_000,
    intervalMs: 1000,
  }).catch(async (err: unknown) => {
    await diagnose(t, name);
    throw err;
  });
  t.log(`scaled down ${Math.round((Date.now() - stopped) / 1000)} s after the load stopped (window 20 s)`);
  t.true(Date.now() - stopped >= 20_000, 'not before the scale-down stabilization window');
  const down = await kubectl([
    'get',
    'events',
    '--field-selector',
    `involvedObject.name=${name},reason=SuccessfulRescale`,
  ]);
  t.regex(down, /New size: 1; reason: All metrics below target/);
});

test.serial('kubectl autoscale of every release creates an autoscaler that reads real metrics', async (t) => {
  t.timeout(300_000, 'a Deployment and an autoscaler per kubectl release, metrics every 10 s');
  for (const { release, binary } of releases) {
    const name = `idle-${release.replace('.', '')}`;
    await kubectl(['apply', '-f', '-'], deployment(name, ['sleep', '3600']), binary);
    // 1.34 renamed --cpu-percent to --cpu (a percentage or a quantity)
    const target = Number(release.split('.')[1]) >= 34 ? '--cpu=50%' : '--cpu-percent=50';
    const created = await kubectl(['autoscale', 'deployment', name, '--min=1', '--max=2', target], undefined, binary);
    t.regex(created, new RegExp(`horizontalpodautoscaler.autoscaling/${name} autoscaled`), release);
  }
  for (const { release, binary } of releases) {
    const name = `idle-${release.replace('.', '')}`;
    await waitFor(
      async () => (await hpa(name)).status?.currentMetrics?.[0]?.resource?.current?.averageUtilization !== undefined,
      {
        what: `${name}: a CPU utilization from the metrics API`,
        timeoutMs: 120_000,
        intervalMs: 1000,
      },
    );
    const table = await kubectl(['get', 'hpa', name], undefined, binary);
    t.regex(table, new RegExp(`${name}\\s+Deployment/${name}\\s+cpu: \\d+%/50%\\s+1\\s+2\\s+1\\s`), release);
    await kubectl(['delete', 'hpa', name], undefined, binary);
    await kubectl(['delete', 'deployment', name], undefined, binary);
  }
});
