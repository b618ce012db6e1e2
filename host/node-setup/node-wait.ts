/** Waiting on this node's object with the node's own credentials: its pod subnet, its Ready condition. */
import { KubeClient } from '../../kube/client.ts';
import { loadKubeconfig } from '../../kube/kubeconfig.ts';
import { refs } from '../../kube/resource-ref.ts';
import { waitFor } from '../process/wait.ts';

export interface NodeShape {
  spec?: { podCIDR?: string };
  status?: { conditions?: { type: string; status: string }[] };
}

export const podCIDROf = (node: NodeShape) => node.spec?.podCIDR || undefined;
export const readyOf = (node: NodeShape) =>
  node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? 'Ready' : undefined;

/** Waits until `pick` finds something on the node object, and returns it. */
export async function waitNodeField(
  kubeconfig: string,
  nodeName: string,
  timeoutMs: number,
  what: string,
  pick: (node: NodeShape) => string | undefined,
): Promise<string> {
  const client = new KubeClient(loadKubeconfig(kubeconfig).client);
  try {
    return await waitFor(async () => pick((await client.get(refs.nodes, nodeName)) as NodeShape), {
      what,
      timeoutMs,
      intervalMs: 250,
    });
  } finally {
    client.close();
  }
}
