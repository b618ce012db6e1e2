/**
 * POST .../serviceaccounts/<name>/token (TokenRequest): a signed token for an existing service
 * account, optionally bound to a pod, valid for spec.expirationSeconds (default 1 h, at least 10 min).
 */
import { ApiError } from '../../kube/errors.ts';
import { isPlainObject, type KubeObject } from '../../kube/types.ts';
import type { RestCall, RestReply } from '../api/rest.ts';
import type { UserInfo } from './types.ts';
import type { ServiceAccountTokens } from './service-account-tokens.ts';

type Any = Record<string, any>;

export interface TokenRequestDeps {
  readonly tokens: ServiceAccountTokens;
  serviceAccount(namespace: string, name: string): Promise<KubeObject | undefined>;
  pod(namespace: string, name: string): Promise<KubeObject | undefined>;
  now?: () => number;
}

/** How Go's JSON decoder names a value it cannot put into a number field (numbers with their text). */
function goJsonKind(value: unknown): string {
  if (typeof value === 'number') return `number ${JSON.stringify(value)}`;
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value === 'boolean' ? 'bool' : typeof value;
}

export function tokenRequestHandler(deps: TokenRequestDeps): (call: RestCall) => Promise<RestReply> {
  return async (call) => {
    const namespace = call.request.namespace ?? '';
    const name = call.request.name ?? '';
    const body = (isPlainObject(call.body) ? call.body : {}) as Any;
    const spec = (isPlainObject(body.spec) ? body.spec : {}) as Any;
    const sa = await deps.serviceAccount(namespace, name);
    if (!sa) throw new ApiError('NotFound', `serviceaccounts "${name}" not found`, { name, kind: 'serviceaccounts' });
    const expirationSeconds = spec.expirationSeconds ?? 3600;
    // upstream's decoder refuses what is not an int64 before validation sees it
    if (typeof expirationSeconds !== 'number' || !Number.isSafeInteger(expirationSeconds)) {
      throw new ApiError(
        'BadRequest',
        `TokenRequest in version "v1" cannot be handled as a TokenRequest: json: cannot unmarshal ${goJsonKind(expirationSeconds)} into Go struct field TokenRequestSpec.spec.expirationSeconds of type int64`,
      );
    }
    if (!Number.isInteger(expirationSeconds) || expirationSeconds < 600) {
      throw new ApiError('Invalid', `TokenRequest is invalid: spec.expirationSeconds: Invalid value: ${JSON.stringify(expirationSeconds)}: may not specify a duration less than 10 minutes`, {
        causes: [{ reason: 'FieldValueInvalid', field: 'spec.expirationSeconds', message: 'may not specify a duration less than 10 minutes' }],
      });
    }
    const audiences: string[] = Array.isArray(spec.audiences) && spec.audiences.length > 0 ? spec.audiences.map(String) : [deps.tokens.issuer];
    let pod: { name: string; uid: string } | undefined;
    let found: KubeObject | undefined;
    const ref = spec.boundObjectRef as Any | undefined;
    if (ref?.kind === 'Pod') {
      found = await deps.pod(namespace, String(ref.name ?? ''));
      if (!found || (ref.uid && ref.uid !== found.metadata.uid)) throw new ApiError('NotFound', `pods "${ref.name}" not found`);
      pod = { name: found.metadata.name!, uid: found.metadata.uid! };
    } else if (ref?.kind !== undefined) {
      throw new ApiError('BadRequest', `cannot bind a token to a ${ref.kind}; only Pod is supported`);
    }
    refuseOtherNodesPods(call.user, namespace, name, found);
    const now = deps.now?.() ?? Date.now();
    const exp = Math.floor(now / 1000) + expirationSeconds;
    const token = await deps.tokens.issue(
      {
        sub: `system:serviceaccount:${namespace}:${name}`,
        aud: audiences,
        exp,
        'kubernetes.io': { namespace, serviceaccount: { name, uid: sa.metadata.uid! }, ...(pod ? { pod } : {}) },
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
        status: { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') },
      },
    };
  };
}

/**
 * NodeRestriction for tokens: a node asks only for tokens bound to a pod that runs on it, for
 * the service account that pod runs as.
 */
function refuseOtherNodesPods(user: UserInfo, namespace: string, serviceAccount: string, pod: KubeObject | undefined): void {
  if (!user.groups.includes('system:nodes') || !user.name.startsWith('system:node:')) return;
  const node = user.name.slice('system:node:'.length);
  const spec = (pod?.spec ?? {}) as Any;
  if (pod === undefined || spec.nodeName !== node || (spec.serviceAccountName ?? 'default') !== serviceAccount) {
    throw new ApiError('Forbidden', `node "${node}" can only create tokens for pods bound to it, for their own service account (${namespace}/${serviceAccount})`);
  }
}
