/**
 * Service-account tokens: RS256 JWTs signed with the server's key (<data-dir>/pki/sa.key), issued
 * through the TokenRequest subresource (`kubectl create token`) and accepted as bearer tokens while
 * unexpired and while the service account they name still exists with the same uid.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { ApiError } from '../../kube/errors.ts';
import type { Authenticator, UserInfo } from './types.ts';

export const defaultIssuer = 'https://kubernetes.default.svc.cluster.local';

export interface ServiceAccountClaims {
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
  };
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export class ServiceAccountTokens {
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly issuer: string;

  constructor(privateKeyPem: string, issuer = defaultIssuer) {
    this.#privateKey = createPrivateKey(privateKeyPem);
    this.#publicKey = createPublicKey(this.#privateKey);
    this.issuer = issuer;
  }

  /**
   * Signs in libuv's thread pool (sign's callback form): an RSA signature takes a millisecond or
   * two, and every pod's token volume asks for one, so a rollout of thousands of pods signed on
   * the event loop held up every other request.
   */
  async issue(claims: Omit<ServiceAccountClaims, 'iss' | 'iat' | 'nbf'>, now = Date.now()): Promise<string> {
    const seconds = Math.floor(now / 1000);
    const payload: ServiceAccountClaims = { iss: this.issuer, iat: seconds, nbf: seconds, ...claims };
    const head = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
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
      if (!verify('sha256', Buffer.from(`${head}.${body}`), this.#publicKey, Buffer.from(signature, 'base64url'))) return undefined;
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
export type ServiceAccountLookup = (namespace: string, name: string) => Promise<string | undefined>;

export function serviceAccountAuthenticator(tokens: ServiceAccountTokens, lookup: ServiceAccountLookup): Authenticator {
  return {
    async authenticate({ bearerToken }) {
      if (!bearerToken || bearerToken.split('.').length !== 3) return undefined;
      const claims = tokens.verify(bearerToken);
      if (!claims) throw new ApiError('Unauthorized', 'Unauthorized');
      const { namespace, serviceaccount } = claims['kubernetes.io'];
      const uid = await lookup(namespace, serviceaccount.name);
      if (uid === undefined || uid !== serviceaccount.uid) throw new ApiError('Unauthorized', 'Unauthorized');
      const user: UserInfo = {
        name: `system:serviceaccount:${namespace}:${serviceaccount.name}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`],
        uid,
      };
      return user;
    },
  };
}
