/**
 * What of a mutating webhook's patch the server takes, as upstream's create and update paths do
 * after mutating admission: an object may not move to another namespace (400), an existing object
 * may not be renamed (422, field is immutable), the system fields (uid, creation time, version,
 * generation, deletion marks, managedFields) stay the server's, and a status write keeps only the
 * status (the status strategy resets the rest). Pure: the caller applies the result.
 */
import { ApiError } from '../../../kube/errors.ts';
import type { KubeObject } from '../../../kube/types.ts';
import { FieldErrors } from '../../validation/field-errors.ts';

type Any = Record<string, any>;

const systemFields = [
  'uid',
  'creationTimestamp',
  'resourceVersion',
  'generation',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
] as const;

export function acceptedPatch(
  request: { operation: string; subresource: string | undefined; info: { kind: string; group: string } },
  before: KubeObject,
  patched: Any,
): Any {
  if (request.subresource === 'status') return { ...structuredClone(before), status: patched.status };
  const metadata = (typeof patched.metadata === 'object' && patched.metadata !== null ? patched.metadata : {}) as Any;
  if ((metadata.namespace ?? '') !== (before.metadata.namespace ?? ''))
    throw new ApiError(
      'BadRequest',
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  if (request.operation === 'UPDATE' && metadata.name !== before.metadata.name) {
    const errors = new FieldErrors();
    errors.invalid('metadata.name', metadata.name ?? '', 'field is immutable');
    errors.throwIfAny(request.info.kind, request.info.group, before.metadata.name ?? '');
  }
  const kept: Any = { ...patched, metadata: { ...metadata } };
  for (const field of systemFields) {
    const value = (before.metadata as Any)[field];
    if (value === undefined) delete kept.metadata[field];
    else kept.metadata[field] = structuredClone(value);
  }
  return kept;
}
