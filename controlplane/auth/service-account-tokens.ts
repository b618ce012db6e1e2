/**
 * Service-account tokens: RS256 JWTs signed with the server's key (<data-dir>/pki/sa.key), issued
 * through the TokenRequest subresource (`kubectl create token`) and accepted as bearer tokens while
 * unexpired, while the service account they name still exists with the same uid, and, for a token
 * bound to a pod or a secret, while that object exists with the uid the token names (as upstream's
 * bound-token validation): deleting a pod kills the tokens issued for it, even if a new pod of
 * the same name appears. The header's `kid` names the key as upstream does (base64url of the
 * SHA-256 of the DER public key), so the JWKS document (oidc-discovery.ts) can be matched.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { ApiError } from '../../kube/errors.ts';
import type { Authenticator, UserInfo } from './types.ts';

export const defaultIssuer = 'https://kubernetes.default.svc.cluster.local';

interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  iat: number;
  nbf: number;
  exp: number;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
    secret?: { name: string; uid: string };
  };
}

/** One key of a JSON Web Key Set (RFC 7517), as upstream's /openid/v1/jwks lists it. */
interface JsonWebKey {
  use: 'sig';
  kty: string;
  kid: string;
  alg: 'RS256';
  n: string;
  e: string;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export class ServiceAccountTokens {
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly issuer: string;
  /** The `kid` of every token this server signs. */
  readonly keyId: string;
  readonly #header: string;

  constructor(privateKeyPem: string, issuer = defaultIssuer) {
    this.#privateKey = createPrivateKey(privateKeyPem);
    this.#publicKey = createPublicKey(this.#privateKey);
    this.issuer = issuer;
    this.keyId = createHash('sha256')
      .update(this.#publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64url');
    this.#header = b64url(JSON.stringify({ alg: 'RS256', kid: this.keyId }));
  }

  /** The public half of the signing key, for relying parties that verify tokens themselves. */
  jwks(): { keys: JsonWebKey[] } {
    const jwk = this.#publicKey.export({ format: 'jwk' });
    return {
      keys: [{ use: 'sig', kty: String(jwk.kty), kid: this.keyId, alg: 'RS256', n: String(jwk.n), e: String(jwk.e) }],
    };
  }

  /**
   * Signs in libuv's thread pool (sign's callback form): an RSA signature takes a millisecond or
   * two, and every pod's token volume asks for one, so a rollout of thousands of pods signed on
   * the event loop held up every other request.
   */
  async issue(claims: Omit<ServiceAccountClaims, 'iss' | 'iat' | 'nbf'>, now = Date.now()): Promise<string> {
    const seconds = Math.floor(now / 1000);
    const payload: ServiceAccountClaims = { iss: this.issuer, iat: seconds, nbf: seconds, ...claims };
    const head = `${this.#header}.${b64url(JSON.stringify(payload))}`;
    const signature = await new Promise<Buffer>((resolve, reject) => {
      sign('sha256', Buffer.from(head), this.#privateKey, (err, result) => (err ? reject(err) : resolve(result)));
    });
    return `${head}.${signature.toString('base64url')}`;
  }

  /** The claims of a token this server signed, or undefined when it is not one of ours or is invalid. */
  verify(token: string, now = Date.now()): ServiceAccountClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [head, body, signature] = parts as [string, string, string];
    try {
      const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg?: string };
      if (header.alg !== 'RS256') return undefined;
      if (!verify('sha256', Buffer.from(`${head}.${body}`), this.#publicKey, Buffer.from(signature, 'base64url')))
        return undefined;
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as ServiceAccountClaims;
      const seconds = now / 1000;
      if (claims.iss !== this.issuer || !(claims.exp > seconds) || claims.nbf > seconds + 60) return undefined;
      if (!Array.isArray(claims.aud) || !claims.aud.includes(this.issuer)) return undefined;
      return claims;
    } catch {
      return undefined;
    }
  }
}

/** Looks up the uid of a service account (undefined when it does not exist). */
type ServiceAccountLookup = (namespace: string, name: string) => Promise<string | undefined>;

/** Looks up the uid of an object a token may be bound to (undefined when it does not exist). */
interface BoundObjectLookup {
  pod(namespace: string, name: string): Promise<string | undefined>;
  secret(namespace: string, name: string): Promise<string | undefined>;
}

/** Whether the objects a token is bound to still exist as they were when it was issued. */
async function boundObjectsAlive(
  claims: ServiceAccountClaims,
  lookup: BoundObjectLookup | undefined,
): Promise<boolean> {
  const { namespace, pod, secret } = claims['kubernetes.io'];
  if (pod === undefined && secret === undefined) return true;
  if (lookup === undefined) return false;
  if (pod !== undefined && (await lookup.pod(namespace, pod.name)) !== pod.uid) return false;
  if (secret !== undefined && (await lookup.secret(namespace, secret.name)) !== secret.uid) return false;
  return true;
}

export function serviceAccountAuthenticator(
  tokens: ServiceAccountTokens,
  lookup: ServiceAccountLookup,
  boundObjects?: BoundObjectLookup,
): Authenticator {
  return {
    async authenticate({ bearerToken }) {
      if (!bearerToken || bearerToken.split('.').length !== 3) return undefined;
      const claims = tokens.verify(bearerToken);
      if (!claims) throw new ApiError('Unauthorized', 'Unauthorized');
      const { namespace, serviceaccount } = claims['kubernetes.io'];
      const uid = await lookup(namespace, serviceaccount.name);
      if (uid === undefined || uid !== serviceaccount.uid) throw new ApiError('Unauthorized', 'Unauthorized');
      if (!(await boundObjectsAlive(claims, boundObjects))) throw new ApiError('Unauthorized', 'Unauthorized');
      const user: UserInfo = {
        name: `system:serviceaccount:${namespace}:${serviceaccount.name}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`],
        uid,
      };
      return user;
    },
  };
}
