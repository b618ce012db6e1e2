/**
 * The agents' pod network on a flat sandbox (every node on one segment): the sandbox writes no
 * pod route and no CNI conflist, the agents do; peers are routed by host-gw (via their node IP on
 * eth0, never through bosun.1), and pods on each node reach the others by pod IP, ClusterIP and
 * DNS name. Pod traffic leaving the cluster is masqueraded, pod-to-pod traffic is not. A TCP flow
 * between pods outlives a killed and restarted agent.
 */
import test from 'ava';
import { useSandboxCluster } from '../helpers/sandbox-cluster.ts';
import {
  assertAllReachAll,
  assertFlowSurvivesAgentRestart,
  assertMasquerade,
  podCIDROf,
  podRoutes,
} from './pod-network-scenarios.ts';

const cluster = useSandboxCluster({ idPrefix: 'bpf', nodes: 2 });

test.serial(
  'pods on two nodes of one segment reach each other by IP, ClusterIP and name, over host-gw routes',
  async (t) => {
    t.timeout(240_000);
    await assertAllReachAll(t, cluster, ['node-1', 'node-2']);
    const sandbox = cluster.sandbox();
    for (const [node, peer] of [
      ['node-1', 'node-2'],
      ['node-2', 'node-1'],
    ] as const) {
      const routes = await podRoutes(cluster, node);
      t.deepEqual(
        routes.map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev })),
        [{ dst: await podCIDROf(cluster, peer), gateway: sandbox.node(peer).ip, dev: 'eth0' }],
        `${node} routes ${peer}'s pods by host-gw`,
      );
    }
  },
);

test.serial('pod traffic leaving the cluster is masqueraded; pod-to-pod traffic keeps its source', async (t) => {
  t.timeout(60_000);
  await assertMasquerade(t, cluster, 'node-1', 'node-2');
});

test.serial('a TCP flow between pods on two nodes survives killing and restarting an agent', async (t) => {
  t.timeout(180_000);
  await assertFlowSurvivesAgentRestart(t, cluster, 'node-1', 'node-2');
});
