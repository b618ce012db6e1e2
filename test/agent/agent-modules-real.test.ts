/**
 * What a working agent has loaded: `bosun agent` on a sandbox node with its real containerd, a
 * pod running with an exec readiness probe (ExecSync, listings, status calls and the container
 * event relist all going to the runtime), then stopped with SIGTERM, which writes the list of
 * modules it loaded. Each package costs the idle agent memory (the agent-footprint bench), so one
 * that only a rare pod needs (grpc-js, for gRPC probes) must stay unloaded here.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sandbox } from '../../sandbox/sandbox.ts';
import { bedImages, createTestSandbox } from '../bed/index.ts';
import { kubectlOk } from '../bed/kubectl.ts';
import { AgentProcess } from './agent-process.ts';

let sandbox: Sandbox | undefined;
let agent: AgentProcess | undefined;
const logDir = mkdtempSync(join(tmpdir(), 'bosun-agent-modules-'));

test.after.always(async () => {
  if (agent?.running) await agent.stop(5_000);
  agent?.close();
  await sandbox?.destroy();
  rmSync(logDir, { recursive: true, force: true });
});

test('an agent running a pod with an exec probe talks to containerd without loading grpc-js', async (t) => {
  sandbox = await createTestSandbox('bam', 1);
  const plane = await sandbox.startControlPlane();
  const node = sandbox.node('node-1');
  agent = new AgentProcess(node, plane.nodeKubeconfig);
  const log = join(logDir, 'modules.json');
  // the agent's environment is the test's: the preload writes the list there when the agent exits
  process.env.BOSUN_MODULE_LOG = log;
  const run = agent.start([], ['--require', join(import.meta.dirname, '..', 'helpers', 'module-load-log.ts')]);
  await agent.ready();
  const kubectl = (args: string[], input?: string) =>
    kubectlOk({ kubeconfig: plane.kubeconfig, timeoutMs: 90_000, input }, args);
  const pod = [
    'apiVersion: v1',
    'kind: Pod',
    'metadata: {name: probed, namespace: default}',
    'spec:',
    '  nodeName: node-1',
    '  terminationGracePeriodSeconds: 1',
    '  containers:',
    `  - {name: probed, image: ${JSON.stringify(bedImages.busybox)}, command: [sleep, "3600"],`,
    '     readinessProbe: {exec: {command: ["true"]}, periodSeconds: 1}}',
  ].join('\n');
  await kubectl(['apply', '-f', '-'], pod);
  await kubectl(['wait', '--for=condition=Ready', 'pod/probed', '--timeout=60s']);
  const stopped = await agent.stop();
  t.deepEqual(stopped, { code: 0, signal: null }, run.stderr());

  const { files } = JSON.parse(readFileSync(log, 'utf8')) as { files: string[] };
  const packages = new Set(files.flatMap((file) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1] ?? []));
  t.true(packages.has('pino'), `the list is the agent's: ${[...packages].join(', ')}`);
  t.true(
    files.some((file) => file.endsWith('/cri/http2-transport.ts')),
    'its CRI calls went over the http2 transport',
  );
  t.false(packages.has('@grpc/grpc-js'), `loaded: ${[...packages].join(', ')}`);
});
