/**
 * Whether a webhook (or a policy's match constraints) applies to a request, as upstream decides it
 * (k8s.io/apiserver admission/plugin/webhook predicates): the rules (operations, API groups,
 * versions, resources with their subresources, scope), then the namespace and object selectors.
 * Pure: the caller looks up the namespace's labels.
 */
import { matchesLabels, selectorFromObject, type LabelSelectorObject } from '../../../kube/labels.ts';
import type { AdmissionRequest } from '../../api/registry.ts';

type Any = Record<string, any>;

/** What a request is about, in the terms webhook rules use. */
export interface RequestAttributes {
  readonly operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  /** '' for the main resource. */
  readonly subresource: string;
  readonly namespaced: boolean;
  /** '' for cluster-scoped objects. */
  readonly namespace: string;
}

/** The attributes of a write the registry admits. */
export function requestAttributes(request: AdmissionRequest): RequestAttributes {
  return {
    operation: request.operation,
    group: request.info.group,
    version: request.info.version,
    resource: request.info.resource,
    subresource: request.subresource ?? '',
    namespaced: request.info.namespaced,
    namespace: request.object.metadata.namespace ?? '',
  };
}

const listOf = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v) => typeof v === 'string') : []);
const hasOrStar = (values: string[], value: string): boolean => values.includes('*') || values.includes(value);

/** `pods`, `pods/status`, `*`, `*​/status`, `pods/*`, `*​/*` against the request's resource and subresource. */
function resourceMatches(patterns: string[], resource: string, subresource: string): boolean {
  for (const pattern of patterns) {
    if (pattern === '*/*') return true;
    const [wantResource = '', wantSub = ''] = pattern.split('/', 2);
    if (pattern.includes('/')) {
      if (subresource === '') continue;
      if ((wantResource === '*' || wantResource === resource) && (wantSub === '*' || wantSub === subresource))
        return true;
    } else if (subresource === '' && (wantResource === '*' || wantResource === resource)) return true;
  }
  return false;
}

function scopeMatches(scope: unknown, attributes: RequestAttributes): boolean {
  if (scope === 'Cluster') return !attributes.namespaced;
  if (scope === 'Namespaced') return attributes.namespaced;
  return true;
}

/**
 * One RuleWithOperations. `exact` (matchPolicy Exact) also requires the version; Equivalent lets a
 * rule written for another version of the same group and resource match, as each resource here is
 * served in a single version that upstream would convert the request to.
 */
export function ruleMatches(rule: Any, attributes: RequestAttributes, exact: boolean): boolean {
  return (
    hasOrStar(listOf(rule.operations), attributes.operation) &&
    hasOrStar(listOf(rule.apiGroups), attributes.group) &&
    (!exact || hasOrStar(listOf(rule.apiVersions), attributes.version)) &&
    resourceMatches(listOf(rule.resources), attributes.resource, attributes.subresource) &&
    scopeMatches(rule.scope, attributes)
  );
}

export function anyRuleMatches(rules: unknown, attributes: RequestAttributes, matchPolicy: unknown): boolean {
  return Array.isArray(rules) && rules.some((r) => ruleMatches(r ?? {}, attributes, matchPolicy === 'Exact'));
}

export function selectorMatches(selector: unknown, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined || selector === null) return true;
  return matchesLabels(selectorFromObject(selector as LabelSelectorObject), labels ?? {});
}

/**
 * The namespace selector: a namespaced object is judged by its namespace's labels, a Namespace by
 * its own, and other cluster-scoped objects always match (upstream's rule).
 */
export function namespaceSelectorMatches(
  selector: unknown,
  attributes: RequestAttributes,
  namespaceLabels: Record<string, string> | undefined,
  objectLabels: Record<string, string> | undefined,
): boolean {
  if (attributes.group === '' && attributes.resource === 'namespaces') return selectorMatches(selector, objectLabels);
  if (!attributes.namespaced) return true;
  return selectorMatches(selector, namespaceLabels);
}

/** The object selector matches when the new or the old object's labels do. */
export function objectSelectorMatches(
  selector: unknown,
  objectLabels: Record<string, string> | undefined,
  oldLabels: Record<string, string> | undefined,
): boolean {
  if (selector === undefined || selector === null) return true;
  return selectorMatches(selector, objectLabels) || (oldLabels !== undefined && selectorMatches(selector, oldLabels));
}
