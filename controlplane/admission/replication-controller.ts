/**
 * v1 ReplicationController defaults and validation, as upstream's core/v1 defaults and
 * ValidateReplicationControllerSpec: the selector (a map of labels) and the RC's own labels come
 * from the template's labels when absent, one replica by default; the selector must not be empty
 * and must match the template's labels, counts are non-negative, and the pods it makes restart
 * Always with no deadline. Unlike the apps/v1 kinds, the selector may change after creation.
 */
import { defaultWorkload } from './defaults.ts';
import { type FieldErrors, validatePodSpec } from './validation.ts';

type Any = Record<string, any>;

export function defaultReplicationController(rc: Any): void {
  defaultWorkload('ReplicationController', rc);
  const spec = rc.spec as Any;
  const templateLabels = spec.template?.metadata?.labels as Record<string, string> | undefined;
  if (templateLabels !== undefined) {
    if (Object.keys(spec.selector ?? {}).length === 0) spec.selector = { ...templateLabels };
    if (Object.keys(rc.metadata?.labels ?? {}).length === 0) rc.metadata.labels = { ...templateLabels };
  }
  spec.replicas ??= 1;
}

function nonNegative(errors: FieldErrors, field: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'number' || value < 0)) errors.invalid(field, value, 'must be greater than or equal to 0');
}

export function validateReplicationControllerSpec(errors: FieldErrors, spec: Any | undefined): void {
  const selector = (spec?.selector ?? {}) as Record<string, string>;
  nonNegative(errors, 'spec.minReadySeconds', spec?.minReadySeconds);
  if (Object.keys(selector).length === 0) errors.required('spec.selector');
  nonNegative(errors, 'spec.replicas', spec?.replicas);
  const template = spec?.template as Any | undefined;
  if (template === undefined || template === null) return errors.required('spec.template');
  const labels = (template.metadata?.labels ?? {}) as Record<string, string>;
  if (!Object.entries(selector).every(([key, value]) => labels[key] === value)) {
    errors.invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`');
  }
  validatePodSpec(errors, template.spec, 'spec.template.spec');
  const restartPolicy = template.spec?.restartPolicy;
  if (restartPolicy !== 'Always') errors.notSupported('spec.template.spec.restartPolicy', restartPolicy, ['Always']);
  if (template.spec?.activeDeadlineSeconds !== undefined) {
    errors.forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in ReplicationController is not Supported');
  }
}
