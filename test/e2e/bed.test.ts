/**
 * Real-host tests of the test bed itself: pods run on real containerd + runc + CNI inside node
 * namespaces, pod traffic crosses nodes, and a packet to an unprogrammed service IP stays on the
 * machine (dropped in the sink). Uses one two-node bed for all but the teardown test.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { createBed, bedImages, type Bed, type BedNode } from '../bed/index.ts';
import { CriClient } from '../../cri/client.ts';
import type { PodSandboxConfig } from '../../cri/types.ts';
import { run } from '../helpers/run.ts';
import { waitFor } from '../helpers/wait.ts';

let bed: Bed;
const clients: CriClient[] = [];

test.before(async (t) => {
  const started = performance.now();
  bed = await createBed({ nodes: 2 });
  t.log(`two-node bed started in ${Math.round(performance.now() - started)} ms (${bed.id})`);
});

test.after.always(async () => {
  for (const client of clients) client.close();
  await bed?.destroy();
});

function cri(node: BedNode): CriClient {
  const client = new CriClient(node.criEndpoint);
  clients.push(client);
  return client;
}

function sandboxConfig(node: BedNode, name: string): PodSandboxConfig {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 },
    hostname: name,
    logDirectory: `${node.podLogDir}/default_${name}_uid-${name}`,
    labels: { app: name },
  };
}

/** Runs a sandbox and one busybox container in it; returns ids, pod IP and the time each step took. */
async function runPod(node: BedNode, name: string, command: string[]) {
  const client = cri(node);
  const config = sandboxConfig(node, name);
  const t0 = performance.now();
  const sandboxId = await client.runPodSandbox(config);
  const t1 = performance.now();
  const containerId = await client.createContainer(
    sandboxId,
    {
      metadata: { name: 'main', attempt: 0 },
      image: { image: bedImages.busybox },
      command,
      logPath: 'main/0.log',
    },
    config,
  );
  await client.startContainer(containerId);
  const t2 = performance.now();
  const status = await client.podSandboxStatus(sandboxId);
  const podIP = status.status?.network?.ip ?? '';
  return { client, sandboxId, containerId, podIP, sandboxMs: t1 - t0, containerMs: t2 - t1 };
}

// no -T: Debian's static busybox wget crashes with it; the callers bound the time instead
const wget = (url: string) => ['busybox', 'wget', '-q', '-O', '-', url];

test.serial('a pod on real containerd serves HTTP to its node through the CNI bridge', async (t) => {
  const node = bed.nodes[0]!;
  const pod = await runPod(node, 'web', ['httpd', '-f', '-p', '8080', '-h', '/www']);
  t.log(
    `RunPodSandbox ${Math.round(pod.sandboxMs)} ms, CreateContainer+StartContainer ${Math.round(pod.containerMs)} ms`,
  );
  t.regex(pod.podIP, /^10\.244\.1\.\d+$/, 'the pod IP comes from node-1 podCIDR');

  const containers = await pod.client.listContainers({ podSandboxId: pod.sandboxId });
  t.is(containers.length, 1);
  t.is(containers[0]!.state, 'CONTAINER_RUNNING');

  const body = await waitFor(
    async () => {
      const result = await node.run(wget(`http://${pod.podIP}:8080/index.html`), { timeoutMs: 5_000 });
      return result.code === 0 ? result.stdout : undefined;
    },
    { what: `httpd in pod ${pod.podIP} answering on :8080`, timeoutMs: 15_000 },
  );
  t.is(body, 'hello from bosun busybox\n');
});

test.serial('pod traffic is routed between nodes: a pod on node-2 reaches the pod on node-1', async (t) => {
  const [node1, node2] = [bed.nodes[0]!, bed.nodes[1]!];
  const sandboxes = await cri(node1).listPodSandbox({ labelSelector: { app: 'web' } });
  t.is(sandboxes.length, 1, 'the web pod of the previous test is there');
  const webIP = (await cri(node1).podSandboxStatus(sandboxes[0]!.id)).status?.network?.ip ?? '';

  const client = await runPod(node2, 'client', ['sleep', '3600']);
  t.regex(client.podIP, /^10\.244\.2\.\d+$/, 'the client pod IP comes from node-2 podCIDR');
  const reply = await waitFor(
    async () => {
      const result = await client.client.execSync(
        client.containerId,
        wget(`http://${webIP}:8080/index.html`).slice(1),
        5,
      );
      return result.exitCode === 0 ? Buffer.from(result.stdout).toString() : undefined;
    },
    { what: `the client pod on node-2 fetching http://${webIP}:8080 on node-1`, timeoutMs: 15_000 },
  );
  t.is(reply, 'hello from bosun busybox\n');
});

test.serial('a packet to an unprogrammed service IP is dropped in the sink and never leaves the machine', async (t) => {
  const node = bed.nodes[0]!;
  const routes = await node.run(['ip', 'route', 'show', 'default']);
  t.is(routes.stdout.trim(), '', 'a node has no default route, so nothing has a way off the machine');

  const before = await bed.sinkPacketCount();
  const attempt = await node.run(['busybox', 'nc', '-w', '1', '10.96.0.123', '80'], { timeoutMs: 10_000 });
  t.not(attempt.code, 0, 'nothing answers at an unprogrammed service IP');
  const after = await waitFor(
    async () => {
      const count = await bed.sinkPacketCount();
      return count > before ? count : undefined;
    },
    { what: 'the packet to 10.96.0.123 arriving in the sink', timeoutMs: 5_000 },
  );
  t.true(after > before);
  const snmp = await run(['nsenter', `--net=/run/netns/${bed.sinkNetns}`, 'cat', '/proc/net/snmp']);
  const [header, values] = snmp.stdout.split('\n').filter((line) => line.startsWith('Ip:'));
  const column = header!.split(' ').indexOf('ForwDatagrams');
  t.is(values!.split(' ')[column], '0', 'the sink forwarded nothing');
});

test.serial('destroy() leaves no namespace, process, mount or folder behind, even with pods running', async (t) => {
  const scratch = await createBed({ nodes: 1 });
  const names = [scratch.hubNetns, scratch.sinkNetns, ...scratch.nodes.map((n) => n.netns)];
  const stateDir = scratch.stateDir;
  let containerdPid = 0;
  try {
    containerdPid = scratch.nodes[0]!.containerdPid;
    await runPod(scratch.nodes[0]!, 'leftover', ['sleep', '3600']);
  } finally {
    await scratch.destroy();
  }
  const netns = (await run(['ip', 'netns', 'list'])).stdout;
  for (const name of names) t.false(netns.includes(name), `namespace ${name} is gone`);
  t.false(existsSync(`/proc/${containerdPid}`), 'containerd is gone');
  t.false(existsSync(stateDir), 'the bed folder is gone');
  t.false(
    readFileSync('/proc/self/mountinfo', 'utf8').includes(stateDir),
    'nothing stays mounted under the bed folder',
  );
  const processes = (await run(['ps', '-eo', 'args'])).stdout;
  t.false(processes.includes(stateDir), 'no process runs from the bed folder');
});
