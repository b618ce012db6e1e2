/**
 * The ValidatingAdmissionPolicy plugin: for each binding whose policy exists and whose match
 * constraints (the policy's, then the binding's) take the request, the policy's validations are
 * evaluated, and each failure is acted on by the binding's validationActions: Deny refuses the
 * write (`ValidatingAdmissionPolicy 'p' with binding 'b' denied request: ...`, 422 unless the
 * validation names another reason), Warn sends a Warning header, Audit records the failure in the
 * audit event. Runs after built-in validation and before validating webhooks, as upstream orders
 * its plugins; admissionregistration.k8s.io objects are exempt, so a broken policy can be removed.
 */
import { ApiError, type StatusReason } from '../../../kube/errors.ts';
import type { KubeObject } from '../../../kube/types.ts';
import type { AdmissionRequest } from '../../api/registry.ts';
import { addAuditAnnotation, addWarning, currentUser, isDryRun } from '../../api/request-context.ts';
import { celValueFromJson } from '../../cel/values.ts';
import { reviewOf } from '../webhooks/review.ts';
import {
  anyRuleMatches,
  namespaceSelectorMatches,
  objectSelectorMatches,
  requestAttributes,
  selectorMatches,
  type RequestAttributes,
} from '../webhooks/matching.ts';
import { compilePolicy, evaluatePolicy, type CompiledPolicy } from './compiled-policy.ts';

type Any = Record<string, any>;

export interface PolicyLookups {
  /** Every ValidatingAdmissionPolicy and binding (from memory: read on every write). */
  policies(): Promise<readonly KubeObject[]>;
  bindings(): Promise<readonly KubeObject[]>;
  namespace(name: string): Promise<KubeObject | undefined>;
  /** Objects of a policy's paramKind (apiVersion and kind) in a namespace ('' for cluster-scoped kinds). */
  params(apiVersion: string, kind: string, namespace: string): Promise<readonly KubeObject[]>;
}

const compiled = new Map<string, CompiledPolicy>();

/** Compiled once per policy generation; the cache is dropped whole when it grows past its use. */
function compiledOf(policy: KubeObject): CompiledPolicy {
  const key = `${policy.metadata.uid}/${policy.metadata.resourceVersion}`;
  let program = compiled.get(key);
  if (program === undefined) {
    if (compiled.size > 1000) compiled.clear();
    program = compilePolicy(policy);
    compiled.set(key, program);
  }
  return program;
}

/** matchConstraints / matchResources: rules (with resourceNames), exclusions, then the selectors. */
function matchesResources(
  match: Any | undefined,
  request: AdmissionRequest,
  attributes: RequestAttributes,
  namespaceLabels: Record<string, string> | undefined,
): boolean {
  if (match === undefined || match === null) return true;
  const name = request.object.metadata.name ?? '';
  const named = (rules: unknown) =>
    (Array.isArray(rules) ? rules : []).filter(
      (r: Any) => !Array.isArray(r?.resourceNames) || r.resourceNames.length === 0 || r.resourceNames.includes(name),
    );
  const rules = Array.isArray(match.resourceRules) ? match.resourceRules : [];
  if (rules.length > 0 && !anyRuleMatches(named(rules), attributes, match.matchPolicy)) return false;
  if (anyRuleMatches(named(match.excludeResourceRules), attributes, match.matchPolicy)) return false;
  const objectLabels = request.object.metadata.labels;
  return (
    objectSelectorMatches(match.objectSelector, objectLabels, request.old?.metadata.labels) &&
    namespaceSelectorMatches(match.namespaceSelector, attributes, namespaceLabels, objectLabels)
  );
}

const reasons: Record<string, StatusReason> = {
  Invalid: 'Invalid',
  Forbidden: 'Forbidden',
  RequestEntityTooLarge: 'RequestEntityTooLarge',
};

export async function runValidatingAdmissionPolicies(request: AdmissionRequest, lookups: PolicyLookups): Promise<void> {
  if (request.info.group === 'admissionregistration.k8s.io') return;
  const bindings = await lookups.bindings();
  if (bindings.length === 0) return;
  const policies = new Map((await lookups.policies()).map((p) => [p.metadata.name ?? '', p]));
  const attributes = requestAttributes(request);
  const namespaceObject =
    attributes.namespaced && attributes.namespace !== '' ? await lookups.namespace(attributes.namespace) : undefined;
  const namespaceLabels = namespaceObject?.metadata.labels ?? {};
  let requestValue: unknown;
  const auditFailures: Any[] = [];
  let denial: ApiError | undefined;
  for (const binding of [...bindings].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))) {
    const spec = (binding.spec ?? {}) as Any;
    const policy = policies.get(String(spec.policyName ?? ''));
    if (policy === undefined) continue;
    const policySpec = (policy.spec ?? {}) as Any;
    if (!matchesResources(policySpec.matchConstraints ?? {}, request, attributes, namespaceLabels)) continue;
    if (!matchesResources(spec.matchResources, request, attributes, namespaceLabels)) continue;
    const paramSets = await paramsOf(policySpec, spec, attributes.namespace, lookups);
    if (paramSets.length === 0) {
      if (spec.paramRef?.parameterNotFoundAction === 'Allow') continue;
      denial ??= deny(
        request,
        policy,
        binding,
        'no params found for policy binding with `Deny` parameterNotFoundAction',
        'Invalid',
      );
      continue;
    }
    if (requestValue === undefined) {
      // the request variable carries what the review does, without the objects (bound on their own)
      const {
        object: _object,
        oldObject: _oldObject,
        ...described
      } = reviewOf(request, '', currentUser(), isDryRun()).request;
      requestValue = celValueFromJson(described);
    }
    const actions: string[] = Array.isArray(spec.validationActions) ? spec.validationActions : [];
    const policyName = policy.metadata.name ?? '';
    const bindingName = binding.metadata.name ?? '';
    for (const params of paramSets) {
      const { violations, annotations } = evaluatePolicy(compiledOf(policy), {
        object: request.operation === 'DELETE' ? null : celValueFromJson(request.object),
        oldObject: request.old === undefined ? null : celValueFromJson(request.old),
        request: requestValue,
        params: params === undefined ? null : celValueFromJson(params),
        namespaceObject: namespaceObject === undefined ? null : celValueFromJson(namespaceObject),
        authorizer: null,
      });
      for (const [key, value] of Object.entries(annotations)) addAuditAnnotation(`${policyName}/${key}`, value);
      for (const violation of violations) {
        if (actions.includes('Deny')) denial ??= deny(request, policy, binding, violation.message, violation.reason);
        if (actions.includes('Warn'))
          addWarning(
            `Validation failed for ValidatingAdmissionPolicy '${policyName}' with binding '${bindingName}': ${violation.message}`,
          );
        if (actions.includes('Audit'))
          auditFailures.push({
            message: violation.message,
            policy: policyName,
            binding: bindingName,
            expressionIndex: violation.index,
            validationActions: actions,
          });
      }
    }
  }
  if (auditFailures.length > 0)
    addAuditAnnotation('validation.policy.admission.k8s.io/validation_failure', JSON.stringify(auditFailures));
  if (denial) throw denial;
}

/**
 * The parameter objects a binding evaluates its policy with: one run without parameters when the
 * policy has no paramKind (or the binding no paramRef); else the objects paramRef names, by name
 * or by selector, in its namespace (or the request's). None found: the caller applies
 * parameterNotFoundAction.
 */
async function paramsOf(
  policySpec: Any,
  bindingSpec: Any,
  requestNamespace: string,
  lookups: PolicyLookups,
): Promise<ReadonlyArray<KubeObject | undefined>> {
  const ref = bindingSpec.paramRef as Any | undefined;
  if (!policySpec.paramKind || !ref) return [undefined];
  const candidates = await lookups.params(
    String(policySpec.paramKind.apiVersion ?? ''),
    String(policySpec.paramKind.kind ?? ''),
    String(ref.namespace ?? requestNamespace),
  );
  if (typeof ref.name === 'string' && ref.name !== '') return candidates.filter((p) => p.metadata.name === ref.name);
  return candidates.filter((p) => selectorMatches(ref.selector ?? {}, p.metadata.labels));
}

function deny(
  request: AdmissionRequest,
  policy: KubeObject,
  binding: KubeObject,
  message: string,
  reason: string,
): ApiError {
  const text = `ValidatingAdmissionPolicy '${policy.metadata.name}' with binding '${binding.metadata.name}' denied request: ${message}`;
  const resource = request.info.group === '' ? request.info.resource : `${request.info.resource}.${request.info.group}`;
  const name = request.object.metadata.name ?? '';
  return new ApiError(reasons[reason] ?? 'Invalid', `${resource} "${name}" is forbidden: ${text}`, {
    name,
    group: request.info.group,
    kind: request.info.resource,
    causes: [{ message: text }],
  });
}
