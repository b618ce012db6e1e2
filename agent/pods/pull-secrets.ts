/**
 * The image pull secrets of a pod, read with the node's identity (the node authorizer lets a node
 * read the secrets named in spec.imagePullSecrets of its pods). As the kubelet does, an entry
 * without a name is skipped, and a secret that cannot be read is left out and named in `missing`
 * so the caller can say so; the pull still goes ahead with the others.
 */
import type { Pod } from '../../kube/corev1.ts';
import type { PullSecret } from '../images/docker-config.ts';
import type { ConfigLookup } from './config-source.ts';

export async function readPullSecrets(
  pod: Pod,
  lookup: ConfigLookup,
): Promise<{ secrets: PullSecret[]; missing: string[] }> {
  const namespace = pod.metadata.namespace ?? 'default';
  const secrets: PullSecret[] = [];
  const missing: string[] = [];
  for (const { name } of pod.spec.imagePullSecrets ?? []) {
    if (!name) continue;
    const found = await lookup.typedSecret(namespace, name).catch(() => undefined);
    if (found === undefined) missing.push(name);
    else secrets.push({ name, type: found.type, data: found.data });
  }
  return { secrets, missing };
}
