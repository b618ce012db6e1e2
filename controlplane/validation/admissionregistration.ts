/**
 * admissionregistration.k8s.io rules (upstream's pkg/apis/admissionregistration/validation):
 * webhook configurations (names, rules, policies, client configuration) and validating admission
 * policies with their bindings. CEL expressions are compiled by the admission plugin that uses
 * them; here only their presence and the fields around them are checked.
 */
import type { FieldErrors } from './field-errors.ts';
import { checkEnum, checkInteger, checkString, isSet, objectAt, objectsOf, stringsOf, type Any } from './fields.ts';
import { validateLabelSelector } from './selectors.ts';
import { dns1035Label, dns1123Subdomain, pathSegment, portNumber, qualifiedName } from '../../kube/name-formats.ts';
import { compileError } from '../admission/policies/compiled-policy.ts';
import { matchConditionCompileError } from '../admission/webhooks/match-conditions.ts';

const failurePolicies = ['Fail', 'Ignore'];
const matchPolicies = ['Equivalent', 'Exact'];
const sideEffectClasses = ['None', 'NoneOnDryRun'];
const operations = ['*', 'CONNECT', 'CREATE', 'DELETE', 'UPDATE'];
const scopes = ['*', 'Cluster', 'Namespaced'];
const reinvocationPolicies = ['IfNeeded', 'Never'];
const reviewVersions = ['v1', 'v1beta1'];
const validationActions = ['Audit', 'Deny', 'Warn'];
const policyReasons = ['Forbidden', 'Invalid', 'RequestEntityTooLarge'];

/** A webhook's name: a domain of at least three labels, so that names of different owners do not clash. */
function fullyQualifiedName(errors: FieldErrors, at: string, name: unknown): void {
  if (!checkString(errors, at, name, undefined, true)) return;
  const problems = dns1123Subdomain(name);
  if (problems.length > 0) errors.invalid(at, name, problems.join(','));
  else if (name.split('.').length < 3)
    errors.invalid(at, name, 'should be a domain with at least three segments separated by dots');
}

/** Checks a list of rule values where `*` must stand alone; returns the strings. */
function wildcardAlone(errors: FieldErrors, at: string, value: unknown, what: string): string[] {
  const items = stringsOf(errors, at, value).map(([item]) => item);
  if (items.length > 1 && items.includes('*'))
    errors.invalid(at, value, `if '*' is present, must not specify other ${what}`);
  return items;
}

/** resources of a webhook rule: `x`, `x/y`, `*`, `*​/y`, `x/*`, `*​/*`, with upstream's exclusions. */
function validateRuleResources(errors: FieldErrors, at: string, value: unknown): void {
  const items = stringsOf(errors, at, value);
  if (items.length === 0) errors.required(at);
  const wildcardSubresourceOf = new Set<string>();
  const wildcardResourceOf = new Set<string>();
  let doubleWildcard = false;
  let singleWildcard = false;
  let plainResource = false;
  for (const [item, itemAt] of items) {
    if (item === '') {
      errors.required(itemAt);
      continue;
    }
    if (item === '*/*') doubleWildcard = true;
    if (item === '*') singleWildcard = true;
    const slash = item.indexOf('/');
    if (slash < 0) {
      plainResource = item !== '*';
      continue;
    }
    const resource = item.slice(0, slash);
    const sub = item.slice(slash + 1);
    if (wildcardSubresourceOf.has(resource))
      errors.invalid(itemAt, item, `if '${resource}/*' is present, must not specify ${item}`);
    if (wildcardResourceOf.has(sub)) errors.invalid(itemAt, item, `if '*/${sub}' is present, must not specify ${item}`);
    if (sub === '*') wildcardSubresourceOf.add(resource);
    if (resource === '*') wildcardResourceOf.add(sub);
  }
  if (items.length > 1 && doubleWildcard)
    errors.invalid(at, value, "if '*/*' is present, must not specify other resources");
  if (singleWildcard && plainResource)
    errors.invalid(at, value, "if '*' is present, must not specify other resources without subresources");
}

function validateRuleWithOperations(errors: FieldErrors, at: string, rule: Any): void {
  const ops = wildcardAlone(errors, `${at}.operations`, rule.operations, 'operations');
  if (ops.length === 0) errors.required(`${at}.operations`);
  ops.forEach((op, i) => {
    if (!operations.includes(op)) errors.notSupported(`${at}.operations[${i}]`, op, operations);
  });
  if (wildcardAlone(errors, `${at}.apiGroups`, rule.apiGroups, 'API groups').length === 0)
    errors.required(`${at}.apiGroups`);
  const versions = wildcardAlone(errors, `${at}.apiVersions`, rule.apiVersions, 'API versions');
  if (versions.length === 0) errors.required(`${at}.apiVersions`);
  versions.forEach((version, i) => {
    if (version === '') errors.required(`${at}.apiVersions[${i}]`);
  });
  validateRuleResources(errors, `${at}.resources`, rule.resources);
  checkEnum(errors, `${at}.scope`, rule.scope, scopes);
}

const urlForm = '; desired format: https://host[/path]';

function validateWebhookUrl(errors: FieldErrors, at: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return errors.required(at, `url must be a valid URL: parse ${JSON.stringify(value)}: invalid URL${urlForm}`);
  }
  if (url.protocol !== 'https:')
    errors.invalid(at, url.protocol.slice(0, -1), `'https' is the only allowed URL scheme${urlForm}`);
  if (url.host === '') errors.invalid(at, url.host, `host must be specified${urlForm}`);
  if (url.username !== '' || url.password !== '')
    errors.invalid(
      at,
      url.password ? `${url.username}:${url.password}` : url.username,
      'user information is not permitted in the URL',
    );
  if (url.hash !== '') errors.invalid(at, url.hash.slice(1), 'fragments are not permitted in the URL');
  if (url.search !== '') errors.invalid(at, url.search.slice(1), 'query parameters are not permitted in the URL');
}

/** A Service reference of a webhook or an APIService: name, namespace, port, and a path of DNS-1123 segments. */
function validateServiceReference(errors: FieldErrors, at: string, service: Any, withPath: boolean): void {
  if (!checkString(errors, `${at}.name`, service.name)) errors.required(`${at}.name`, 'service name is required');
  if (!checkString(errors, `${at}.namespace`, service.namespace))
    errors.required(`${at}.namespace`, 'service namespace is required');
  if (isSet(service.port) && checkInteger(errors, `${at}.port`, service.port)) {
    const problems = portNumber(service.port);
    if (problems.length > 0) errors.invalid(`${at}.port`, service.port, `port is not valid: ${problems.join(', ')}`);
  }
  if (!withPath || !checkString(errors, `${at}.path`, service.path)) return;
  const path: string = service.path;
  if (path === '/') return;
  if (path === '//') return errors.invalid(`${at}.path`, path, 'segment[0] may not be empty');
  if (!path.startsWith('/')) errors.invalid(`${at}.path`, path, "must start with a '/'");
  const inner = path.slice(1).replace(/\/$/, '');
  inner.split('/').forEach((segment, i) => {
    if (segment === '') return errors.invalid(`${at}.path`, path, `segment[${i}] may not be empty`);
    for (const problem of dns1123Subdomain(segment)) errors.invalid(`${at}.path`, path, `segment[${i}]: ${problem}`);
  });
}

function validateReviewVersions(errors: FieldErrors, at: string, value: unknown): void {
  const versions = stringsOf(errors, at, value);
  if (versions.length === 0) return errors.required(at, `must specify one of ${reviewVersions.join(', ')}`);
  const seen = new Set<string>();
  for (const [version, versionAt] of versions) {
    if (seen.has(version)) {
      errors.invalid(versionAt, version, 'duplicate version');
      continue;
    }
    seen.add(version);
    errors.invalidEach(versionAt, version, dns1035Label(version));
  }
  if (!versions.some(([v]) => reviewVersions.includes(v)))
    errors.invalid(at, value, `must include at least one of ${reviewVersions.join(', ')}`);
}

function validateWebhook(errors: FieldErrors, at: string, hook: Any, mutating: boolean): void {
  fullyQualifiedName(errors, `${at}.name`, hook.name);
  for (const [rule, ruleAt] of objectsOf(errors, `${at}.rules`, hook.rules))
    validateRuleWithOperations(errors, ruleAt, rule);
  checkEnum(errors, `${at}.failurePolicy`, hook.failurePolicy, failurePolicies);
  checkEnum(errors, `${at}.matchPolicy`, hook.matchPolicy, matchPolicies);
  if (!isSet(hook.sideEffects))
    errors.required(`${at}.sideEffects`, `must specify one of ${sideEffectClasses.join(', ')}`);
  else checkEnum(errors, `${at}.sideEffects`, hook.sideEffects, sideEffectClasses);
  if (typeof hook.timeoutSeconds === 'number' && (hook.timeoutSeconds > 30 || hook.timeoutSeconds < 1))
    errors.invalid(`${at}.timeoutSeconds`, hook.timeoutSeconds, 'the timeout value must be between 1 and 30 seconds');
  validateLabelSelector(errors, `${at}.namespaceSelector`, hook.namespaceSelector);
  validateLabelSelector(errors, `${at}.objectSelector`, hook.objectSelector);
  if (mutating) checkEnum(errors, `${at}.reinvocationPolicy`, hook.reinvocationPolicy, reinvocationPolicies);
  const config = objectAt(errors, `${at}.clientConfig`, hook.clientConfig) ?? {};
  if (isSet(config.url) === isSet(config.service))
    errors.required(`${at}.clientConfig`, 'exactly one of url or service is required');
  else if (checkString(errors, `${at}.clientConfig.url`, config.url))
    validateWebhookUrl(errors, `${at}.clientConfig.url`, config.url);
  else if (isSet(config.service)) {
    const service = objectAt(errors, `${at}.clientConfig.service`, config.service);
    if (service) validateServiceReference(errors, `${at}.clientConfig.service`, service, true);
  }
  validateReviewVersions(errors, `${at}.admissionReviewVersions`, hook.admissionReviewVersions);
  validateMatchConditions(errors, `${at}.matchConditions`, hook.matchConditions, matchConditionCompileError);
}

/** matchConditions: at most 64, each with a unique qualified name and an expression that compiles. */
function validateMatchConditions(
  errors: FieldErrors,
  at: string,
  value: unknown,
  compileProblem: (expression: string) => string | undefined,
): void {
  const conditions = objectsOf(errors, at, value);
  if (conditions.length > 64) errors.tooMany(at, conditions.length, 64);
  const names = new Set<string>();
  for (const [condition, conditionAt] of conditions) {
    if (checkString(errors, `${conditionAt}.name`, condition.name, qualifiedName, true)) {
      if (names.has(condition.name)) errors.duplicate(`${conditionAt}.name`, condition.name);
      names.add(condition.name);
    }
    if (checkString(errors, `${conditionAt}.expression`, condition.expression, undefined, true)) {
      const problem = compileProblem(condition.expression);
      if (problem !== undefined) errors.invalid(`${conditionAt}.expression`, condition.expression, problem);
    }
  }
}

function validateWebhookConfiguration(errors: FieldErrors, o: Any, mutating: boolean): void {
  const names = new Set<string>();
  for (const [hook, at] of objectsOf(errors, 'webhooks', o.webhooks)) {
    validateWebhook(errors, at, hook, mutating);
    if (typeof hook.name !== 'string' || hook.name === '') continue;
    if (names.has(hook.name)) errors.duplicate(`${at}.name`, hook.name);
    names.add(hook.name);
  }
}

export const validateMutatingWebhookConfiguration = (errors: FieldErrors, o: Any): void =>
  validateWebhookConfiguration(errors, o, true);
export const validateValidatingWebhookConfiguration = (errors: FieldErrors, o: Any): void =>
  validateWebhookConfiguration(errors, o, false);

/** matchConstraints of a policy (rules required) or matchResources of a binding (rules optional). */
function validateMatchResources(errors: FieldErrors, at: string, match: Any, rulesRequired: boolean): void {
  validateLabelSelector(errors, `${at}.namespaceSelector`, match.namespaceSelector);
  validateLabelSelector(errors, `${at}.objectSelector`, match.objectSelector);
  checkEnum(errors, `${at}.matchPolicy`, match.matchPolicy, matchPolicies);
  const rules = objectsOf(errors, `${at}.resourceRules`, match.resourceRules);
  if (rulesRequired && rules.length === 0) errors.required(`${at}.resourceRules`);
  for (const [rule, ruleAt] of rules) validateRuleWithOperations(errors, ruleAt, rule);
  for (const [rule, ruleAt] of objectsOf(errors, `${at}.excludeResourceRules`, match.excludeResourceRules))
    validateRuleWithOperations(errors, ruleAt, rule);
}

/** A CEL expression of a policy must compile (upstream compiles on write: `compilation failed: ...`). */
function compiles(errors: FieldErrors, at: string, expression: string): void {
  const problem = compileError(expression);
  if (problem !== undefined) errors.invalid(at, expression, problem);
}

/** At most 20 audit annotations, each a unique key that makes `<policy>/<key>` a qualified name. */
function validateAuditAnnotations(errors: FieldErrors, policyName: unknown, value: unknown): void {
  const annotations = objectsOf(errors, 'spec.auditAnnotations', value);
  if (annotations.length > 20) errors.tooMany('spec.auditAnnotations', annotations.length, 20);
  const keys = new Set<string>();
  for (const [annotation, at] of annotations) {
    if (checkString(errors, `${at}.key`, annotation.key, undefined, true)) {
      const full = `${String(policyName ?? '')}/${annotation.key}`;
      errors.invalidEach(`${at}.key`, full, qualifiedName(full));
      if (keys.has(annotation.key)) errors.duplicate(`${at}.key`, annotation.key);
      keys.add(annotation.key);
    }
    if (checkString(errors, `${at}.valueExpression`, annotation.valueExpression, undefined, true)) {
      if (annotation.valueExpression.length > 5 * 1024) errors.tooLong(`${at}.valueExpression`, 5 * 1024);
      else compiles(errors, `${at}.valueExpression`, annotation.valueExpression);
    }
  }
}

export function validateValidatingAdmissionPolicy(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec) ?? {};
  checkEnum(errors, 'spec.failurePolicy', spec.failurePolicy, failurePolicies, true);
  const constraints = objectAt(errors, 'spec.matchConstraints', spec.matchConstraints);
  if (constraints === undefined) errors.required('spec.matchConstraints');
  else validateMatchResources(errors, 'spec.matchConstraints', constraints, true);
  const validations = objectsOf(errors, 'spec.validations', spec.validations);
  if (validations.length === 0 && !(Array.isArray(spec.auditAnnotations) && spec.auditAnnotations.length > 0))
    errors.required('spec.validations', 'validations or auditAnnotations must contain at least one item');
  for (const [validation, at] of validations) {
    if (checkString(errors, `${at}.expression`, validation.expression, undefined, true))
      compiles(errors, `${at}.expression`, validation.expression);
    if (typeof validation.messageExpression === 'string' && validation.messageExpression !== '')
      compiles(errors, `${at}.messageExpression`, validation.messageExpression);
    if (typeof validation.message === 'string' && validation.message !== '') {
      const trimmed = validation.message.trim();
      if (trimmed === '') errors.invalid(`${at}.message`, validation.message, 'message must be non-empty if specified');
      else if (/[\r\n]/.test(trimmed))
        errors.invalid(`${at}.message`, validation.message, 'message must not contain line breaks');
    }
    checkEnum(errors, `${at}.reason`, validation.reason, policyReasons);
  }
  for (const [variable, at] of objectsOf(errors, 'spec.variables', spec.variables)) {
    checkString(errors, `${at}.name`, variable.name, undefined, true);
    if (checkString(errors, `${at}.expression`, variable.expression, undefined, true))
      compiles(errors, `${at}.expression`, variable.expression);
  }
  validateMatchConditions(errors, 'spec.matchConditions', spec.matchConditions, compileError);
  validateAuditAnnotations(errors, o.metadata?.name, spec.auditAnnotations);
  if (isSet(spec.paramKind)) {
    const paramKind = objectAt(errors, 'spec.paramKind', spec.paramKind) ?? {};
    checkString(errors, 'spec.paramKind.apiVersion', paramKind.apiVersion, undefined, true);
    checkString(errors, 'spec.paramKind.kind', paramKind.kind, undefined, true);
  }
}

export function validateValidatingAdmissionPolicyBinding(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec) ?? {};
  if (checkString(errors, 'spec.policyName', spec.policyName, undefined, true))
    errors.invalidEach('spec.policyName', spec.policyName, dns1123Subdomain(spec.policyName));
  const actions = stringsOf(errors, 'spec.validationActions', spec.validationActions);
  if (actions.length === 0) errors.required('spec.validationActions', 'at least one validation action is required');
  const seen = new Set<string>();
  for (const [action, at] of actions) {
    if (!validationActions.includes(action)) errors.notSupported(at, action, validationActions);
    if (seen.has(action)) errors.duplicate(at, action);
    seen.add(action);
  }
  if (seen.has('Deny') && seen.has('Warn'))
    errors.invalid(
      'spec.validationActions',
      spec.validationActions,
      'must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)',
    );
  const match = objectAt(errors, 'spec.matchResources', spec.matchResources);
  if (match !== undefined) validateMatchResources(errors, 'spec.matchResources', match, false);
  const paramRef = objectAt(errors, 'spec.paramRef', spec.paramRef);
  if (paramRef !== undefined) validateParamRef(errors, paramRef);
}

/** A binding's parameter: by name or by selector (not both), and what to do when none is found. */
function validateParamRef(errors: FieldErrors, ref: Any): void {
  const named = checkString(errors, 'spec.paramRef.name', ref.name, pathSegment);
  const selected = isSet(ref.selector);
  if (selected) validateLabelSelector(errors, 'spec.paramRef.selector', ref.selector);
  if (named && selected) {
    errors.forbidden('spec.paramRef.name', 'name and selector are mutually exclusive');
    errors.forbidden('spec.paramRef.selector', 'name and selector are mutually exclusive');
  }
  if (!named && !selected) errors.required('spec.paramRef', 'one of name or selector must be specified');
  checkEnum(errors, 'spec.paramRef.parameterNotFoundAction', ref.parameterNotFoundAction, ['Allow', 'Deny'], true);
}
