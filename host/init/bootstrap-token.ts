/**
 * Creating a bootstrap token: a Secret `bootstrap-token-<id>` (type bootstrap.kubernetes.io/token) in
 * kube-system, as kubeadm stores it, so the server's authenticator and cluster-info signer find it.
 * Shared by `bosun token create` and `bosun init`.
 */
import type { KubeClient } from '../../kube/client.ts';
import type { KubeObject } from '../../kube/types.ts';
import { refs } from '../../kube/resource-ref.ts';
import { bootstrapTokenSecretName, formatBootstrapToken, generateBootstrapToken } from '../../kube/bootstrap.ts';
import { apiTime } from '../../kube/api-time.ts';

export const bootstrapTokenSecretType = 'bootstrap.kubernetes.io/token';
export const defaultBootstrapGroup = 'system:bootstrappers:bosun:default-node-token';

export interface TokenSpec {
  /** 0: never expires. */
  ttlSeconds: number;
  usages: readonly string[];
  groups: readonly string[];
  description: string;
}

/** The Secret's data for a token (pure: the id, secret and clock come in). */
export function tokenSecretData(
  token: { id: string; secret: string },
  spec: TokenSpec,
  now: number,
): Record<string, string> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const data: Record<string, string> = { 'token-id': b64(token.id), 'token-secret': b64(token.secret) };
  if (spec.ttlSeconds > 0) data.expiration = b64(apiTime(now + spec.ttlSeconds * 1000));
  for (const usage of spec.usages) data[`usage-bootstrap-${usage}`] = b64('true');
  if (spec.groups.length > 0) data['auth-extra-groups'] = b64(spec.groups.join(','));
  if (spec.description) data.description = b64(spec.description);
  return data;
}

/** Creates the token's Secret; returns the token text `<id>.<secret>` and the Secret as stored (its uid owns uploads). */
export async function createBootstrapTokenSecret(
  client: KubeClient,
  spec: TokenSpec,
): Promise<{ token: string; secret: KubeObject }> {
  const token = generateBootstrapToken();
  const data = tokenSecretData(token, spec, Date.now());
  const secret = await client.create(refs.secrets, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: bootstrapTokenSecretName(token.id), namespace: 'kube-system' },
    type: bootstrapTokenSecretType,
    data,
  } as never);
  return { token: formatBootstrapToken(token), secret };
}

/** Creates the token's Secret and returns the token text `<id>.<secret>`. */
export async function createBootstrapToken(client: KubeClient, spec: TokenSpec): Promise<string> {
  return (await createBootstrapTokenSecret(client, spec)).token;
}
