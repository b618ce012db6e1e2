/**
 * Pod network scenarios shared by the flat and routed sandbox tests: real pods (busybox httpd)
 * on real nodes, reached from pods on other nodes by pod IP, by ClusterIP and by DNS name; a TCP
 * flow that outlives its agent; a removed node's routes gone from its peers.
 */
import type { ExecutionContext } from 'ava';
import type { SandboxCluster } from '../helpers/sandbox-cluster.ts';
import type { SandboxNode } from '../../sandbox/sandbox.ts';
import { waitFor } from '../helpers/wait.ts';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run, type RunResult } from '../../host/process/run.ts';

/** The pod on each node: serves its node's name on :8080. */
const webPod = (node: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `web-${node}`, namespace: 'default', labels: { app: `web-${node}` } },
  spec: {
    nodeName: node,
    terminationGracePeriodSeconds: 1,
    containers: [
      {
        name: 'web',
        image: 'localhost/bosun/busybox:1.35',
        command: ['sh', '-c', `mkdir -p /www && echo ${node} > /www/index.html && exec httpd -f -p 8080 -h /www`],
      },
    ],
  },
});

const webService = (node: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: `web-${node}`, namespace: 'default' },
  spec: { selector: { app: `web-${node}` }, ports: [{ port: 80, targetPort: 8080 }] },
});

async function applyObjects(cluster: SandboxCluster, objects: unknown[]): Promise<void> {
  // --validate=false: kubectl's validation of a List is not this test's subject (see cluster-dns.test.ts)
  const result = await run(['kubectl', '--kubeconfig', cluster.kubeconfig(), 'apply', '--validate=false', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
    timeoutMs: 60_000,
  });
  if (result.code !== 0) throw new Error(`kubectl apply: ${result.stderr.trim()}`);
}

/** The pod's IP once it runs. */
async function runningPodIP(cluster: SandboxCluster, pod: string): Promise<string> {
  return waitFor(
    async () => {
      const out = await cluster.kubectl('get', 'pod', pod, '-o', 'jsonpath={.status.phase} {.status.podIP}');
      const [phase, ip] = out.split(' ');
      return phase === 'Running' && ip ? ip : undefined;
    },
    { what: `pod ${pod} running`, timeoutMs: 90_000, intervalMs: 300 },
  );
}

/**
 * Runs a command in a pod's network namespace (found by the pod's IP among the node's pod
 * namespaces), with the host's static busybox: the pods' traffic, without going through the
 * kubelet port (not this test's subject).
 */
async function inPodNetwork(
  cluster: SandboxCluster,
  node: string,
  podIP: string,
  argv: readonly string[],
): Promise<RunResult> {
  const netns = await podNetnsFile(cluster.sandbox().node(node), podIP);
  return run(['nsenter', `--net=${netns}`, ...argv], { timeoutMs: 10_000 });
}

/** The network namespace file of the pod with `podIP` on a sandbox node. */
export async function podNetnsFile(node: SandboxNode, podIP: string): Promise<string> {
  // containerd's netns_mounts_under_state_dir: pod namespaces live under the CRI plugin's state
  const dir = join(node.layout.state, 'io.containerd.grpc.v1.cri', 'netns');
  for (const file of existsSync(dir) ? readdirSync(dir) : []) {
    const netns = join(dir, file);
    const addr = await run(['nsenter', `--net=${netns}`, 'ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    if (addr.stdout.includes(` ${podIP}/`)) return netns;
  }
  throw new Error(`no pod network namespace on ${node.name} holds ${podIP}`);
}

interface PodAt {
  node: string;
  ip: string;
}

/** What `wget` in pod `from` fetched from `url` (retrying briefly while routes and rules settle). */
async function fetchFrom(cluster: SandboxCluster, from: PodAt, url: string, timeoutMs = 20_000): Promise<string> {
  let last = '';
  try {
    return await waitFor(
      async () => {
        const r = await inPodNetwork(cluster, from.node, from.ip, ['/bin/busybox', 'wget', '-q', '-O', '-', url]);
        last = r.stderr.trim();
        return r.code === 0 ? r.stdout.trim() || undefined : undefined;
      },
      { what: `${from.node}'s pod fetching ${url}`, timeoutMs, intervalMs: 500 },
    );
  } catch {
    throw new Error(`the pod on ${from.node} could not fetch ${url}: ${last}`);
  }
}

/** A name resolved by cluster DNS (10.96.0.10) from inside a pod's network namespace. */
async function resolveFrom(cluster: SandboxCluster, from: PodAt, name: string): Promise<string> {
  return waitFor(
    async () => {
      const r = await inPodNetwork(cluster, from.node, from.ip, ['/bin/busybox', 'nslookup', name, '10.96.0.10']);
      const answer = r.stdout.split(/Name:\s+\S+\s*\n/)[1] ?? '';
      return /Address:\s+(\d+\.\d+\.\d+\.\d+)/.exec(answer)?.[1];
    },
    { what: `${name} resolved from ${from.node}'s pod`, timeoutMs: 20_000, intervalMs: 500 },
  );
}

/** Every pod fetches every other node's pod by IP, ClusterIP and DNS name. */
export async function assertAllReachAll(t: ExecutionContext, cluster: SandboxCluster, nodes: string[]): Promise<void> {
  await applyObjects(
    cluster,
    nodes.flatMap((n) => [webPod(n), webService(n)]),
  );
  const ips = Object.fromEntries(
    await Promise.all(nodes.map(async (n) => [n, await runningPodIP(cluster, `web-${n}`)])),
  );
  const clusterIPs = Object.fromEntries(
    await Promise.all(
      nodes.map(async (n) => [
        n,
        await cluster.kubectl('get', 'service', `web-${n}`, '-o', 'jsonpath={.spec.clusterIP}'),
      ]),
    ),
  );
  for (const from of nodes) {
    const pod = { node: from, ip: ips[from]! };
    for (const to of nodes) {
      if (from === to) continue;
      t.is(await fetchFrom(cluster, pod, `http://${ips[to]}:8080/`), to, `${from} → ${to} by pod IP`);
      t.is(await fetchFrom(cluster, pod, `http://${clusterIPs[to]}/`), to, `${from} → ${to} by ClusterIP`);
      const resolved = await resolveFrom(cluster, pod, `web-${to}.default.svc.cluster.local`);
      t.is(resolved, clusterIPs[to], `${from} resolves web-${to} by cluster DNS`);
      t.is(await fetchFrom(cluster, pod, `http://${resolved}/`), to, `${from} → ${to} by DNS name`);
    }
  }
}

/** `ip -j route` of a node's namespace: our routes to other nodes' pods. */
export async function podRoutes(
  cluster: SandboxCluster,
  node: string,
): Promise<{ dst: string; gateway: string; dev: string; flags?: string[] }[]> {
  const out = await cluster.sandbox().node(node).run(['ip', '-j', 'route', 'show', 'proto', '98']);
  return JSON.parse(out.stdout || '[]');
}

async function fdbEntries(cluster: SandboxCluster, node: string): Promise<{ mac: string; dst?: string }[]> {
  const out = await cluster.sandbox().node(node).run(['bridge', '-j', 'fdb', 'show', 'dev', 'bosun.1']);
  return out.code === 0 ? (JSON.parse(out.stdout || '[]') as { mac: string; dst?: string }[]).filter((f) => f.dst) : [];
}

/** The podCIDR the control plane gave a node. */
export async function podCIDROf(cluster: SandboxCluster, node: string): Promise<string> {
  return cluster.kubectl('get', 'node', node, '-o', 'jsonpath={.spec.podCIDR}');
}

/**
 * A TCP flow from a pod on `client` to a pod on `server` keeps flowing while the client node's
 * agent is killed and started again: the counter the server receives keeps growing, and the
 * server never had to accept a second connection (its container never restarted).
 */
export async function assertFlowSurvivesAgentRestart(
  t: ExecutionContext,
  cluster: SandboxCluster,
  client: string,
  server: string,
): Promise<void> {
  await applyObjects(cluster, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sink', namespace: 'default' },
      spec: {
        nodeName: server,
        terminationGracePeriodSeconds: 1,
        // busybox nc ends the connection when its stdin ends: keep it open
        containers: [
          {
            name: 'nc',
            image: 'localhost/bosun/busybox:1.35',
            command: ['sh', '-c', 'tail -f /dev/null | nc -l -p 9000'],
          },
        ],
      },
    },
  ]);
  const sinkIP = await runningPodIP(cluster, 'sink');
  await applyObjects(cluster, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'source', namespace: 'default' },
      spec: {
        nodeName: client,
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'nc',
            image: 'localhost/bosun/busybox:1.35',
            command: ['sh', '-c', `i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done | nc ${sinkIP} 9000`],
          },
        ],
      },
    },
  ]);
  await runningPodIP(cluster, 'source');
  const received = () => lastNumberLogged(cluster, server, 'sink');
  await waitFor(async () => (await received()) > 5, { what: 'the flow started', timeoutMs: 20_000, intervalMs: 300 });
  const agent = cluster.agent(client);
  await agent.kill();
  const whileDown = await received();
  const logBefore = statSync(agent.logFile).size;
  agent.start();
  await agent.ready();
  await waitFor(() => readFileSync(agent.logFile, 'utf8').slice(logBefore).includes('pod network in place'), {
    what: 'the restarted agent syncing its pod network',
    timeoutMs: 10_000,
  });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const after = await received();
  t.true(after > whileDown + 10, `the counter kept growing across the restart (${whileDown} → ${after})`);
  const restartLog = readFileSync(agent.logFile, 'utf8').slice(logBefore);
  t.false(/pod routes changed|VXLAN device set up/.test(restartLog), 'the restarted agent found everything in place');
  const restarts = await cluster.kubectl(
    'get',
    'pod',
    'sink',
    '-o',
    'jsonpath={.status.containerStatuses[0].restartCount}',
  );
  t.is(restarts, '0', 'the server accepted one connection only: the flow was never cut');
}

/** The last number a pod's container wrote to its log (read in the node's log folder). */
function lastNumberLogged(cluster: SandboxCluster, node: string, pod: string): number {
  const root = cluster.sandbox().node(node).podLogDir;
  const dir = readdirSync(root).find((d) => d.startsWith(`default_${pod}_`));
  if (dir === undefined) return 0;
  const container = join(root, dir, 'nc');
  if (!existsSync(container)) return 0;
  const lines = readdirSync(container)
    .filter((f) => f.endsWith('.log'))
    .flatMap((f) => readFileSync(join(container, f), 'utf8').trim().split('\n'));
  // CRI log lines: <time> stdout F <text>
  return Math.max(0, ...lines.map((l) => Number(l.split(' ')[3]) || 0));
}

/** After node `gone` is removed (its agent stopped), every peer drops its route and FDB entry within 10 s. */
export async function assertRemovedNodeForgotten(
  t: ExecutionContext,
  cluster: SandboxCluster,
  gone: string,
  peers: string[],
): Promise<void> {
  const cidr = await podCIDROf(cluster, gone);
  const goneIP = cluster.sandbox().node(gone).ip;
  for (const peer of peers)
    t.true(
      (await podRoutes(cluster, peer)).some((r) => r.dst === cidr),
      `${peer} routes ${gone}'s pods before the removal`,
    );
  await cluster.agent(gone).stop(5_000);
  const removedAt = Date.now();
  await cluster.kubectl('delete', 'node', gone, '--wait=false');
  await waitFor(
    async () => {
      for (const peer of peers) {
        if ((await podRoutes(cluster, peer)).some((r) => r.dst === cidr)) return false;
        if ((await fdbEntries(cluster, peer)).some((f) => f.dst === goneIP)) return false;
      }
      return true;
    },
    { what: `${gone}'s routes and FDB entries gone from ${peers.join(', ')}`, timeoutMs: 10_000, intervalMs: 100 },
  );
  t.log(`${gone}'s routes gone from every peer ${Date.now() - removedAt} ms after the Node was deleted`);
}

/** The reply destination conntrack recorded on `node` for flows matching `filter` (the address a reply goes back to). */
async function replyDestinations(cluster: SandboxCluster, node: string, filter: string[]): Promise<string[]> {
  const out = await cluster
    .sandbox()
    .node(node)
    .run(['conntrack', '-L', ...filter]);
  // each line: <original tuple> <reply tuple>; the reply tuple's dst= is the second one
  return out.stdout
    .split('\n')
    .map((line) => [...line.matchAll(/dst=(\S+)/g)][1]?.[1])
    .filter((d): d is string => d !== undefined);
}

/**
 * Masquerade: a pod's traffic to an address outside the cluster (the hub, 172.30.0.1) leaves with
 * its node's address, while pod-to-pod traffic across nodes keeps the pod's own; both read from
 * the client node's conntrack table.
 */
export async function assertMasquerade(
  t: ExecutionContext,
  cluster: SandboxCluster,
  client: string,
  server: string,
): Promise<void> {
  const from = { node: client, ip: await runningPodIP(cluster, `web-${client}`) };
  const serverIP = await runningPodIP(cluster, `web-${server}`);
  const outside = '172.30.0.1';
  const ping = await inPodNetwork(cluster, client, from.ip, ['/bin/busybox', 'ping', '-c', '1', '-W', '2', outside]);
  t.is(ping.code, 0, `the pod on ${client} reaches ${outside} outside the cluster: ${ping.stdout}${ping.stderr}`);
  t.deepEqual(
    [...new Set(await replyDestinations(cluster, client, ['-p', 'icmp', '-s', from.ip, '-d', outside]))],
    [cluster.sandbox().node(client).ip],
    'leaving the cluster: masqueraded to the node address',
  );
  await fetchFrom(cluster, from, `http://${serverIP}:8080/`);
  t.deepEqual(
    [
      ...new Set(
        await replyDestinations(cluster, client, ['-p', 'tcp', '-s', from.ip, '-d', serverIP, '--dport', '8080']),
      ),
    ],
    [from.ip],
    'pod to pod: the source pod address kept',
  );
}

/** Why this kernel cannot make a VXLAN link in a network namespace, or undefined when it can. */
export async function vxlanMissing(): Promise<string | undefined> {
  const netns = `bpnvx${process.pid.toString(36)}`;
  await run(['ip', 'netns', 'add', netns]);
  try {
    const made = await run(['ip', '-n', netns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789']);
    return made.code === 0 ? undefined : made.stderr.trim() || `ip link add type vxlan exited ${made.code}`;
  } finally {
    await run(['ip', 'netns', 'del', netns]);
  }
}
