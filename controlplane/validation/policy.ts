/**
 * policy/v1 PodDisruptionBudget rules (upstream's pkg/apis/policy/validation): one of minAvailable
 * or maxUnavailable, each a non-negative number or a percentage up to 100%, a valid label selector,
 * and a known unhealthy-pod eviction policy. The status the disruption controller writes has no
 * negative counts.
 */
import type { FieldErrors } from './field-errors.ts';
import { checkEnum, checkInteger, isSet, objectAt, type Any } from './fields.ts';
import { checkIntOrPercent } from './apps.ts';
import { validateLabelSelector } from './selectors.ts';

const unhealthyPodEvictionPolicies = ['AlwaysAllow', 'IfHealthyBudget'];

export function validatePodDisruptionBudget(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec) ?? {};
  if (isSet(spec.minAvailable) && isSet(spec.maxUnavailable))
    errors.invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set');
  if (isSet(spec.minAvailable)) checkIntOrPercent(errors, 'spec.minAvailable', spec.minAvailable, true);
  if (isSet(spec.maxUnavailable)) checkIntOrPercent(errors, 'spec.maxUnavailable', spec.maxUnavailable, true);
  validateLabelSelector(errors, 'spec.selector', spec.selector);
  checkEnum(errors, 'spec.unhealthyPodEvictionPolicy', spec.unhealthyPodEvictionPolicy, unhealthyPodEvictionPolicies);
}

export function validatePodDisruptionBudgetStatus(errors: FieldErrors, status: Any): void {
  for (const field of ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods'] as const)
    checkInteger(errors, `status.${field}`, status[field], { min: 0 });
}
