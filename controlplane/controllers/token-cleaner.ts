/**
 * The token cleaner, as kube-controller-manager's `tokencleaner`: a bootstrap token's Secret in
 * kube-system is deleted once its `expiration` has passed, so an expired join token leaves no
 * credential behind, and whatever it owns (the sealed control-plane upload) goes with it through
 * the garbage collector. A token that has not expired yet is looked at again when it does.
 */
import type { KubeObject } from '../../kube/types.ts';
import { deleteObject, type Plan } from './actions.ts';
import type { ControllerSpec } from './manager.ts';

const tokenSecretType = 'bootstrap.kubernetes.io/token';

export function planTokenCleanup(secret: KubeObject, now: Date): Plan {
  const { type, data } = secret as { type?: string; data?: Record<string, string> };
  if (secret.metadata.namespace !== 'kube-system' || type !== tokenSecretType) return { actions: [] };
  if (secret.metadata.deletionTimestamp) return { actions: [] };
  const expiration = data?.expiration;
  if (expiration === undefined) return { actions: [] };
  const at = Date.parse(Buffer.from(expiration, 'base64').toString('utf8'));
  // upstream logs and keeps a token whose expiration it cannot read
  if (Number.isNaN(at)) return { actions: [] };
  const left = at - now.getTime();
  // a long-lived token is looked at hourly: a timer longer than 2^31 ms would fire at once
  if (left > 0) return { actions: [], requeueAfterMs: Math.min(left, 60 * 60 * 1000) };
  return { actions: [deleteObject('secrets', secret)] };
}

export const tokenCleaner: ControllerSpec = {
  name: 'tokencleaner',
  primary: 'secrets',
  triggers: [],
  plan: (secret, _caches, now) => planTokenCleanup(secret, now),
};
