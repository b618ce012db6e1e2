/**
 * The scheduler and controllers with real nodes: `bosun server`, two sandbox nodes each with its
 * own containerd and `bosun agent`, the control loops run by the server itself, and real kubectl. A Deployment spreads over both nodes, Jobs
 * complete or stop at their backoff limit, a DaemonSet covers every node (also one that joins
 * later), a StatefulSet comes up in order, and when one node's agent is killed the node goes
 * Unknown after the (shortened) grace period and its pod comes back on the other node.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bedImages } from '../../bed/index.ts';
import { waitFor } from '../../helpers/wait.ts';
import { useSandboxCluster } from '../../helpers/sandbox-cluster.ts';

// bosun server runs the scheduler and controllers itself. Grace shortened from 50 s / 5 s so the
// node failure shows within the test's time, yet longer than the agents' 10 s lease renewal so
// that healthy nodes never look silent.
const cluster = useSandboxCluster({
  idPrefix: 'bsc',
  nodes: 2,
  serverArgs: ['--node-monitor-grace-period', '15s', '--node-monitor-period', '1s'],
  kubectlTimeoutMs: 150_000,
});
const kubectl = cluster.kubectl;

async function apply(name: string, manifest: string): Promise<void> {
  const file = join(cluster.sandbox().stateDir, `${name}.yaml`);
  writeFileSync(file, manifest);
  await kubectl('apply', '-f', file);
}

const sleeper = 'trap "exit 0" TERM; while true; do sleep 0.2; done';

test.serial('a Deployment rolls out over both nodes', async (t) => {
  await waitFor(
    async () =>
      (await kubectl('get', 'nodes', '--no-headers')).split('\n').filter((l) => / Ready /.test(l)).length === 2,
    {
      what: 'both nodes Ready',
      timeoutMs: 60_000,
      intervalMs: 500,
    },
  );
  await apply(
    'web',
    `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      tolerations: [{key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}]
      containers:
      - name: app
        image: ${bedImages.busybox}
        command: [sh, -c, '${sleeper}']
        readinessProbe: {exec: {command: ['true']}, periodSeconds: 1}
`,
  );
  t.regex(await kubectl('rollout', 'status', 'deployment/web', '--timeout=120s'), /successfully rolled out/);
  const nodes = (
    await kubectl('get', 'pods', '-l', 'app=web', '-o', 'jsonpath={range .items[*]}{.spec.nodeName}{"\\n"}{end}')
  )
    .trim()
    .split('\n')
    .sort();
  t.deepEqual(nodes, ['node-1', 'node-2'], 'one replica per node: the scheduler spreads pods of one owner');
});

test.serial('the Deployment is updated (a new ReplicaSet, the old one scaled down) and rolled back', async (t) => {
  const replicaSets = async () =>
    (
      await kubectl(
        'get',
        'replicasets',
        '-l',
        'app=web',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name}={.spec.replicas} {end}',
      )
    )
      .trim()
      .split(' ')
      .sort();
  const [original] = await replicaSets();
  await kubectl('set', 'env', 'deployment/web', 'MARK=2');
  t.regex(await kubectl('rollout', 'status', 'deployment/web', '--timeout=120s'), /successfully rolled out/);
  const updated = await replicaSets();
  t.is(updated.length, 2, `a second ReplicaSet for the new template: ${updated.join(' ')}`);
  t.true(updated.includes(`${original!.split('=')[0]}=0`), `the old ReplicaSet scaled to 0: ${updated.join(' ')}`);
  await kubectl('rollout', 'undo', 'deployment/web');
  t.regex(await kubectl('rollout', 'status', 'deployment/web', '--timeout=120s'), /successfully rolled out/);
  const after = await replicaSets();
  t.true(
    after.includes(`${original!.split('=')[0]}=2`),
    `rolled back: the first ReplicaSet runs the replicas again (${original} before, now ${after.join(' ')})`,
  );
  t.regex(await kubectl('rollout', 'history', 'deployment/web'), /REVISION/);
});

test.serial('a CronJob fires on its schedule and its Job completes on a real node', async (t) => {
  await kubectl(
    'create',
    'cronjob',
    'tick',
    `--image=${bedImages.busybox}`,
    '--schedule=*/1 * * * *',
    '--',
    'sh',
    '-c',
    'exit 0',
  );
  // the next minute boundary, then the Job's pod on a node
  const job = await waitFor(
    async () => {
      const rows = (
        await kubectl(
          'get',
          'jobs',
          '-o',
          'jsonpath={range .items[*]}{.metadata.name} {.metadata.ownerReferences[0].name} {.status.succeeded}{"\\n"}{end}',
        )
      )
        .trim()
        .split('\n');
      return rows.map((r) => r.split(' ')).find(([, owner, succeeded]) => owner === 'tick' && succeeded === '1')?.[0];
    },
    { what: 'a Job of CronJob tick that succeeded', timeoutMs: 150_000, intervalMs: 1_000 },
  );
  t.regex(job, /^tick-\d+$/);
  t.regex(await kubectl('get', 'cronjob', 'tick', '-o', 'jsonpath={.status.lastSuccessfulTime}'), /^\d{4}-/);
  await kubectl('delete', 'cronjob', 'tick');
});

test.serial('a Job completes, and a failing one stops at its backoff limit', async (t) => {
  await kubectl('create', 'job', 'ok', `--image=${bedImages.busybox}`, '--', 'sh', '-c', 'exit 0');
  await kubectl('wait', '--for=condition=complete', 'job/ok', '--timeout=120s');
  await apply(
    'fails',
    `apiVersion: batch/v1
kind: Job
metadata: {name: fails, namespace: default}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: ${bedImages.busybox}, command: [sh, -c, 'exit 3']}]
`,
  );
  await kubectl('wait', '--for=condition=failed', 'job/fails', '--timeout=120s');
  t.regex(
    await kubectl(
      'get',
      'job',
      'fails',
      '-o',
      'jsonpath={.status.failed}/{.status.conditions[?(@.type=="Failed")].reason}',
    ),
    /^2\/BackoffLimitExceeded$/,
  );
});

test.serial('a DaemonSet runs on every node and a StatefulSet comes up in ordinal order', async (t) => {
  const podSpec = (app: string) => `
    metadata: {labels: {app: ${app}}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: app
        image: ${bedImages.busybox}
        command: [sh, -c, '${sleeper}']
        readinessProbe: {exec: {command: ['true']}, periodSeconds: 1}
`;
  await apply(
    'daemon',
    `apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: daemon, namespace: default}\nspec:\n  selector: {matchLabels: {app: daemon}}\n  template:${podSpec('daemon')}`,
  );
  await apply(
    'db',
    `apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: default}\nspec:\n  replicas: 3\n  serviceName: db\n  updateStrategy: {type: RollingUpdate}\n  selector: {matchLabels: {app: db}}\n  template:${podSpec('db')}`,
  );
  t.regex(await kubectl('rollout', 'status', 'daemonset/daemon', '--timeout=120s'), /successfully rolled out/);
  t.regex(
    await kubectl('rollout', 'status', 'statefulset/db', '--timeout=120s'),
    /rolling update complete|partitioned roll out complete/,
  );
  const daemons = (
    await kubectl('get', 'pods', '-l', 'app=daemon', '-o', 'jsonpath={range .items[*]}{.spec.nodeName}{"\\n"}{end}')
  )
    .trim()
    .split('\n')
    .sort();
  t.deepEqual(daemons, ['node-1', 'node-2']);
  // Each ordinal started only after the one before it was Ready: creation times are in order and
  // each pod was created after its predecessor's Ready transition.
  const rows = (
    await kubectl(
      'get',
      'pods',
      '-l',
      'app=db',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name} {.metadata.creationTimestamp} {.status.conditions[?(@.type=="Ready")].lastTransitionTime}{"\\n"}{end}',
    )
  )
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  t.deepEqual(
    rows.map((r) => r[0]),
    ['db-0', 'db-1', 'db-2'],
  );
  for (let i = 1; i < rows.length; i++)
    t.true(
      rows[i]![1]! >= rows[i - 1]![2]!,
      `${rows[i]![0]} created at ${rows[i]![1]}, after ${rows[i - 1]![0]} was Ready at ${rows[i - 1]![2]}`,
    );
});

test.serial('a node whose agent is killed goes Unknown, and its pod comes back on the other node', async (t) => {
  const notReady = (
    await kubectl(
      'get',
      'nodes',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}',
    )
  ).trim();
  t.is(notReady, 'node-1=True node-2=True', 'both nodes Ready before the kill');
  const victim = (await kubectl('get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].spec.nodeName}')).trim();
  const survivor = victim === 'node-1' ? 'node-2' : 'node-1';
  await cluster.agent(victim).kill();
  await waitFor(
    async () =>
      (
        await kubectl('get', 'node', victim, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')
      ).trim() === 'Unknown',
    {
      what: `${victim} Ready=Unknown after its agent was killed`,
      timeoutMs: 60_000,
      intervalMs: 1000,
    },
  );
  const taints = await waitFor(
    async () => {
      const text = await kubectl(
        'get',
        'node',
        victim,
        '-o',
        'jsonpath={range .spec.taints[*]}{.key}:{.effect}{"\\n"}{end}',
      );
      return /node\.kubernetes\.io\/unreachable:NoExecute/.test(text) ? text : undefined;
    },
    { what: `the unreachable NoExecute taint on ${victim}`, timeoutMs: 15_000, intervalMs: 500 },
  );
  t.regex(taints, /node\.kubernetes\.io\/unreachable:NoSchedule/);
  await waitFor(
    async () => {
      const rows = (
        await kubectl(
          'get',
          'pods',
          '-l',
          'app=web',
          '-o',
          'jsonpath={range .items[*]}{.spec.nodeName} {.status.phase} {.metadata.deletionTimestamp}{"\\n"}{end}',
        )
      )
        .trim()
        .split('\n');
      return rows.filter((r) => r.trim() === `${survivor} Running`).length === 2;
    },
    { what: `both web replicas Running on ${survivor}`, timeoutMs: 120_000, intervalMs: 1000 },
  );
  // A pod that fits nowhere names the tainted node in kube-scheduler's words.
  await apply(
    'huge',
    `apiVersion: v1\nkind: Pod\nmetadata: {name: huge, namespace: default}\nspec:\n  containers: [{name: a, image: ${bedImages.busybox}, resources: {requests: {cpu: "500"}}}]\n`,
  );
  const described = await waitFor(
    async () => {
      const text = await kubectl('describe', 'pod', 'huge');
      return /FailedScheduling/.test(text) ? text : undefined;
    },
    { what: 'FailedScheduling on pod huge', timeoutMs: 30_000, intervalMs: 500 },
  );
  t.regex(
    described,
    /0\/2 nodes are available: 1 Insufficient cpu, 1 node\(s\) had untolerated taint \{node\.kubernetes\.io\/unreachable: \}\./,
  );
});

test.serial('a node that joins later gets the DaemonSet pod', async (t) => {
  const { node } = await cluster.addNode();
  const where = await waitFor(
    async () => {
      const rows = (
        await kubectl(
          'get',
          'pods',
          '-l',
          'app=daemon',
          '-o',
          'jsonpath={range .items[*]}{.spec.nodeName}={.status.phase}{"\\n"}{end}',
        )
      )
        .trim()
        .split('\n');
      return rows.includes(`${node.name}=Running`) ? rows : undefined;
    },
    { what: `a daemon pod Running on the new ${node.name}`, timeoutMs: 90_000, intervalMs: 1000 },
  );
  t.is(where.filter((r) => r.startsWith(`${node.name}=`)).length, 1);
});
