/**
 * The pod network of a test bed whose nodes run pods through CRI alone (no agent owns the network
 * there): each node gets a conflist for the bed's fixed subnet (10.244.k.0/24) and a route to every
 * other node's subnet. Where an agent runs, it rewrites the conflist from its Node's podCIDR and
 * routes the peers itself; these routes carry no protocol number of ours, so it leaves them alone,
 * and a metric of 100, so that the agent's routes and the bridge's own subnet route (metric 0) win
 * wherever the control plane handed out subnets in another order than the bed.
 */
import { mustRun } from '../../host/process/run.ts';
import { renderConflist, writeConflistIfChanged } from '../../agent/pod-network/cni-conflist.ts';
import type { SandboxNode } from '../../sandbox/sandbox.ts';

export async function addStaticPodNetwork(node: SandboxNode, others: readonly SandboxNode[]): Promise<void> {
  writeConflistIfChanged(
    node.cniConfDir,
    renderConflist({ networkName: 'bosun', podCIDR: node.podCIDR, mtu: 1500, ipamDataDir: node.cniDataDir }),
  );
  for (const other of others) {
    if (other.name === node.name) continue;
    await mustRun([
      'ip',
      '-n',
      node.netns,
      'route',
      'replace',
      other.podCIDR,
      'via',
      other.ip,
      'dev',
      'eth0',
      'metric',
      '100',
    ]);
    await mustRun([
      'ip',
      '-n',
      other.netns,
      'route',
      'replace',
      node.podCIDR,
      'via',
      node.ip,
      'dev',
      'eth0',
      'metric',
      '100',
    ]);
  }
}
