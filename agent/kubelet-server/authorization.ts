/**
 * Who may use the kubelet port, as upstream's kubelet decides it (webhook authorization):
 *  - a request without a client certificate from the cluster CA is 401 (no anonymous access);
 *  - the API server's own client identity (CN kube-apiserver-kubelet-client) and members of
 *    system:masters pass without asking;
 *  - anyone else is asked about through a SubjectAccessReview: resource `nodes`, name = this node,
 *    subresource from the path (stats, metrics, log, else proxy), verb from the HTTP method.
 * Answers are cached briefly (upstream: 5 min allowed, 30 s denied) so a burst of requests from
 * one client costs one review.
 */
import type { KubeClient } from '../../kube/client.ts';
import type { ResourceRef } from '../../kube/resource-ref.ts';
import { systemClock, type Clock } from '../../kube/clock.ts';

interface KubeletUser {
  name: string;
  groups: string[];
}

interface KubeletRequestAttributes {
  verb: string;
  subresource: string;
}

/** The API server's identity on the kubelet port (upstream kubeadm's name for it). */
const apiServerClientName = 'kube-apiserver-kubelet-client';

/** Upstream kubelet's mapping (pkg/kubelet/server/auth.go): path prefix -> nodes subresource. */
function requestAttributes(method: string, path: string): KubeletRequestAttributes {
  const verbs: Record<string, string> = {
    GET: 'get',
    HEAD: 'get',
    POST: 'create',
    PUT: 'update',
    PATCH: 'patch',
    DELETE: 'delete',
  };
  const verb = verbs[method.toUpperCase()] ?? method.toLowerCase();
  const under = (prefix: string) => path === prefix || path.startsWith(`${prefix}/`);
  const subresource = under('/stats')
    ? 'stats'
    : under('/metrics')
      ? 'metrics'
      : under('/logs')
        ? 'log'
        : under('/spec')
          ? 'spec'
          : 'proxy';
  return { verb, subresource };
}

/** The user a verified client certificate names: CN is the user, each O a group. */
export function userFromCertificate(subject: Record<string, string | string[]> | undefined): KubeletUser | undefined {
  const cn = subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  if (!name) return undefined;
  const o = subject?.O;
  const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
  return { name, groups: [...groups, 'system:authenticated'] };
}

interface AccessReviewer {
  /** Whether `user` may `attributes` on node `nodeName`; throws when the API cannot answer. */
  allowed(user: KubeletUser, nodeName: string, attributes: KubeletRequestAttributes): Promise<boolean>;
}

const sarRef: ResourceRef = {
  group: 'authorization.k8s.io',
  version: 'v1',
  resource: 'subjectaccessreviews',
  namespaced: false,
};

/** Asks the API server with a SubjectAccessReview. */
export function subjectAccessReviewer(client: KubeClient): AccessReviewer {
  return {
    async allowed(user, nodeName, attributes) {
      const review = (await client.create(sarRef, {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        metadata: {},
        spec: {
          user: user.name,
          groups: user.groups,
          resourceAttributes: {
            verb: attributes.verb,
            group: '',
            version: 'v1',
            resource: 'nodes',
            subresource: attributes.subresource,
            name: nodeName,
          },
        },
      } as never)) as unknown as { status?: { allowed?: boolean } };
      return review.status?.allowed === true;
    },
  };
}

type Decision = { allowed: true } | { allowed: false; code: 401 | 403; message: string };

export class KubeletAuthorizer {
  readonly #reviewer: AccessReviewer;
  readonly #nodeName: string;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #cache = new Map<string, { allowed: boolean; until: number }>();

  constructor(reviewer: AccessReviewer, nodeName: string, clock: Pick<Clock, 'now'> = systemClock) {
    this.#reviewer = reviewer;
    this.#nodeName = nodeName;
    this.#clock = clock;
  }

  async decide(user: KubeletUser | undefined, method: string, path: string): Promise<Decision> {
    if (user === undefined) return { allowed: false, code: 401, message: 'Unauthorized' };
    if (user.name === apiServerClientName || user.groups.includes('system:masters')) return { allowed: true };
    const attributes = requestAttributes(method, path);
    const key = JSON.stringify([user.name, [...user.groups].sort(), attributes.verb, attributes.subresource]);
    const now = this.#clock.now();
    let cached = this.#cache.get(key);
    if (cached === undefined || cached.until <= now) {
      let allowed: boolean;
      try {
        allowed = await this.#reviewer.allowed(user, this.#nodeName, attributes);
      } catch (err) {
        // no answer is no permission; nothing is cached, the next request asks again
        return {
          allowed: false,
          code: 403,
          message: `Forbidden (user=${user.name}, verb=${attributes.verb}, resource=nodes, subresource=${attributes.subresource}): the API server could not be asked (${(err as Error).message})`,
        };
      }
      cached = { allowed, until: now + (allowed ? 300_000 : 30_000) };
      if (this.#cache.size > 1000) this.#cache.clear();
      this.#cache.set(key, cached);
    }
    if (cached.allowed) return { allowed: true };
    return {
      allowed: false,
      code: 403,
      message: `Forbidden (user=${user.name}, verb=${attributes.verb}, resource=nodes, subresource=${attributes.subresource})`,
    };
  }
}
