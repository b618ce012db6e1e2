/**
 * Permission to act for a certificate signer, as upstream checks it: the verb (`approve`, `sign`)
 * on the `signers` resource of certificates.k8s.io named after the signer, or after its domain
 * with `/*` (`kubernetes.io/*` covers every built-in signer).
 */
import type { Authorizer, UserInfo } from './types.ts';

export type SignerPermission = (user: UserInfo, verb: 'approve' | 'sign', signerName: string) => Promise<boolean>;

export function signerPermission(authorizer: Authorizer): SignerPermission {
  return async (user, verb, signerName) => {
    const allowed = async (name: string) =>
      (
        await authorizer.authorize({
          user,
          verb,
          resource: { group: 'certificates.k8s.io', resource: 'signers', subresource: '', namespace: '', name },
        })
      ).allowed;
    if (await allowed(signerName)) return true;
    const slash = signerName.indexOf('/');
    return slash > 0 && (await allowed(`${signerName.slice(0, slash)}/*`));
  };
}
