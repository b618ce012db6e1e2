/**
 * Label selectors as workloads carry them (upstream's ValidateLabelSelector), and the rule that
 * a workload's template must carry the labels its selector asks for.
 */
import type { FieldErrors } from './field-errors.ts';
import { checkString, isObject, objectAt, objectsOf, stringsOf, type Any } from './fields.ts';
import { validateLabels } from './metadata.ts';
import { labelValue, qualifiedName } from '../../kube/name-formats.ts';

const operators = ['DoesNotExist', 'Exists', 'In', 'NotIn'];

/** Checks the selector; returns its matchLabels (what the template must carry). */
export function validateLabelSelector(errors: FieldErrors, path: string, value: unknown): Array<[string, string]> {
  const selector = objectAt(errors, path, value);
  if (selector === undefined) return [];
  const matchLabels = validateLabels(errors, `${path}.matchLabels`, selector.matchLabels);
  for (const [expression, at] of objectsOf(errors, `${path}.matchExpressions`, selector.matchExpressions)) {
    checkString(errors, `${at}.key`, expression.key, qualifiedName, true);
    const values = stringsOf(errors, `${at}.values`, expression.values);
    if (typeof expression.operator !== 'string' || !operators.includes(expression.operator)) {
      errors.invalid(`${at}.operator`, expression.operator ?? '', 'not a valid selector operator');
    } else if ((expression.operator === 'In' || expression.operator === 'NotIn') && values.length === 0) {
      errors.required(`${at}.values`, "must be specified when `operator` is 'In' or 'NotIn'");
    } else if ((expression.operator === 'Exists' || expression.operator === 'DoesNotExist') && values.length > 0) {
      errors.forbidden(`${at}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    }
    for (const [item, vat] of values) errors.invalidEach(vat, item, labelValue(item));
  }
  return matchLabels;
}

/** The selector must be set, non-empty, and match the template's labels. */
export function validateSelectorMatchesTemplate(errors: FieldErrors, spec: Any, kind: string): void {
  const selector = objectAt(errors, 'spec.selector', spec.selector);
  if (selector === undefined) return errors.required('spec.selector');
  const matchLabels = validateLabelSelector(errors, 'spec.selector', selector);
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  if (matchLabels.length === 0 && expressions.length === 0)
    errors.invalid('spec.selector', selector, `empty selector is invalid for ${kind}`);
  // The template's own metadata is checked with the template; here only its labels are read.
  const templateLabels: unknown =
    isObject(spec.template) && isObject(spec.template.metadata) ? spec.template.metadata.labels : undefined;
  const labels = new Map(isObject(templateLabels) ? Object.entries(templateLabels) : []);
  if (!matchLabels.every(([k, v]) => labels.get(k) === v)) {
    errors.invalid(
      'spec.template.metadata.labels',
      Object.fromEntries(labels),
      '`selector` does not match template `labels`',
    );
  }
}
