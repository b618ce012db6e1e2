/**
 * SelfSubjectAccessReview / SubjectAccessReview / SelfSubjectReview: answered from the same
 * authorizer that guards requests (what `kubectl auth can-i` and `kubectl auth whoami` ask).
 */
import { ApiError } from '../../kube/errors.ts';
import { isPlainObject } from '../../kube/types.ts';
import type { RestCall, RestReply } from '../api/rest.ts';
import type { Authorizer, UserInfo } from './types.ts';

type Any = Record<string, any>;

export function accessReviewHandler(authorizer: Authorizer): (call: RestCall) => Promise<RestReply> {
  return async (call) => {
    const body = call.body;
    if (!isPlainObject(body)) throw new ApiError('BadRequest', 'the request body must be a JSON object');
    const review = body as Any;
    const resource = call.request.info.resource;
    if (resource === 'selfsubjectreviews') {
      return {
        code: 201,
        body: { ...review, status: { userInfo: { username: call.user.name, groups: call.user.groups } } },
      };
    }
    const spec = (review.spec ?? {}) as Any;
    const user: UserInfo =
      resource === 'selfsubjectaccessreviews' ? call.user : { name: spec.user ?? '', groups: spec.groups ?? [] };
    const ra = spec.resourceAttributes as Any | undefined;
    const nra = spec.nonResourceAttributes as Any | undefined;
    if (!ra && !nra)
      throw new ApiError('Invalid', 'exactly one of nonResourceAttributes or resourceAttributes must be specified', {
        causes: [{ reason: 'FieldValueRequired', field: 'spec.resourceAttributes', message: 'Required value' }],
      });
    const decision = ra
      ? await authorizer.authorize({
          user,
          verb: ra.verb ?? '',
          resource: {
            group: ra.group ?? '',
            resource: ra.resource ?? '',
            subresource: ra.subresource ?? '',
            namespace: ra.namespace ?? '',
            name: ra.name ?? '',
          },
        })
      : await authorizer.authorize({ user, verb: nra!.verb ?? '', path: nra!.path ?? '' });
    return {
      code: 201,
      body: {
        ...review,
        metadata: review.metadata ?? {},
        status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) },
      },
    };
  };
}
