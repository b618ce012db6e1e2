/**
 * Ways a request proves who it is: a client certificate signed by the cluster CA (TLS has already
 * verified it; CN is the user, O the groups) or a bootstrap token (`<id>.<secret>`) matching the
 * Secret `bootstrap-token-<id>` in kube-system.
 */
import { timingSafeEqual } from 'node:crypto';
import { parseBootstrapToken } from '../../kube/bootstrap.ts';
import { ApiError } from '../../kube/errors.ts';
import { systemClock, type Clock } from '../../kube/clock.ts';
import type { Authenticator, UserInfo } from './types.ts';

export const clientCertificateAuthenticator: Authenticator = {
  async authenticate({ peerCertificate }) {
    if (!peerCertificate) return undefined;
    const cn = peerCertificate.subject.CN;
    const o = peerCertificate.subject.O;
    const name = Array.isArray(cn) ? cn[0] : cn;
    if (!name) return undefined;
    return { name, groups: o === undefined ? [] : Array.isArray(o) ? o : [o] };
  },
};

/** Reads a Secret's data by namespace/name (decoded); undefined when there is none. */
type SecretReader = (namespace: string, name: string) => Promise<Record<string, string> | undefined>;

export function bootstrapTokenAuthenticator(
  readSecret: SecretReader,
  clock: Pick<Clock, 'now'> = systemClock,
): Authenticator {
  return {
    async authenticate({ bearerToken }) {
      const token = bearerToken === undefined ? undefined : parseBootstrapToken(bearerToken);
      if (!token) return undefined;
      const { id, secret } = token;
      const data = await readSecret('kube-system', `bootstrap-token-${id}`);
      const fail = () => new ApiError('Unauthorized', 'Unauthorized');
      if (!data || data['token-id'] !== id || typeof data['token-secret'] !== 'string') throw fail();
      const expected = Buffer.from(data['token-secret']);
      const given = Buffer.from(secret);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw fail();
      if (data['usage-bootstrap-authentication'] !== 'true') throw fail();
      if (data.expiration && Date.parse(data.expiration) <= clock.now()) throw fail();
      const extra = (data['auth-extra-groups'] ?? '')
        .split(',')
        .map((g) => g.trim())
        .filter((g) => g.startsWith('system:bootstrappers:'));
      const user: UserInfo = { name: `system:bootstrap:${id}`, groups: ['system:bootstrappers', ...extra] };
      return user;
    },
  };
}
