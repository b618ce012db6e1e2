/**
 * autoscaling HorizontalPodAutoscaler rules (upstream's pkg/apis/autoscaling/validation), judged on
 * the v2 form whatever version the client wrote, so a v1 client reads the same paths upstream
 * names: replica bounds, the scale target reference, each metric (exactly the source its type
 * names, with a target of the right kind) and the `behavior` scaling rules.
 */
import type { KubeObject } from '../../kube/types.ts';
import { pathSegment, dns1123Label } from '../../kube/name-formats.ts';
import { hpaV1ToV2 } from '../api/hpa-conversion.ts';
import type { FieldErrors } from './field-errors.ts';
import { checkInteger, isSet, objectAt, objectsOf, type Any } from './fields.ts';
import { checkQuantity } from './quantities.ts';

/** Upstream's bounds on a scaling policy's period and a stabilization window, in seconds. */
const maxPeriodSeconds = 1800;
const maxStabilizationWindowSeconds = 3600;

const metricSourceTypes = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];
const sourceFields: Readonly<Record<string, string>> = {
  Object: 'object',
  Pods: 'pods',
  Resource: 'resource',
  External: 'external',
  ContainerResource: 'containerResource',
};
const selectPolicies = ['Disabled', 'Max', 'Min'];
const policyTypes = ['Percent', 'Pods'];

/** The v2 form of what the client sent (autoscaling/v1 objects are converted first). */
function asV2(object: Any): Any {
  return object.apiVersion === 'autoscaling/v1' ? (hpaV1ToV2(object as KubeObject) as Any) : object;
}

function validateCrossVersionObjectReference(errors: FieldErrors, path: string, value: unknown): void {
  const ref = objectAt(errors, path, value) ?? {};
  for (const field of ['kind', 'name'] as const) {
    const text = ref[field];
    if (!isSet(text) || text === '') errors.required(`${path}.${field}`);
    else if (typeof text !== 'string') errors.wrongType(`${path}.${field}`, text, 'string');
    else errors.invalidEach(`${path}.${field}`, text, pathSegment(text));
  }
}

/** A quantity that must be above zero (upstream's `Sign() != 1`). */
function checkPositiveQuantity(errors: FieldErrors, path: string, value: unknown): void {
  const amount = checkQuantity(errors, path, value, false);
  if (amount !== undefined && !(amount > 0)) errors.invalid(path, value, 'must be positive');
}

function validateMetricTarget(errors: FieldErrors, path: string, target: Any): void {
  if (!isSet(target.type) || target.type === '') errors.required(`${path}.type`, 'must specify a metric target type');
  if (!['Utilization', 'Value', 'AverageValue'].includes(target.type))
    errors.invalid(`${path}.type`, target.type ?? '', 'must be either Utilization, Value, or AverageValue');
  if (isSet(target.value)) checkPositiveQuantity(errors, `${path}.value`, target.value);
  if (isSet(target.averageValue)) checkPositiveQuantity(errors, `${path}.averageValue`, target.averageValue);
  if (checkInteger(errors, `${path}.averageUtilization`, target.averageUtilization) && target.averageUtilization < 1)
    errors.invalid(`${path}.averageUtilization`, target.averageUtilization, 'must be greater than 0');
}

function validateMetricIdentifier(errors: FieldErrors, path: string, value: unknown): void {
  const id = objectAt(errors, path, value) ?? {};
  if (!isSet(id.name) || id.name === '') errors.required(`${path}.name`, 'must specify a metric name');
  else if (typeof id.name !== 'string') errors.wrongType(`${path}.name`, id.name, 'string');
  else errors.invalidEach(`${path}.name`, id.name, pathSegment(id.name));
}

function validateSource(errors: FieldErrors, type: string, path: string, source: Any): void {
  const target = objectAt(errors, `${path}.target`, source.target) ?? {};
  const targetPath = `${path}.target`;
  switch (type) {
    case 'object':
      validateCrossVersionObjectReference(errors, `${path}.describedObject`, source.describedObject);
      validateMetricIdentifier(errors, `${path}.metric`, source.metric);
      validateMetricTarget(errors, targetPath, target);
      if (!isSet(target.value) && !isSet(target.averageValue))
        errors.required(`${targetPath}.averageValue`, 'must set either a target value or averageValue');
      return;
    case 'external':
      validateMetricIdentifier(errors, `${path}.metric`, source.metric);
      validateMetricTarget(errors, targetPath, target);
      if (!isSet(target.value) && !isSet(target.averageValue))
        errors.required(`${targetPath}.averageValue`, 'must set either a target value for metric or a per-pod target');
      if (isSet(target.value) && isSet(target.averageValue))
        errors.forbidden(`${targetPath}.value`, 'may not set both a target value for metric and a per-pod target');
      return;
    case 'pods':
      validateMetricIdentifier(errors, `${path}.metric`, source.metric);
      validateMetricTarget(errors, targetPath, target);
      if (!isSet(target.averageValue))
        errors.required(`${targetPath}.averageValue`, 'must specify a positive target averageValue');
      return;
    case 'resource':
    case 'containerResource':
      if (!isSet(source.name) || source.name === '') errors.required(`${path}.name`, 'must specify a resource name');
      if (type === 'containerResource') {
        if (!isSet(source.container) || source.container === '')
          errors.required(`${path}.container`, 'must specify a container');
        else if (typeof source.container !== 'string')
          errors.wrongType(`${path}.container`, source.container, 'string');
        else errors.invalidEach(`${path}.container`, source.container, dns1123Label(source.container));
      }
      validateMetricTarget(errors, targetPath, target);
      if (!isSet(target.averageUtilization) && !isSet(target.averageValue))
        errors.required(
          `${targetPath}.averageUtilization`,
          'must set either a target raw value or a target utilization',
        );
      if (isSet(target.averageUtilization) && isSet(target.averageValue))
        errors.forbidden(`${targetPath}.averageValue`, 'may not set both a target raw value and a target utilization');
      return;
  }
}

function validateMetricSpec(errors: FieldErrors, path: string, metric: Any): void {
  const type = metric.type;
  if (!isSet(type) || type === '') errors.required(`${path}.type`, 'must specify a metric source type');
  if (!metricSourceTypes.includes(type)) errors.notSupported(`${path}.type`, type ?? '', metricSourceTypes);
  const present = Object.values(sourceFields).filter((field) => isSet(metric[field]));
  const first = present[0];
  if (first !== undefined) {
    const source = objectAt(errors, `${path}.${first}`, metric[first]);
    if (source !== undefined) validateSource(errors, first, `${path}.${first}`, source);
  }
  const expected = typeof type === 'string' ? sourceFields[type] : undefined;
  if (expected !== undefined && !isSet(metric[expected]))
    errors.required(`${path}.${expected}`, 'must populate information for the given metric source');
  // upstream says so twice for an unknown type: once before and once in its switch over the types
  if (expected === undefined) errors.notSupported(`${path}.type`, type ?? '', metricSourceTypes);
  if (present.length > 1)
    for (const field of present)
      if (field !== expected) errors.forbidden(`${path}.${field}`, 'must populate the given metric source only');
}

function validateScalingRules(errors: FieldErrors, path: string, value: unknown): void {
  const rules = objectAt(errors, path, value);
  if (rules === undefined) return;
  const window = rules.stabilizationWindowSeconds;
  if (checkInteger(errors, `${path}.stabilizationWindowSeconds`, window)) {
    if (window < 0)
      errors.invalid(`${path}.stabilizationWindowSeconds`, window, 'must be greater than or equal to zero');
    if (window > maxStabilizationWindowSeconds)
      errors.invalid(
        `${path}.stabilizationWindowSeconds`,
        window,
        `must be less than or equal to ${maxStabilizationWindowSeconds}`,
      );
  }
  if (isSet(rules.tolerance)) {
    const tolerance = checkQuantity(errors, `${path}.tolerance`, rules.tolerance, false);
    if (tolerance !== undefined && tolerance < 0)
      errors.invalid(`${path}.tolerance`, rules.tolerance, 'must be greater than or equal to zero');
  }
  if (isSet(rules.selectPolicy) && !selectPolicies.includes(rules.selectPolicy))
    errors.notSupported(`${path}.selectPolicy`, rules.selectPolicy, selectPolicies);
  const policies = objectsOf(errors, `${path}.policies`, rules.policies);
  if (!Array.isArray(rules.policies) || rules.policies.length === 0)
    errors.required(`${path}.policies`, 'must specify at least one Policy');
  for (const [policy, at] of policies) {
    if (policy.type !== 'Pods' && policy.type !== 'Percent')
      errors.notSupported(`${at}.type`, policy.type ?? '', policyTypes);
    if (checkInteger(errors, `${at}.value`, policy.value ?? 0) && (policy.value ?? 0) <= 0)
      errors.invalid(`${at}.value`, policy.value ?? 0, 'must be greater than zero');
    const period = policy.periodSeconds ?? 0;
    if (checkInteger(errors, `${at}.periodSeconds`, period)) {
      if (period <= 0) errors.invalid(`${at}.periodSeconds`, period, 'must be greater than zero');
      if (period > maxPeriodSeconds)
        errors.invalid(`${at}.periodSeconds`, period, `must be less than or equal to ${maxPeriodSeconds}`);
    }
  }
}

export function validateHorizontalPodAutoscaler(errors: FieldErrors, object: Any): void {
  const hpa = asV2(object);
  const spec = objectAt(errors, 'spec', hpa.spec) ?? {};
  // scale to zero is an alpha feature (HPAScaleToZero), off as upstream's default
  const min = spec.minReplicas;
  if (checkInteger(errors, 'spec.minReplicas', min) && min < 1)
    errors.invalid('spec.minReplicas', min, 'must be greater than or equal to 1');
  const max = spec.maxReplicas ?? 0;
  if (checkInteger(errors, 'spec.maxReplicas', max)) {
    if (max < 1) errors.invalid('spec.maxReplicas', max, 'must be greater than 0');
    if (typeof min === 'number' && max < min)
      errors.invalid('spec.maxReplicas', max, 'must be greater than or equal to `minReplicas`');
  }
  validateCrossVersionObjectReference(errors, 'spec.scaleTargetRef', spec.scaleTargetRef);
  for (const [metric, at] of objectsOf(errors, 'spec.metrics', spec.metrics)) validateMetricSpec(errors, at, metric);
  const behavior = objectAt(errors, 'spec.behavior', spec.behavior);
  if (behavior !== undefined) {
    validateScalingRules(errors, 'spec.behavior.scaleUp', behavior.scaleUp);
    validateScalingRules(errors, 'spec.behavior.scaleDown', behavior.scaleDown);
  }
}

export function validateHorizontalPodAutoscalerStatus(errors: FieldErrors, status: Any): void {
  for (const field of ['currentReplicas', 'desiredReplicas'] as const)
    checkInteger(errors, `status.${field}`, status[field], { min: 0 });
}
