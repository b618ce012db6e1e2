/**
 * A three-node sandbox as a user drives it: `bosun sandbox up --nodes 3` → three Ready nodes in
 * kubectl → a Deployment (one busybox httpd per node) behind a ClusterIP Service, fetched from a
 * pod on node-1, answers from the backends on the other nodes too → the agent of node-2 killed:
 * node-2 goes Unknown after the (shortened) node-monitor grace → started again: Ready.
 * Service traffic stays inside the sandbox: every node routes the service CIDR into its sink.
 */
import test from 'ava';
import { join } from 'node:path';
import { run } from '../helpers/run.ts';
import { waitFor } from '../helpers/wait.ts';
import { sandboxRoots } from '../../sandbox/names.ts';
import { kubectl as runKubectl } from '../bed/kubectl.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
const name = `three${process.pid.toString(36)}`;
const scope = ['--name', name, '--root', sandboxRoots.tests];
const sandbox = (command: string, ...args: string[]) =>
  run([bosun, 'sandbox', command, ...scope, ...args], { timeoutMs: 300_000 });
let kubeconfig = '';
const kubectl = (...args: string[]) => runKubectl({ kubeconfig }, args);

interface NodeList {
  items: { metadata: { name: string }; status: { conditions?: { type: string; status: string }[] } }[];
}

async function readyStatus(): Promise<Record<string, string>> {
  const list = JSON.parse((await kubectl('get', 'nodes', '-o', 'json')).stdout || '{"items":[]}') as NodeList;
  return Object.fromEntries(
    list.items.map((n) => [n.metadata.name, n.status.conditions?.find((c) => c.type === 'Ready')?.status ?? 'none']),
  );
}

test.after.always(async () => {
  await sandbox('down');
});

test.serial('up --nodes 3: three nodes joined and Ready', async (t) => {
  t.timeout(360_000, 'bringing up three nodes on a loaded machine');
  const up = await sandbox(
    'up',
    '--nodes',
    '3',
    '--server-arg=--node-monitor-period=1s',
    '--server-arg=--node-monitor-grace-period=25s',
  );
  t.is(up.code, 0, up.stderr);
  kubeconfig = up.stdout.trim();
  const ready = await waitFor(
    async () => {
      const status = await readyStatus();
      return Object.values(status).filter((s) => s === 'True').length === 3 ? status : undefined;
    },
    { what: 'node-1, node-2 and node-3 Ready', timeoutMs: 120_000, intervalMs: 500 },
  );
  t.deepEqual(ready, { 'node-1': 'True', 'node-2': 'True', 'node-3': 'True' });
});

test.serial('a Deployment behind a Service answers a pod on node-1 from backends on the other nodes', async (t) => {
  t.timeout(480_000, 'pods started and 60 requests made on a loaded machine');
  const manifest = {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              // one backend per node, so answers from node-2 and node-3 must cross nodes
              affinity: {
                podAntiAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: [
                    { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' },
                  ],
                },
              },
              containers: [
                {
                  name: 'httpd',
                  image: 'localhost/bosun/busybox:1.35',
                  command: ['sh', '-c', 'echo "$HOSTNAME" > /www/index.html; exec httpd -f -p 8080 -h /www'],
                  ports: [{ containerPort: 8080 }],
                },
              ],
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: 'default' },
        spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    ],
  };
  const applied = await runKubectl({ kubeconfig, input: JSON.stringify(manifest) }, [
    'apply',
    '--validate=false',
    '-f',
    '-',
  ]);
  t.is(applied.code, 0, applied.stderr);
  const podNode = await waitFor(
    async () => {
      const pods = JSON.parse(
        (await kubectl('get', 'pods', '-l', 'app=web', '-o', 'json')).stdout || '{"items":[]}',
      ) as { items: { metadata: { name: string }; spec: { nodeName?: string }; status: { phase?: string } }[] };
      const running = pods.items.filter((p) => p.status.phase === 'Running' && p.spec.nodeName);
      return running.length === 3
        ? Object.fromEntries(running.map((p) => [p.metadata.name, p.spec.nodeName!]))
        : undefined;
    },
    { what: 'three web pods Running', timeoutMs: 120_000, intervalMs: 500 },
  );
  t.deepEqual(Object.values(podNode).sort(), ['node-1', 'node-2', 'node-3'], 'one backend per node');
  const clusterIP = (await kubectl('get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}')).stdout;
  t.regex(
    clusterIP,
    /^10\.(9[6-9]|10[0-9]|11[01])\./,
    'a ClusterIP from the service CIDR (routed into the sink on every node)',
  );
  await waitFor(
    async () => {
      const slice = await kubectl(
        'get',
        'endpointslices',
        '-l',
        'kubernetes.io/service-name=web',
        '-o',
        'jsonpath={.items[*].endpoints[*].addresses[0]}',
      );
      return slice.stdout.split(' ').filter(Boolean).length === 3;
    },
    { what: 'the Service web with three endpoints', timeoutMs: 60_000, intervalMs: 500 },
  );
  // a bounded client: 60 requests at most, then it stops by itself (busybox timeout, not wget -T, which
  // crashes in Debian's static busybox)
  const client = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'client', namespace: 'default' },
    spec: {
      nodeName: 'node-1',
      restartPolicy: 'Never',
      containers: [
        {
          name: 'client',
          image: 'localhost/bosun/busybox:1.35',
          command: [
            'sh',
            '-c',
            `for i in $(seq 1 60); do timeout 3 wget -q -O - http://${clusterIP}/ || echo FAILED; done; echo DONE; sleep 3600`,
          ],
        },
      ],
    },
  };
  const created = await runKubectl({ kubeconfig, input: JSON.stringify(client) }, [
    'apply',
    '--validate=false',
    '-f',
    '-',
  ]);
  t.is(created.code, 0, created.stderr);
  const answers = await waitFor(
    async () => {
      const logs = await kubectl('logs', 'client');
      return logs.stdout.includes('DONE')
        ? logs.stdout
            .trim()
            .split('\n')
            .filter((l) => l !== 'DONE')
        : undefined;
    },
    { what: "the client pod's 60 requests through the ClusterIP", timeoutMs: 180_000, intervalMs: 1_000 },
  );
  const nodesAnswering = new Set(answers.filter((a) => podNode[a] !== undefined).map((a) => podNode[a]));
  t.true(
    nodesAnswering.has('node-2') && nodesAnswering.has('node-3'),
    `backends on node-2 and node-3 answered (answers: ${[...new Set(answers)].join(', ')})`,
  );
  t.true(answers.filter((a) => a === 'FAILED').length <= 2, `at most a couple of failures among ${answers.length}`);
});

test.serial("node-2's agent killed: Unknown after the grace period; started again: Ready", async (t) => {
  t.timeout(240_000, 'a node going Unknown and coming back');
  const killed = await sandbox('kill', 'node-2', '--component', 'agent');
  t.is(killed.code, 0, killed.stderr);
  const down = await waitFor(
    async () => {
      const status = await readyStatus();
      return status['node-2'] === 'Unknown' ? status : undefined;
    },
    { what: 'node-2 Ready=Unknown after its agent stopped posting', timeoutMs: 90_000, intervalMs: 500 },
  );
  t.is(down['node-1'], 'True', 'the other nodes stay Ready');
  t.is(down['node-3'], 'True');
  const started = await sandbox('start', 'node-2', '--component', 'agent');
  t.is(started.code, 0, started.stderr);
  await waitFor(async () => (await readyStatus())['node-2'] === 'True', {
    what: 'node-2 Ready again after its agent started',
    timeoutMs: 90_000,
    intervalMs: 500,
  });
  t.pass();
});
