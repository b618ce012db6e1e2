/**
 * The AdmissionReview (admission.k8s.io/v1) a webhook receives, and what its answer means, as
 * upstream builds and reads them: the request names the object by kind and resource, carries the
 * user and both objects; the answer must be an AdmissionReview for the same uid, may allow or
 * deny with a Status, and (mutating webhooks only) may carry a JSONPatch. Pure: no I/O.
 */
import type { UserInfo } from '../../auth/types.ts';
import type { AdmissionRequest } from '../../api/registry.ts';

type Any = Record<string, any>;

interface ReviewInput {
  readonly uid: string;
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly resource: string;
  /** '' for the main resource. */
  readonly subresource: string;
  readonly name: string;
  readonly namespace: string;
  readonly operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  readonly user: UserInfo | undefined;
  readonly object: Any | undefined;
  readonly oldObject: Any | undefined;
  readonly dryRun: boolean;
}

const optionsKind = { CREATE: 'CreateOptions', UPDATE: 'UpdateOptions', DELETE: 'DeleteOptions', CONNECT: '' };

function admissionReview(input: ReviewInput): Any {
  const kind = { group: input.group, version: input.version, kind: input.kind };
  const resource = { group: input.group, version: input.version, resource: input.resource };
  const apiVersion = input.group === '' ? input.version : `${input.group}/${input.version}`;
  const typed = (o: Any | undefined) => (o === undefined ? null : { apiVersion, kind: input.kind, ...o });
  const user = input.user;
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: input.uid,
      kind,
      resource,
      ...(input.subresource ? { subResource: input.subresource } : {}),
      requestKind: kind,
      requestResource: resource,
      ...(input.subresource ? { requestSubResource: input.subresource } : {}),
      ...(input.name ? { name: input.name } : {}),
      ...(input.namespace ? { namespace: input.namespace } : {}),
      operation: input.operation,
      userInfo: user
        ? {
            username: user.name,
            ...(user.uid ? { uid: user.uid } : {}),
            groups: [...user.groups],
          }
        : { username: 'system:apiserver', groups: ['system:masters'] },
      object: input.operation === 'DELETE' ? null : typed(input.object),
      oldObject: typed(input.oldObject),
      dryRun: input.dryRun,
      ...(optionsKind[input.operation]
        ? { options: { apiVersion: 'meta.k8s.io/v1', kind: optionsKind[input.operation] } }
        : {}),
    },
  };
}

/** The AdmissionReview of a write the registry admits. */
export function reviewOf(request: AdmissionRequest, uid: string, user: UserInfo | undefined, dryRun: boolean): Any {
  return admissionReview({
    uid,
    group: request.info.group,
    version: request.info.version,
    kind: request.info.kind,
    resource: request.info.resource,
    subresource: request.subresource ?? '',
    name: request.object.metadata.name ?? '',
    namespace: request.object.metadata.namespace ?? '',
    operation: request.operation,
    user,
    object: request.object as Any,
    oldObject: request.old as Any | undefined,
    dryRun,
  });
}

/** What a webhook said, once its answer has been checked. */
interface Verdict {
  readonly allowed: boolean;
  /** The refusal's Status as the webhook wrote it (code, reason, message). */
  readonly status: Any | undefined;
  /** JSON patch operations (mutating webhooks). */
  readonly patch: unknown[] | undefined;
  readonly warnings: readonly string[];
  readonly auditAnnotations: Readonly<Record<string, string>>;
}

/** An answer that breaks the protocol: the call failed, and the failure policy decides. */
export class MalformedReview extends Error {}

/** Reads a webhook's answer; throws MalformedReview with upstream's words when it is not a valid one. */
export function readVerdict(body: unknown, uid: string, mutating: boolean): Verdict {
  const review = (typeof body === 'object' && body !== null ? body : {}) as Any;
  if (review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview')
    throw new MalformedReview(
      `expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${review.apiVersion ?? ''}, Kind=${review.kind ?? ''}`,
    );
  const response = review.response as Any | undefined;
  if (typeof response !== 'object' || response === null) throw new MalformedReview('webhook response was absent');
  if (response.uid !== uid)
    throw new MalformedReview(
      `expected response.uid=${JSON.stringify(uid)}, got ${JSON.stringify(response.uid ?? '')}`,
    );
  let patch: unknown[] | undefined;
  if (response.patch !== undefined && response.patch !== null && response.patch !== '') {
    if (!mutating) throw new MalformedReview('validating webhooks may not return patches');
    if (response.patchType === undefined || response.patchType === null)
      throw new MalformedReview('webhook returned response.patch but not response.patchType');
    if (response.patchType !== 'JSONPatch')
      throw new MalformedReview(`webhook returned invalid response.patchType of ${JSON.stringify(response.patchType)}`);
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(String(response.patch), 'base64').toString('utf8'));
    } catch (err) {
      throw new MalformedReview(`error decoding patch: ${(err as Error).message}`);
    }
    if (!Array.isArray(decoded)) throw new MalformedReview('error decoding patch: a JSON patch must be a list');
    patch = decoded;
  } else if (response.patchType !== undefined && response.patchType !== null && !mutating) {
    throw new MalformedReview('validating webhooks may not return response.patchType');
  }
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries((response.auditAnnotations ?? {}) as Any))
    if (typeof value === 'string') annotations[key] = value;
  return {
    allowed: response.allowed === true,
    status: typeof response.status === 'object' && response.status !== null ? response.status : undefined,
    patch,
    warnings: Array.isArray(response.warnings) ? response.warnings.filter((w: unknown) => typeof w === 'string') : [],
    auditAnnotations: annotations,
  };
}

/** The message of a refusal: `admission webhook "x" denied the request: <why>`. */
export function denialMessage(webhook: string, status: Any | undefined): string {
  const deniedBy = `admission webhook ${JSON.stringify(webhook)} denied the request`;
  if (typeof status?.message === 'string' && status.message !== '') return `${deniedBy}: ${status.message}`;
  if (typeof status?.reason === 'string' && status.reason !== '') return `${deniedBy}: ${status.reason}`;
  return `${deniedBy} without explanation`;
}
