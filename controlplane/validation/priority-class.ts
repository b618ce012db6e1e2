/**
 * scheduling.k8s.io PriorityClass rules (upstream's pkg/apis/scheduling/validation): names with the
 * `system-` prefix are only the built-in classes with their own values, other classes stay at or
 * below the highest user-definable priority, and a class's value and preemption policy never change
 * (pods already carry the number they were admitted with).
 */
import type { FieldErrors } from './field-errors.ts';
import { checkBoolean, checkEnum, checkInteger, checkString, isSet, type Any } from './fields.ts';
import { highestUserDefinablePriority, systemPriorityClassPrefix, unknownSystemClass } from '../admission/priority.ts';

const preemptionPolicies = ['PreemptLowerPriority', 'Never'];

export function validatePriorityClass(errors: FieldErrors, o: Any): void {
  const name = typeof o.metadata?.name === 'string' ? o.metadata.name : '';
  const valid = checkInteger(errors, 'value', o.value, { min: -2_147_483_648, max: 2_147_483_647 });
  checkBoolean(errors, 'globalDefault', o.globalDefault);
  checkString(errors, 'description', o.description);
  if (name.startsWith(systemPriorityClassPrefix)) {
    const why = unknownSystemClass(name, o.value ?? 0, o.globalDefault);
    if (why !== undefined)
      errors.forbidden(
        'metadata.name',
        `priority class names with '${systemPriorityClassPrefix}' prefix are reserved for system use only. error: ${why}`,
      );
  } else if (valid && o.value > highestUserDefinablePriority) {
    errors.forbidden('value', `maximum allowed value of a user defined priority is ${highestUserDefinablePriority}`);
  }
  if (isSet(o.preemptionPolicy)) checkEnum(errors, 'preemptionPolicy', o.preemptionPolicy, preemptionPolicies, true);
}

export function validatePriorityClassUpdate(errors: FieldErrors, o: Any, old: Any): void {
  if ((o.value ?? 0) !== (old.value ?? 0)) errors.forbidden('value', 'may not be changed in an update.');
  if (o.preemptionPolicy !== old.preemptionPolicy)
    errors.invalid('preemptionPolicy', o.preemptionPolicy, 'field is immutable');
}
