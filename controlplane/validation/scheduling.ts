/**
 * Where a pod may run, as the scheduler reads it (upstream's validateAffinity and
 * validateTopologySpreadConstraints): node selector terms with known operators, pod
 * (anti-)affinity terms with label selectors and topology keys, weights of preferred terms,
 * spread constraints with a positive skew.
 */
import type { FieldErrors } from './field-errors.ts';
import { checkEnum, checkInteger, checkString, objectAt, objectsOf, stringsOf, type Any } from './fields.ts';
import { labelValue, qualifiedName } from '../../kube/name-formats.ts';
import { validateLabelSelector } from './selectors.ts';

const nodeOperators = ['DoesNotExist', 'Exists', 'Gt', 'In', 'Lt', 'NotIn'];

function validateNodeRequirements(
  errors: FieldErrors,
  path: string,
  value: unknown,
  keyCheck: (v: string) => string[],
): void {
  for (const [requirement, at] of objectsOf(errors, path, value)) {
    checkString(errors, `${at}.key`, requirement.key, keyCheck, true);
    const values = stringsOf(errors, `${at}.values`, requirement.values);
    const operator = requirement.operator;
    if (typeof operator !== 'string' || !nodeOperators.includes(operator)) {
      errors.invalid(`${at}.operator`, operator ?? '', 'not a valid selector operator');
    } else if ((operator === 'In' || operator === 'NotIn') && values.length === 0) {
      errors.required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'");
    } else if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0) {
      errors.forbidden(`${at}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    } else if (operator === 'Gt' || operator === 'Lt') {
      if (values.length !== 1)
        errors.required(`${at}.values`, "must be specified single value when `operator` is 'Lt' or 'Gt'");
      else if (!/^-?\d+$/.test(values[0]![0])) errors.invalid(`${at}.values[0]`, values[0]![0], 'must be an integer');
    }
    if (operator !== 'Gt' && operator !== 'Lt')
      for (const [item, vat] of values) errors.invalidEach(vat, item, labelValue(item));
  }
}

export function validateNodeSelectorTerm(errors: FieldErrors, at: string, term: Any): void {
  validateNodeRequirements(errors, `${at}.matchExpressions`, term.matchExpressions, qualifiedName);
  // Field selectors on nodes may only name metadata.name.
  validateNodeRequirements(errors, `${at}.matchFields`, term.matchFields, (key) =>
    key === 'metadata.name' ? [] : ['not a valid field selector key'],
  );
}

function validatePodAffinityTerm(errors: FieldErrors, at: string, term: Any): void {
  validateLabelSelector(errors, `${at}.labelSelector`, term.labelSelector);
  validateLabelSelector(errors, `${at}.namespaceSelector`, term.namespaceSelector);
  for (const [namespace, nat] of stringsOf(errors, `${at}.namespaces`, term.namespaces))
    checkString(errors, nat, namespace);
  checkString(errors, `${at}.topologyKey`, term.topologyKey, qualifiedName, true);
}

export function validateAffinity(errors: FieldErrors, path: string, value: unknown): void {
  const affinity = objectAt(errors, path, value);
  if (affinity === undefined) return;
  const node = objectAt(errors, `${path}.nodeAffinity`, affinity.nodeAffinity);
  const required = objectAt(
    errors,
    `${path}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`,
    node?.requiredDuringSchedulingIgnoredDuringExecution,
  );
  if (required) {
    const termsPath = `${path}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`;
    const terms = objectsOf(errors, termsPath, required.nodeSelectorTerms);
    if (terms.length === 0) errors.required(termsPath, 'must have at least one node selector term');
    for (const [term, at] of terms) validateNodeSelectorTerm(errors, at, term);
  }
  for (const [preferred, at] of objectsOf(
    errors,
    `${path}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution`,
    node?.preferredDuringSchedulingIgnoredDuringExecution,
  )) {
    checkInteger(errors, `${at}.weight`, preferred.weight, { min: 1, max: 100, required: true });
    const term = objectAt(errors, `${at}.preference`, preferred.preference);
    if (term) validateNodeSelectorTerm(errors, `${at}.preference`, term);
  }
  for (const kind of ['podAffinity', 'podAntiAffinity'] as const) {
    const pods = objectAt(errors, `${path}.${kind}`, affinity[kind]);
    for (const [term, at] of objectsOf(
      errors,
      `${path}.${kind}.requiredDuringSchedulingIgnoredDuringExecution`,
      pods?.requiredDuringSchedulingIgnoredDuringExecution,
    )) {
      validatePodAffinityTerm(errors, at, term);
    }
    for (const [preferred, at] of objectsOf(
      errors,
      `${path}.${kind}.preferredDuringSchedulingIgnoredDuringExecution`,
      pods?.preferredDuringSchedulingIgnoredDuringExecution,
    )) {
      checkInteger(errors, `${at}.weight`, preferred.weight, { min: 1, max: 100, required: true });
      const term = objectAt(errors, `${at}.podAffinityTerm`, preferred.podAffinityTerm);
      if (term) validatePodAffinityTerm(errors, `${at}.podAffinityTerm`, term);
      else errors.required(`${at}.podAffinityTerm`);
    }
  }
}

export function validateTopologySpread(errors: FieldErrors, path: string, value: unknown): void {
  const seen = new Set<string>();
  for (const [constraint, at] of objectsOf(errors, path, value)) {
    checkInteger(errors, `${at}.maxSkew`, constraint.maxSkew, {
      min: 1,
      required: true,
      rangeMessage: 'must be greater than zero',
    });
    checkString(errors, `${at}.topologyKey`, constraint.topologyKey, qualifiedName, true);
    checkEnum(
      errors,
      `${at}.whenUnsatisfiable`,
      constraint.whenUnsatisfiable,
      ['DoNotSchedule', 'ScheduleAnyway'],
      true,
    );
    checkInteger(errors, `${at}.minDomains`, constraint.minDomains, {
      min: 1,
      rangeMessage: 'must be greater than zero',
    });
    checkEnum(errors, `${at}.nodeAffinityPolicy`, constraint.nodeAffinityPolicy, ['Honor', 'Ignore']);
    checkEnum(errors, `${at}.nodeTaintsPolicy`, constraint.nodeTaintsPolicy, ['Honor', 'Ignore']);
    validateLabelSelector(errors, `${at}.labelSelector`, constraint.labelSelector);
    stringsOf(errors, `${at}.matchLabelKeys`, constraint.matchLabelKeys);
    const pair = `${String(constraint.topologyKey)}/${String(constraint.whenUnsatisfiable)}`;
    if (seen.has(pair)) errors.duplicate(`${at}.{topologyKey, whenUnsatisfiable}`, pair);
    seen.add(pair);
  }
}
