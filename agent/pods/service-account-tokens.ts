/**
 * Service-account tokens for projected volumes, as the kubelet's token manager keeps them: one per
 * (service account, audience, lifetime, pod), fetched through TokenRequest and fetched again once
 * 80 % of its life has passed or it is 24 h old, whichever comes first. When a refresh fails, the
 * old token is used while it is still valid.
 */
import type { Clock } from '../../kube/clock.ts';

export interface TokenRequestSpec {
  namespace: string;
  serviceAccount: string;
  /** '' means the API server's own audience. */
  audience: string;
  expirationSeconds: number;
  pod: { name: string; uid: string };
}

interface IssuedToken {
  token: string;
  /** Epoch ms. */
  expiresAt: number;
  /** Epoch ms, when the agent received it. */
  issuedAt: number;
}

/** A token is refreshed this long after issue at the latest, whatever its expiry. */
const maxTokenAgeMs = 24 * 3600 * 1000;
/** Default and minimum lifetime of a projected token (upstream). */
export const defaultTokenSeconds = 3600;
export const minTokenSeconds = 600;

export function tokenNeedsRefresh(token: IssuedToken, now: number): boolean {
  const life = token.expiresAt - token.issuedAt;
  return now >= token.issuedAt + life * 0.8 || now >= token.issuedAt + maxTokenAgeMs;
}

type RequestToken = (spec: TokenRequestSpec) => Promise<{ token: string; expiresAt: number }>;

function keyOf(spec: TokenRequestSpec): string {
  return JSON.stringify([spec.namespace, spec.serviceAccount, spec.audience, spec.expirationSeconds, spec.pod.uid]);
}

export class ServiceAccountTokens {
  readonly #request: RequestToken;
  readonly #clock: Clock;
  readonly #tokens = new Map<string, IssuedToken>();

  constructor(request: RequestToken, clock: Clock) {
    this.#request = request;
    this.#clock = clock;
  }

  async get(spec: TokenRequestSpec): Promise<string> {
    const key = keyOf(spec);
    const cached = this.#tokens.get(key);
    const now = this.#clock.now();
    if (cached !== undefined && !tokenNeedsRefresh(cached, now)) return cached.token;
    try {
      const fresh = await this.#request(spec);
      this.#tokens.set(key, { ...fresh, issuedAt: now });
      return fresh.token;
    } catch (err) {
      if (cached !== undefined && now < cached.expiresAt) return cached.token;
      throw err;
    }
  }

  /** Drops the tokens of a pod that is gone. */
  forgetPod(uid: string): void {
    for (const [key, token] of this.#tokens) if (JSON.parse(key)[4] === uid && token) this.#tokens.delete(key);
  }
}
