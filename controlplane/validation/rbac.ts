/**
 * rbac.authorization.k8s.io rules (upstream's pkg/apis/rbac/validation): policy rules that say
 * what they grant, role references and subjects of known kinds.
 */
import type { FieldErrors } from './field-errors.ts';
import { checkEnum, checkString, isSet, objectAt, objectsOf, sameJson, stringsOf, type Any } from './fields.ts';
import { dns1123Label, dns1123Subdomain, pathSegment } from '../../kube/name-formats.ts';
import { validateLabelSelector } from './selectors.ts';

const rbacGroup = 'rbac.authorization.k8s.io';

function validateRule(errors: FieldErrors, at: string, rule: Any, namespaced: boolean): void {
  const count = (field: string) => stringsOf(errors, `${at}.${field}`, rule[field]).length;
  if (count('verbs') === 0) errors.required(`${at}.verbs`, 'verbs must contain at least one value');
  const urls = count('nonResourceURLs');
  const groups = count('apiGroups');
  const resources = count('resources');
  const names = count('resourceNames');
  if (urls > 0) {
    if (namespaced)
      errors.invalid(
        `${at}.nonResourceURLs`,
        rule.nonResourceURLs,
        'namespaced rules cannot apply to non-resource URLs',
      );
    if (groups > 0 || resources > 0 || names > 0)
      errors.invalid(
        `${at}.nonResourceURLs`,
        rule.nonResourceURLs,
        'rules cannot apply to both regular resources and non-resource URLs',
      );
    return;
  }
  if (groups === 0) errors.required(`${at}.apiGroups`, 'resource rules must supply at least one api group');
  if (resources === 0) errors.required(`${at}.resources`, 'resource rules must supply at least one resource');
}

export function validateRole(errors: FieldErrors, o: Any, namespaced: boolean): void {
  for (const [rule, at] of objectsOf(errors, 'rules', o.rules)) validateRule(errors, at, rule, namespaced);
  const aggregation = objectAt(errors, 'aggregationRule', o.aggregationRule);
  if (aggregation === undefined) return;
  const selectors = objectsOf(errors, 'aggregationRule.clusterRoleSelectors', aggregation.clusterRoleSelectors);
  if (selectors.length === 0)
    errors.required(
      'aggregationRule.clusterRoleSelectors',
      'at least one clusterRoleSelector required if aggregationRule is non-nil',
    );
  for (const [selector, at] of selectors) validateLabelSelector(errors, at, selector);
}

export function validateBinding(errors: FieldErrors, o: Any, namespaced: boolean): void {
  const roleRef = objectAt(errors, 'roleRef', o.roleRef);
  if (roleRef === undefined) {
    errors.required('roleRef');
  } else {
    if (isSet(roleRef.apiGroup) && roleRef.apiGroup !== '' && roleRef.apiGroup !== rbacGroup)
      errors.notSupported('roleRef.apiGroup', roleRef.apiGroup, [rbacGroup]);
    checkEnum(errors, 'roleRef.kind', roleRef.kind, namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'], true);
    checkString(errors, 'roleRef.name', roleRef.name, pathSegment, true);
  }
  for (const [subject, at] of objectsOf(errors, 'subjects', o.subjects)) {
    checkString(errors, `${at}.name`, subject.name, undefined, true);
    checkEnum(errors, `${at}.kind`, subject.kind, ['Group', 'ServiceAccount', 'User'], true);
    const group = isSet(subject.apiGroup) ? subject.apiGroup : '';
    if (subject.kind === 'ServiceAccount') {
      if (group !== '') errors.notSupported(`${at}.apiGroup`, group, ['']);
      if (typeof subject.name === 'string' && subject.name !== '')
        errors.invalidEach(`${at}.name`, subject.name, dns1123Subdomain(subject.name));
      if (!namespaced) checkString(errors, `${at}.namespace`, subject.namespace, dns1123Label, true);
      else checkString(errors, `${at}.namespace`, subject.namespace, dns1123Label);
    } else if ((subject.kind === 'User' || subject.kind === 'Group') && group !== '' && group !== rbacGroup) {
      errors.notSupported(`${at}.apiGroup`, group, [rbacGroup]);
    }
  }
}

export function validateBindingUpdate(errors: FieldErrors, o: Any, old: Any): void {
  if (!sameJson(o.roleRef, old.roleRef)) errors.invalid('roleRef', o.roleRef, 'cannot change roleRef');
}
