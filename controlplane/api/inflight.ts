/**
 * How many requests the server serves at once, as upstream's MaxInFlight filter counts them:
 * read-only requests (get, list) and mutating ones (everything else) each have their own ceiling
 * (--max-requests-inflight 400, --max-mutating-requests-inflight 200; 0 lifts it), and a request
 * over it is refused at once with 429 and Retry-After: 1 rather than queued. Long-running requests
 * (watches, exec/attach/port-forward, logs, node proxy) hold no seat, and neither do members of
 * system:masters, as upstream exempts them. Open watches have a ceiling of their own per user
 * (--max-watches-per-user, 1,000 by default; upstream has none): one identity cannot pin an
 * unbounded number of streams and their buffers.
 */
import { ApiError } from '../../kube/errors.ts';
import type { UserInfo } from '../auth/types.ts';

export interface InflightLimits {
  readonly maxReadOnly: number;
  readonly maxMutating: number;
  readonly maxWatchesPerUser: number;
}

const defaultInflightLimits: InflightLimits = { maxReadOnly: 400, maxMutating: 200, maxWatchesPerUser: 1000 };

/** Upstream's verbs that count as read-only; every other verb (and HTTP method) mutates. */
const readOnlyVerbs: ReadonlySet<string> = new Set(['get', 'list', 'watch', 'head', 'options']);

export function isMutatingVerb(verb: string): boolean {
  return !readOnlyVerbs.has(verb);
}

function exempt(user: UserInfo): boolean {
  return user.groups.includes('system:masters');
}

function tooManyRequests(message = 'Too many requests, please try again later.'): ApiError {
  return new ApiError('TooManyRequests', message, { retryAfterSeconds: 1 });
}

/** Releases what was taken; calling it again does nothing. */
export type Release = () => void;

export class InflightLimiter {
  readonly #limits: InflightLimits;
  #readOnly = 0;
  #mutating = 0;
  readonly #watches = new Map<string, number>();

  constructor(limits: InflightLimits = defaultInflightLimits) {
    this.#limits = limits;
  }

  /** A seat for a short request, or 429 when the server is full for its kind. */
  enter(user: UserInfo, mutating: boolean): Release {
    if (exempt(user)) return () => undefined;
    const limit = mutating ? this.#limits.maxMutating : this.#limits.maxReadOnly;
    const current = mutating ? this.#mutating : this.#readOnly;
    if (limit > 0 && current >= limit) throw tooManyRequests();
    if (mutating) this.#mutating++;
    else this.#readOnly++;
    return this.#once(() => {
      if (mutating) this.#mutating--;
      else this.#readOnly--;
    });
  }

  /** Counts an open watch against its user, or 429 when the user already has as many as allowed. */
  openWatch(user: UserInfo): Release {
    const limit = this.#limits.maxWatchesPerUser;
    if (exempt(user) || limit <= 0) return () => undefined;
    const open = this.#watches.get(user.name) ?? 0;
    if (open >= limit)
      throw tooManyRequests(
        `Too many requests: user "${user.name}" has ${open} watches open, the limit is ${limit}; please try again later.`,
      );
    this.#watches.set(user.name, open + 1);
    return this.#once(() => {
      const left = (this.#watches.get(user.name) ?? 1) - 1;
      if (left > 0) this.#watches.set(user.name, left);
      else this.#watches.delete(user.name);
    });
  }

  #once(release: () => void): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      release();
    };
  }
}
