/**
 * The version skew policy between a node agent and its API server (upstream's for the kubelet): the
 * pure rule, and a real agent (fake runtime) refused at start by a real server that is older.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent } from '../../agent/agent.ts';
import { AgentStartError } from '../../agent/errors.ts';
import { versionSkewProblem } from '../../agent/node/version-skew.ts';
import { FakeRuntime } from '../../cri/fake.ts';
import { isCodedError } from '../../kube/errors.ts';
import { startInProcess } from '../controlplane/in-process.ts';

test('an agent newer than its server, or over three minors older, is refused; patches and equal versions run', (t) => {
  t.is(versionSkewProblem('v0.1.0', '0.1.0'), undefined);
  t.is(versionSkewProblem('v0.1.7', '0.1.0'), undefined, 'patch releases mix freely');
  t.is(versionSkewProblem('v0.1.0', '0.4.2'), undefined, 'three minors older is still supported');
  t.is(versionSkewProblem('v0.2.0', undefined), undefined, 'a server that does not say is not judged');
  t.regex(
    versionSkewProblem('v0.2.0', '0.1.3') ?? '',
    /^this agent runs bosun 0\.2\.0 but the API server runs bosun 0\.1\.3: an agent must not be newer than its server; upgrade the server first/,
  );
  t.regex(versionSkewProblem('v1.0.0', '0.9.0') ?? '', /must not be newer/);
  t.regex(versionSkewProblem('v0.1.0', '0.5.0') ?? '', /more than three minor versions older .* upgrade this node/);
});

test('a real agent newer than the real server stops at start with one line, before registering', async (t) => {
  const server = await startInProcess({ bosunVersion: '0.1.0' });
  const root = mkdtempSync(join(tmpdir(), `bosun-skew-${process.pid}-`));
  t.teardown(async () => {
    await server.destroy();
    rmSync(root, { recursive: true, force: true });
  });
  const agent = new Agent({
    kubeconfig: server.server.kubeconfigPath,
    nodeName: 'skewed',
    nodeIP: '127.0.0.1',
    runtimeEndpoint: 'fake',
    runtime: new FakeRuntime(),
    podInfraImage: 'pause',
    podLogDir: join(root, 'logs'),
    rootDir: join(root, 'agent'),
    clusterDNS: [],
    clusterDomain: 'cluster.local',
    nodeLabels: {},
    registerTaints: [],
    maxPods: 10,
    reserved: { cpuMilli: 0, memoryBytes: 0, ephemeralStorageBytes: 0, pids: 0 },
    healthzAddress: '127.0.0.1',
    healthzPort: 0,
    proxyMode: 'none',
    clusterCIDR: undefined,
    dnsServe: false,
    dnsPort: 0,
    cgroupDriver: 'cgroupfs',
    cgroupsPerQOS: false,
    version: 'v0.2.0',
    log: pino({ level: 'silent' }),
  });
  const error = await t.throwsAsync(agent.run(new AbortController().signal));
  t.true(error instanceof AgentStartError && isCodedError(error, 'BOSUN_AGENT_VERSION_SKEW'), String(error));
  t.regex(error?.message ?? '', /agent runs bosun 0\.2\.0 but the API server runs bosun 0\.1\.0/);
  const nodes = await fetchNodes(server);
  t.deepEqual(nodes, [], 'the refused agent registered no Node');
});

async function fetchNodes(server: Awaited<ReturnType<typeof startInProcess>>): Promise<string[]> {
  const { KubeClient } = await import('../../kube/client.ts');
  const { refs } = await import('../../kube/resource-ref.ts');
  const client = new KubeClient(server.admin);
  try {
    return (await client.list(refs.nodes)).items.map((n) => n.metadata.name ?? '');
  } finally {
    client.close();
  }
}
