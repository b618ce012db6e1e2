/**
 * The agents' pod network on a routed sandbox: node-1 and node-3 on one segment, node-2 on another,
 * the hub routing between them (and no node routing pod traffic through it). With the default backend (auto)
 * each agent picks per peer: host-gw for the peer on its segment, VXLAN (bosun.1, VNI 1, UDP 8472)
 * for the one behind the router. Pods reach each other by IP, ClusterIP and DNS name; a node
 * removed from the cluster has its routes and FDB entries gone from every peer within 10 s; a TCP
 * flow over VXLAN outlives a restarted agent.
 */
import test, { type ExecutionContext } from 'ava';
import { useSandboxCluster } from '../helpers/sandbox-cluster.ts';
import {
  assertAllReachAll,
  assertFlowSurvivesAgentRestart,
  assertRemovedNodeForgotten,
  podCIDROf,
  podRoutes,
  vxlanMissing,
} from './pod-network-scenarios.ts';

const cluster = useSandboxCluster({ idPrefix: 'bpr', nodes: 3, topology: 'routed' });

/** A visible skip (and a pass) where the kernel cannot make VXLAN links; host-gw is tested on the flat sandbox. */
async function skippedWithoutVxlan(t: ExecutionContext): Promise<boolean> {
  const missing = await vxlanMissing();
  if (missing === undefined) return false;
  t.log(`SKIP: the routed topology needs VXLAN, and this kernel cannot make a vxlan link (${missing})`);
  t.pass();
  return true;
}

test.serial('pods on nodes in two segments reach each other; auto picks host-gw or VXLAN per peer', async (t) => {
  t.timeout(300_000);
  const sandbox = cluster.sandbox();
  if (await skippedWithoutVxlan(t)) return;
  await assertAllReachAll(t, cluster, ['node-1', 'node-2', 'node-3']);
  t.regex(
    (await sandbox.node('node-1').run(['ip', '-d', 'link', 'show', 'bosun.1'])).stdout,
    /vxlan id 1 .*dstport 8472/,
  );
  const routes = await podRoutes(cluster, 'node-1');
  const to = (peer: string) => podCIDROf(cluster, peer).then((cidr) => routes.find((r) => r.dst === cidr));
  t.like(await to('node-3'), { gateway: sandbox.node('node-3').ip, dev: 'eth0' }, 'same segment: host-gw');
  const overVxlan = await to('node-2');
  t.like(overVxlan, { dev: 'bosun.1' }, 'behind the router: VXLAN');
  t.deepEqual(overVxlan?.flags, ['onlink']);
});

test.serial(
  'a TCP flow over VXLAN survives killing and restarting an agent: bosun.1 is adopted, not made again',
  async (t) => {
    t.timeout(180_000);
    if (await skippedWithoutVxlan(t)) return;
    await assertFlowSurvivesAgentRestart(t, cluster, 'node-1', 'node-2');
  },
);

test.serial("a removed node's routes and FDB entries are gone from every peer within 10 s", async (t) => {
  t.timeout(120_000);
  if (await skippedWithoutVxlan(t)) return;
  // node-1 reaches node-3 by host-gw, node-2 by VXLAN (route, neighbour and FDB entry)
  await assertRemovedNodeForgotten(t, cluster, 'node-3', ['node-1', 'node-2']);
});
