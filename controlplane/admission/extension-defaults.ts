/**
 * Defaults of the extension kinds (upstream's admissionregistration/v1 and apiregistration/v1
 * SetDefaults_*): what a webhook, a policy or an APIService means when a field is left out, filled
 * in before validation so that the stored object says it.
 */
type Any = Record<string, any>;

const isObject = (value: unknown): value is Any => typeof value === 'object' && value !== null && !Array.isArray(value);

function defaultRules(rules: unknown): void {
  if (!Array.isArray(rules)) return;
  for (const rule of rules) if (isObject(rule)) rule.scope ??= '*';
}

function defaultWebhook(hook: Any, mutating: boolean): void {
  hook.failurePolicy ??= 'Fail';
  hook.matchPolicy ??= 'Equivalent';
  hook.namespaceSelector ??= {};
  hook.objectSelector ??= {};
  hook.timeoutSeconds ??= 10;
  if (mutating) hook.reinvocationPolicy ??= 'Never';
  if (isObject(hook.clientConfig?.service)) hook.clientConfig.service.port ??= 443;
  defaultRules(hook.rules);
}

function defaultMatchResources(match: Any): void {
  match.matchPolicy ??= 'Equivalent';
  match.namespaceSelector ??= {};
  match.objectSelector ??= {};
  defaultRules(match.resourceRules);
  defaultRules(match.excludeResourceRules);
}

/** Fills in the defaults of an extension kind's object, in place; other kinds are left alone. */
export function defaultExtensionObject(group: string, resource: string, o: Any): void {
  if (group === 'admissionregistration.k8s.io') {
    if (resource === 'mutatingwebhookconfigurations' || resource === 'validatingwebhookconfigurations') {
      if (!Array.isArray(o.webhooks)) return;
      for (const hook of o.webhooks) if (isObject(hook)) defaultWebhook(hook, resource.startsWith('mutating'));
    } else if (resource === 'validatingadmissionpolicies' && isObject(o.spec)) {
      o.spec.failurePolicy ??= 'Fail';
      if (isObject(o.spec.matchConstraints)) defaultMatchResources(o.spec.matchConstraints);
    } else if (resource === 'validatingadmissionpolicybindings' && isObject(o.spec?.matchResources)) {
      defaultMatchResources(o.spec.matchResources);
    }
  } else if (group === 'apiregistration.k8s.io' && resource === 'apiservices') {
    if (isObject(o.spec?.service)) o.spec.service.port ??= 443;
  }
}
