/**
 * Signing kube-public/cluster-info for joining nodes: one `jws-kubeconfig-<token id>` entry per
 * bootstrap token that may sign (usage-bootstrap-signing, not expired), none for any other.
 */
import { signDetached, bootstrapTokenPattern } from '../../kube/bootstrap.ts';

export interface TokenSecret {
  type?: string;
  data?: Record<string, string>;
}

const prefix = 'jws-kubeconfig-';

function field(secret: TokenSecret, key: string): string | undefined {
  const value = secret.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

/** The data cluster-info should hold, or undefined when it already does. */
export function planClusterInfo(
  data: Record<string, string>,
  secrets: readonly TokenSecret[],
  now: number,
): Record<string, string> | undefined {
  const kubeconfig = data.kubeconfig;
  if (kubeconfig === undefined) return undefined;
  const wanted: Record<string, string> = {};
  for (const secret of secrets) {
    if (secret.type !== 'bootstrap.kubernetes.io/token') continue;
    const id = field(secret, 'token-id');
    const tokenSecret = field(secret, 'token-secret');
    if (id === undefined || tokenSecret === undefined || !bootstrapTokenPattern.test(`${id}.${tokenSecret}`)) continue;
    if (field(secret, 'usage-bootstrap-signing') !== 'true') continue;
    const expiration = field(secret, 'expiration');
    if (expiration !== undefined && Date.parse(expiration) <= now) continue;
    wanted[`${prefix}${id}`] = signDetached(kubeconfig, { id, secret: tokenSecret });
  }
  const next: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) if (!key.startsWith(prefix)) next[key] = value;
  Object.assign(next, wanted);
  const same =
    Object.keys(next).length === Object.keys(data).length && Object.entries(next).every(([k, v]) => data[k] === v);
  return same ? undefined : next;
}
