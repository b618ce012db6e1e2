/** Waits until the server's certificate loop has signed cluster-info for a bootstrap token (its jws-kubeconfig-<id> key). */
import type { KubeClient } from '../../kube/client.ts';
import { refs } from '../../kube/resource-ref.ts';
import { waitFor } from '../process/wait.ts';

export async function waitClusterInfoSigned(client: KubeClient, token: string, timeoutMs = 30_000): Promise<void> {
  const id = token.slice(0, 6);
  await waitFor(
    async () => {
      const info = (await client.get(refs.configmaps, 'cluster-info', 'kube-public')) as {
        data?: Record<string, string>;
      };
      return info.data?.[`jws-kubeconfig-${id}`] !== undefined;
    },
    { what: `cluster-info in kube-public signed for token ${id}`, timeoutMs, intervalMs: 100 },
  );
}
