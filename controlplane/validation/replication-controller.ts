/**
 * v1 ReplicationController, as upstream's ValidateReplicationControllerSpec: the selector (a map of
 * labels) must not be empty and must match the template's labels, counts are non-negative, and the
 * pods it makes restart Always with no deadline. Unlike the apps/v1 kinds, the selector may change
 * after creation, so there is no update rule of its own.
 */
import type { FieldErrors } from './field-errors.ts';
import { isObject, type Any } from './fields.ts';
import { validatePodTemplate } from './pod.ts';

function nonNegative(errors: FieldErrors, field: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'number' || value < 0))
    errors.invalid(field, value, 'must be greater than or equal to 0');
}

export function validateReplicationController(errors: FieldErrors, o: Any): void {
  const spec: Any = isObject(o.spec) ? o.spec : {};
  const selector: Record<string, unknown> = isObject(spec.selector) ? spec.selector : {};
  nonNegative(errors, 'spec.minReadySeconds', spec.minReadySeconds);
  if (Object.keys(selector).length === 0) errors.required('spec.selector');
  nonNegative(errors, 'spec.replicas', spec.replicas);
  const template = spec.template as unknown;
  if (!isObject(template)) return errors.required('spec.template');
  const labels: Record<string, unknown> =
    isObject(template.metadata) && isObject(template.metadata.labels) ? template.metadata.labels : {};
  if (!Object.entries(selector).every(([key, value]) => labels[key] === value)) {
    errors.invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`');
  }
  validatePodTemplate(errors, 'spec.template', template, ['Always']);
  if (isObject(template.spec) && template.spec.restartPolicy === undefined)
    errors.notSupported('spec.template.spec.restartPolicy', undefined, ['Always']);
  if (isObject(template.spec) && template.spec.activeDeadlineSeconds !== undefined) {
    errors.forbidden(
      'spec.template.spec.activeDeadlineSeconds',
      'activeDeadlineSeconds in ReplicationController is not Supported',
    );
  }
}
