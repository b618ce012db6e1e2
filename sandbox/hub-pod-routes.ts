/**
 * The hub's routes to the pod network. The hub is the sandbox's network (its bridge, its router)
 * and the control plane's side of it; like a cloud network whose route table holds each node's pod
 * subnet (what upstream's route controller writes from Node.spec.podCIDR), it sends a pod address
 * to the node that owns the subnet. That is how the control plane, which is no node, reaches pods:
 * pods/proxy and aggregated API servers, dialled through the egress proxy in the hub. The nodes'
 * own routes to each other's pods stay the agents' job (host-gw or VXLAN); a node has no route via
 * the hub to a pod subnet, so these routes change nothing between nodes.
 */
import { loadKubeconfig } from '../kube/kubeconfig.ts';
import { KubeClient } from '../kube/client.ts';
import { refs } from '../kube/resource-ref.ts';
import type { KubeObject } from '../kube/types.ts';
import { mustRun } from '../host/process/run.ts';
import { waitFor } from '../host/process/wait.ts';

interface NodeAddress {
  readonly name: string;
  readonly ip: string;
}

const ipv4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
/** An IPv4 subnet as `ip route` takes it, and nothing else ("default", options, text). */
const isSubnet = (cidr: string) => {
  const [ip, bits, extra] = cidr.split('/');
  return extra === undefined && ipv4.test(ip ?? '') && /^\d{1,2}$/.test(bits ?? '') && Number(bits) <= 32;
};

/**
 * `ip route replace` argument lists for the hub: each node's pod subnet via its address. What the
 * Node object says becomes a route only when it is a subnet and an address.
 */
export function hubPodRouteCommands(
  hubNetns: string,
  nodes: readonly NodeAddress[],
  podCIDRs: ReadonlyMap<string, string>,
): string[][] {
  const commands: string[][] = [];
  for (const node of nodes) {
    const cidr = podCIDRs.get(node.name);
    if (cidr !== undefined && isSubnet(cidr) && ipv4.test(node.ip))
      commands.push(['ip', '-n', hubNetns, 'route', 'replace', cidr, 'via', node.ip]);
  }
  return commands;
}

/** Waits until the server has given each node its pod subnet, then routes the hub to them. */
export async function routeHubToPods(
  kubeconfig: string,
  hubNetns: string,
  nodes: readonly NodeAddress[],
): Promise<void> {
  const client = new KubeClient(loadKubeconfig(kubeconfig).client);
  try {
    const podCIDRs = await waitFor(
      async () => {
        const found = new Map<string, string>();
        for (const node of (await client.list<KubeObject>(refs.nodes)).items) {
          const cidr = (node.spec as { podCIDR?: unknown } | undefined)?.podCIDR;
          if (typeof cidr === 'string' && cidr !== '') found.set(node.metadata.name ?? '', cidr);
        }
        return nodes.every((n) => found.has(n.name)) ? found : undefined;
      },
      { what: `pod subnets for ${nodes.map((n) => n.name).join(', ')}`, timeoutMs: 60_000, intervalMs: 200 },
    );
    for (const argv of hubPodRouteCommands(hubNetns, nodes, podCIDRs)) await mustRun(argv);
  } finally {
    client.close();
  }
}
