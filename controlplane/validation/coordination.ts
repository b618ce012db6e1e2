/** coordination.k8s.io Lease rules (upstream's pkg/apis/coordination/validation). */
import type { FieldErrors } from './field-errors.ts';
import { checkInteger, checkString, objectAt, type Any } from './fields.ts';

export function validateLease(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec);
  if (spec === undefined) return;
  checkString(errors, 'spec.holderIdentity', spec.holderIdentity);
  checkInteger(errors, 'spec.leaseDurationSeconds', spec.leaseDurationSeconds, {
    min: 1,
    rangeMessage: 'must be greater than 0',
  });
  checkInteger(errors, 'spec.leaseTransitions', spec.leaseTransitions, { min: 0 });
  for (const field of ['acquireTime', 'renewTime'] as const) checkString(errors, `spec.${field}`, spec[field]);
}
