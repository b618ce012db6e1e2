/**
 * POST .../serviceaccounts/<name>/token (TokenRequest): a signed token for an existing service
 * account, optionally bound to a pod or a secret of its namespace, valid for spec.expirationSeconds
 * (default 1 h, at least 10 min, at most `maxExpirationSeconds`: longer asks are shortened with a
 * warning, as upstream's --service-account-max-token-expiration does).
 */
import { ApiError } from '../../kube/errors.ts';
import { isPlainObject, type KubeObject } from '../../kube/types.ts';
import type { RestCall, RestReply } from '../api/rest.ts';
import type { UserInfo } from './types.ts';
import type { ServiceAccountTokens } from './service-account-tokens.ts';
import { apiTime } from '../../kube/api-time.ts';
import { systemClock, type Clock } from '../../kube/clock.ts';

type Any = Record<string, any>;

interface TokenRequestDeps {
  readonly tokens: ServiceAccountTokens;
  serviceAccount(namespace: string, name: string): Promise<KubeObject | undefined>;
  pod(namespace: string, name: string): Promise<KubeObject | undefined>;
  secret?(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** The longest lifetime a token is issued for; 0 or absent: as asked. */
  maxExpirationSeconds?: number;
  clock?: Pick<Clock, 'now'>;
}

/** How Go's JSON decoder names a value it cannot put into a number field (numbers with their text). */
function goJsonKind(value: unknown): string {
  if (typeof value === 'number') return `number ${JSON.stringify(value)}`;
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value === 'boolean' ? 'bool' : typeof value;
}

/** Upstream's own ceiling on any TokenRequest (its validation's 2^32 seconds). */
const longestExpirationSeconds = 2 ** 32;

/** The asked lifetime: 400 when it is not an integer (upstream cannot decode it), 422 out of range. */
function expirationOf(spec: Any): number {
  const asked: unknown = spec.expirationSeconds ?? 3600;
  // upstream's decoder refuses what is not an int64 before validation sees it
  if (typeof asked !== 'number' || !Number.isSafeInteger(asked)) {
    throw new ApiError(
      'BadRequest',
      `TokenRequest in version "v1" cannot be handled as a TokenRequest: json: cannot unmarshal ${goJsonKind(asked)} into Go struct field TokenRequestSpec.spec.expirationSeconds of type int64`,
    );
  }
  const detail =
    asked < 600
      ? 'may not specify a duration less than 10 minutes'
      : asked > longestExpirationSeconds
        ? 'may not specify a duration larger than 2^32 seconds'
        : undefined;
  if (detail !== undefined) {
    throw new ApiError(
      'Invalid',
      `TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: ${asked}: ${detail}`,
      {
        group: 'authentication.k8s.io',
        kind: 'TokenRequest',
        causes: [
          {
            reason: 'FieldValueInvalid',
            field: 'spec.expirationSeconds',
            message: `Invalid value: ${asked}: ${detail}`,
          },
        ],
      },
    );
  }
  return asked;
}

type BoundObject = { kind: 'Pod' | 'Secret'; object: KubeObject };

/** The object the token is bound to, checked as upstream checks it (kind, existence, uid, account). */
async function boundObjectOf(
  deps: TokenRequestDeps,
  ref: Any | undefined,
  namespace: string,
): Promise<BoundObject | undefined> {
  if (ref === undefined || ref === null) return undefined;
  const kind = String(ref.kind ?? '');
  const apiVersion = String(ref.apiVersion ?? '');
  const core = apiVersion === 'v1' || apiVersion === '';
  const name = String(ref.name ?? '');
  let found: KubeObject | undefined;
  if (core && kind === 'Pod') found = await deps.pod(namespace, name);
  else if (core && kind === 'Secret' && deps.secret !== undefined) found = await deps.secret(namespace, name);
  else {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    throw new ApiError('BadRequest', `cannot bind token to object of type ${group}/${version}, Kind=${kind}`);
  }
  const resource = kind === 'Pod' ? 'pods' : 'secrets';
  if (found === undefined) throw new ApiError('NotFound', `${resource} "${name}" not found`, { name, kind: resource });
  if (ref.uid && ref.uid !== found.metadata.uid) {
    throw new ApiError(
      'Conflict',
      `Operation cannot be fulfilled on ${kind} "${name}": the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
      { name, kind },
    );
  }
  return { kind: kind as BoundObject['kind'], object: found };
}

export function tokenRequestHandler(deps: TokenRequestDeps): (call: RestCall) => Promise<RestReply> {
  return async (call) => {
    const namespace = call.request.namespace ?? '';
    const name = call.request.name ?? '';
    const body = (isPlainObject(call.body) ? call.body : {}) as Any;
    const spec = (isPlainObject(body.spec) ? body.spec : {}) as Any;
    const sa = await deps.serviceAccount(namespace, name);
    if (!sa) throw new ApiError('NotFound', `serviceaccounts "${name}" not found`, { name, kind: 'serviceaccounts' });
    const asked = expirationOf(spec);
    const audiences: string[] =
      Array.isArray(spec.audiences) && spec.audiences.length > 0 ? spec.audiences.map(String) : [deps.tokens.issuer];
    const bound = await boundObjectOf(deps, spec.boundObjectRef as Any | undefined, namespace);
    const pod = bound?.kind === 'Pod' ? bound.object : undefined;
    refuseOtherNodesPods(call.user, namespace, name, pod);
    if (pod !== undefined && ((pod.spec as Any | undefined)?.serviceAccountName ?? 'default') !== name) {
      throw new ApiError(
        'BadRequest',
        `cannot bind token for serviceaccount "${name}" to pod running with different serviceaccount name.`,
      );
    }
    const max = deps.maxExpirationSeconds ?? 0;
    const expirationSeconds = max > 0 && asked > max ? max : asked;
    const warnings =
      expirationSeconds < asked
        ? [`requested expiration of ${asked} seconds shortened to ${expirationSeconds} seconds`]
        : [];
    const now = (deps.clock ?? systemClock).now();
    const exp = Math.floor(now / 1000) + expirationSeconds;
    const boundClaim =
      bound === undefined
        ? {}
        : {
            [bound.kind === 'Pod' ? 'pod' : 'secret']: {
              name: bound.object.metadata.name!,
              uid: bound.object.metadata.uid!,
            },
          };
    const token = await deps.tokens.issue(
      {
        sub: `system:serviceaccount:${namespace}:${name}`,
        aud: audiences,
        exp,
        'kubernetes.io': { namespace, serviceaccount: { name, uid: sa.metadata.uid! }, ...boundClaim },
      },
      now,
    );
    return {
      code: 201,
      body: {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { name, namespace, creationTimestamp: null },
        spec: { ...spec, audiences, expirationSeconds },
        status: { token, expirationTimestamp: apiTime(exp * 1000) },
      },
      warnings,
    };
  };
}

/**
 * NodeRestriction for tokens: a node asks only for tokens bound to a pod that runs on it, for
 * the service account that pod runs as.
 */
function refuseOtherNodesPods(
  user: UserInfo,
  namespace: string,
  serviceAccount: string,
  pod: KubeObject | undefined,
): void {
  if (!user.groups.includes('system:nodes') || !user.name.startsWith('system:node:')) return;
  const node = user.name.slice('system:node:'.length);
  const spec = (pod?.spec ?? {}) as Any;
  if (pod === undefined || spec.nodeName !== node || (spec.serviceAccountName ?? 'default') !== serviceAccount) {
    throw new ApiError(
      'Forbidden',
      `node "${node}" can only create tokens for pods bound to it, for their own service account (${namespace}/${serviceAccount})`,
    );
  }
}
