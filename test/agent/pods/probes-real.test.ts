/**
 * Probes that need a real runtime and a real peer: an exec probe that runs past its timeout is
 * killed by the runtime (not left running in the container) and keeps the pod unready; a gRPC
 * probe asks a real gRPC health server and follows its answer. One sandbox node, `bosun server`
 * and the agent, as on a real node.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { inNetns } from '../../../host/process/process.ts';
import { Sandbox } from '../../../sandbox/sandbox.ts';
import { CriClient } from '../../../cri/client.ts';
import { KubeClient } from '../../../kube/client.ts';
import { loadKubeconfig } from '../../../kube/kubeconfig.ts';
import { refs } from '../../../kube/resource-ref.ts';
import type { Pod } from '../../../kube/corev1.ts';
import { bedImages, createTestSandbox } from '../../bed/index.ts';
import { waitFor } from '../../helpers/wait.ts';
import { AgentProcess } from '../agent-process.ts';
import { kubectlOk } from '../../bed/kubectl.ts';

let sandbox: Sandbox | undefined;
let agent: AgentProcess | undefined;
let client: KubeClient | undefined;
let cri: CriClient | undefined;
let kubeconfig = '';
const helpers: ChildProcess[] = [];

test.before(async () => {
  sandbox = await createTestSandbox('bsp', 1);
  const plane = await sandbox.startControlPlane();
  kubeconfig = plane.kubeconfig;
  client = new KubeClient(loadKubeconfig(plane.kubeconfig).client);
  const node = sandbox.node('node-1');
  cri = new CriClient(node.criEndpoint);
  agent = new AgentProcess(node, plane.nodeKubeconfig);
  agent.start();
  await agent.ready();
});

test.after.always(async () => {
  for (const child of helpers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (agent?.running) await agent.stop(5_000);
  agent?.close();
  cri?.close();
  client?.close();
  await sandbox?.destroy();
});

async function kubectlCreate(pod: Pod): Promise<void> {
  const file = join(sandbox!.stateDir, `${pod.metadata.name}.yaml`);
  writeFileSync(file, yaml.dump(pod));
  await kubectlOk({ kubeconfig }, ['create', '-f', file]);
}

const getPod = (name: string) => client!.get<Pod>(refs.pods, name, 'default').catch(() => undefined);
const condition = (pod: Pod | undefined, type: string) => pod?.status?.conditions?.find((c) => c.type === type)?.status;

/** Runs a command in the pod's one container through the runtime (as `bosun cri exec` would). */
async function execIn(pod: Pod, command: string[]): Promise<{ exitCode: number; stdout: string }> {
  const id = (pod.status?.containerStatuses?.[0]?.containerID ?? '').replace(/^containerd:\/\//, '');
  const result = await cri!.execSync(id, command, 10);
  return { exitCode: result.exitCode, stdout: Buffer.from(result.stdout ?? []).toString('utf8') };
}

test('an exec probe that outlives its timeout is killed by the runtime and the pod stays unready', async (t) => {
  // each probe run writes its PID, then sleeps far past the 1 s timeout
  await kubectlCreate({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'slow-probe', namespace: 'default' },
    spec: {
      nodeName: 'node-1',
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'app',
          image: bedImages.busybox,
          command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
          readinessProbe: {
            exec: { command: ['sh', '-c', 'echo $$ >> /tmp/probe-pids; exec sleep 30'] },
            timeoutSeconds: 1,
            periodSeconds: 2,
          },
        },
      ],
    },
  });
  const running = await waitFor(
    async () => {
      const pod = await getPod('slow-probe');
      return pod?.status?.containerStatuses?.[0]?.state?.running !== undefined ? pod : undefined;
    },
    { what: 'pod slow-probe running', timeoutMs: 60_000 },
  );
  // two probe runs have started: the first began at least one period ago, well past its timeout
  const pids = await waitFor(
    async () => {
      const got = await execIn(running, ['cat', '/tmp/probe-pids']).catch(() => undefined);
      const list = got?.stdout.split('\n').filter(Boolean) ?? [];
      return list.length >= 2 ? list : undefined;
    },
    { what: 'two exec probe runs in slow-probe', timeoutMs: 60_000 },
  );
  const first = pids[0]!;
  await waitFor(async () => (await execIn(running, ['sh', '-c', `kill -0 ${first}`])).exitCode !== 0, {
    what: `the timed-out probe process ${first} to be gone from the container`,
    timeoutMs: 15_000,
  });
  const pod = await getPod('slow-probe');
  t.is(condition(pod, 'Ready'), 'False', 'a probe that times out never makes the pod ready');
  t.is(pod?.status?.containerStatuses?.[0]?.restartCount, 0, 'a readiness probe does not restart the container');
});

test('a gRPC probe follows a real gRPC health server: SERVING makes the pod ready, NOT_SERVING unready', async (t) => {
  const node = sandbox!.node('node-1');
  const port = 50_551;
  // the server runs in the node's network namespace; a hostNetwork pod's IP is the node's
  const [command, ...args] = inNetns(node.netns, [
    process.execPath,
    join(import.meta.dirname, '..', 'grpc-health-server.ts'),
    node.ip,
    String(port),
  ]);
  const server = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  helpers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.stdout!.once('data', () => resolve());
    server.once('exit', (code) => reject(new Error(`the gRPC health server exited with ${code}`)));
  });

  await kubectlCreate({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'grpc-probed', namespace: 'default' },
    spec: {
      nodeName: 'node-1',
      hostNetwork: true,
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'app',
          image: bedImages.busybox,
          command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
          readinessProbe: { grpc: { port }, periodSeconds: 1, failureThreshold: 1 },
        },
      ],
    },
  });
  await waitFor(async () => condition(await getPod('grpc-probed'), 'Ready') === 'True', {
    what: 'pod grpc-probed Ready from SERVING',
    timeoutMs: 60_000,
  });
  server.kill('SIGUSR2');
  await waitFor(async () => condition(await getPod('grpc-probed'), 'Ready') === 'False', {
    what: 'pod grpc-probed unready after NOT_SERVING',
    timeoutMs: 30_000,
  });
  t.pass();
});
