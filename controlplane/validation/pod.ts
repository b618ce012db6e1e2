/**
 * PodSpec rules (upstream's ValidatePodSpec and the pod update rules). Every field here reaches a
 * node: volume names and item paths become host paths, container and port names and env names
 * go to the runtime, so their formats are checked here before anything is stored.
 */
import type { FieldErrors } from './field-errors.ts';
import {
  checkBoolean,
  checkEnum,
  checkInteger,
  checkString,
  isObject,
  isSet,
  objectAt,
  objectsOf,
  sameJson,
  stringsOf,
  uniqueTracker,
  type Any,
} from './fields.ts';
import { validateAnnotations, validateLabels } from './metadata.ts';
import { dns1123Label, dns1123Subdomain, ipAddress, labelValue, qualifiedName } from '../../kube/name-formats.ts';
import { validateContainer, validateSecurityContext } from './containers.ts';
import { validateVolumes } from './volumes.ts';
import { validateAffinity, validateTopologySpread } from './scheduling.ts';
import { validateEphemeralContainers } from './ephemeral-containers.ts';

function validateTolerations(errors: FieldErrors, path: string, tolerations: unknown): void {
  for (const [toleration, at] of objectsOf(errors, path, tolerations)) {
    checkString(errors, `${at}.key`, toleration.key, qualifiedName);
    if (!isSet(toleration.key) || toleration.key === '') {
      if (toleration.operator !== 'Exists')
        errors.invalid(
          `${at}.operator`,
          toleration.operator ?? '',
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        );
    }
    checkEnum(errors, `${at}.operator`, toleration.operator, ['Equal', 'Exists']);
    if (toleration.operator === 'Exists' && isSet(toleration.value) && toleration.value !== '')
      errors.invalid(`${at}.operator`, toleration.value, "value must be empty when `operator` is 'Exists'");
    if (toleration.operator !== 'Exists') checkString(errors, `${at}.value`, toleration.value, labelValue);
    checkEnum(errors, `${at}.effect`, toleration.effect, ['NoExecute', 'NoSchedule', 'PreferNoSchedule']);
    if (
      checkInteger(errors, `${at}.tolerationSeconds`, toleration.tolerationSeconds) &&
      toleration.effect !== 'NoExecute'
    ) {
      errors.invalid(
        `${at}.effect`,
        toleration.effect ?? '',
        "effect must be 'NoExecute' when `tolerationSeconds` is set",
      );
    }
  }
}

function validateDns(errors: FieldErrors, path: string, spec: Any): void {
  checkEnum(errors, `${path}.dnsPolicy`, spec.dnsPolicy, [
    'ClusterFirstWithHostNet',
    'ClusterFirst',
    'Default',
    'None',
  ]);
  const config = objectAt(errors, `${path}.dnsConfig`, spec.dnsConfig);
  if (config === undefined) {
    if (spec.dnsPolicy === 'None')
      errors.required(`${path}.dnsConfig`, 'must provide `dnsConfig` when `dnsPolicy` is None');
    return;
  }
  const servers = stringsOf(errors, `${path}.dnsConfig.nameservers`, config.nameservers);
  if (servers.length > 3)
    errors.invalid(`${path}.dnsConfig.nameservers`, config.nameservers, 'must not have more than 3 nameservers');
  for (const [server, at] of servers) errors.invalidEach(at, server, ipAddress(server));
  if (spec.dnsPolicy === 'None' && servers.length === 0)
    errors.required(
      `${path}.dnsConfig.nameservers`,
      'must provide at least one DNS nameserver when `dnsPolicy` is None',
    );
  const searches = stringsOf(errors, `${path}.dnsConfig.searches`, config.searches);
  if (searches.length > 32)
    errors.invalid(`${path}.dnsConfig.searches`, config.searches, 'must not have more than 32 search paths');
  for (const [search, at] of searches) {
    const name = search.endsWith('.') ? search.slice(0, -1) : search;
    if (name !== '') errors.invalidEach(at, search, dns1123Subdomain(name));
  }
  for (const [option, at] of objectsOf(errors, `${path}.dnsConfig.options`, config.options)) {
    checkString(errors, `${at}.name`, option.name, undefined, true);
    checkString(errors, `${at}.value`, option.value);
  }
}

/** The spec of a pod or a pod template, at `path` (`spec` or `spec.template.spec`). */
export function validatePodSpec(
  errors: FieldErrors,
  spec: unknown,
  path: string,
  /** Volumes that something else provides (a StatefulSet's claim templates). */
  extraVolumes: readonly string[] = [],
): void {
  const s = objectAt(errors, path, spec);
  if (s === undefined) return errors.required(path);
  const volumes = validateVolumes(errors, `${path}.volumes`, s.volumes);
  for (const name of extraVolumes) volumes.add(name);
  const names = uniqueTracker(errors);
  const containers = objectsOf(errors, `${path}.containers`, s.containers);
  if (containers.length === 0 && (!Array.isArray(s.containers) || s.containers.length === 0))
    errors.required(`${path}.containers`);
  for (const list of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
    const items = list === 'containers' ? containers : objectsOf(errors, `${path}.${list}`, s[list]);
    for (const [container, at] of items) {
      if (checkString(errors, `${at}.name`, container.name, dns1123Label, true)) names(`${at}.name`, container.name);
      validateContainer(errors, at, container, list, volumes);
    }
  }
  validateEphemeralContainers(errors, path, s);
  checkEnum(errors, `${path}.restartPolicy`, s.restartPolicy, ['Always', 'OnFailure', 'Never']);
  validateDns(errors, path, s);
  for (const [alias, at] of objectsOf(errors, `${path}.hostAliases`, s.hostAliases)) {
    checkString(errors, `${at}.ip`, alias.ip, ipAddress, true);
    for (const [hostname, hat] of stringsOf(errors, `${at}.hostnames`, alias.hostnames))
      errors.invalidEach(hat, hostname, dns1123Subdomain(hostname));
  }
  checkString(errors, `${path}.nodeName`, s.nodeName, dns1123Subdomain);
  checkString(errors, `${path}.hostname`, s.hostname, dns1123Label);
  checkString(errors, `${path}.subdomain`, s.subdomain, dns1123Label);
  checkString(errors, `${path}.serviceAccountName`, s.serviceAccountName, dns1123Subdomain);
  checkString(errors, `${path}.priorityClassName`, s.priorityClassName, dns1123Subdomain);
  checkString(errors, `${path}.schedulerName`, s.schedulerName, dns1123Subdomain);
  validateLabels(errors, `${path}.nodeSelector`, s.nodeSelector);
  validateTolerations(errors, `${path}.tolerations`, s.tolerations);
  validateAffinity(errors, `${path}.affinity`, s.affinity);
  validateTopologySpread(errors, `${path}.topologySpreadConstraints`, s.topologySpreadConstraints);
  checkInteger(errors, `${path}.terminationGracePeriodSeconds`, s.terminationGracePeriodSeconds, { min: 0 });
  checkInteger(errors, `${path}.activeDeadlineSeconds`, s.activeDeadlineSeconds, { min: 1, max: 2147483647 });
  for (const field of [
    'hostNetwork',
    'hostPID',
    'hostIPC',
    'shareProcessNamespace',
    'automountServiceAccountToken',
    'enableServiceLinks',
  ] as const)
    checkBoolean(errors, `${path}.${field}`, s[field]);
  validateSecurityContext(errors, `${path}.securityContext`, s.securityContext);
  for (const [secret, at] of objectsOf(errors, `${path}.imagePullSecrets`, s.imagePullSecrets))
    checkString(errors, `${at}.name`, secret.name, dns1123Subdomain);
  for (const [gate, at] of objectsOf(errors, `${path}.readinessGates`, s.readinessGates))
    checkString(errors, `${at}.conditionType`, gate.conditionType, qualifiedName, true);
}

/** The spec with the fields that may change after creation blanked out. */
function withoutMutableFields(spec: Any): Any {
  const blankImage = (c: Any) => ({ ...c, image: '' });
  return {
    ...spec,
    containers: ((spec.containers ?? []) as Any[]).map(blankImage),
    initContainers: ((spec.initContainers ?? []) as Any[]).map(blankImage),
    activeDeadlineSeconds: 0,
    tolerations: [],
    terminationGracePeriodSeconds: 0,
  };
}

/** The pod fields a client may change after creation (upstream's ValidatePodUpdate). */
export function validatePodUpdate(errors: FieldErrors, spec: Any, old: Any): void {
  // Tolerations may be added, never taken away or changed (but for their tolerationSeconds).
  const sameToleration = (a: Any, b: Any) => sameJson({ ...a, tolerationSeconds: 0 }, { ...b, tolerationSeconds: 0 });
  const current = Array.isArray(spec.tolerations) ? (spec.tolerations as Any[]) : [];
  const keptTolerations = ((old.tolerations ?? []) as Any[]).every((t) => current.some((n) => sameToleration(n, t)));
  const unchanged = sameJson(withoutMutableFields(old), withoutMutableFields(spec));
  // Binding sets nodeName once; an update that only adds it is the scheduler's binding.
  const onlyBound =
    old.nodeName === undefined &&
    sameJson(withoutMutableFields({ ...spec, nodeName: undefined }), withoutMutableFields(old));
  if (!keptTolerations || !(unchanged || onlyBound)) {
    errors.forbidden(
      'spec',
      'pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
    );
  }
}

/**
 * A pod template inside a workload, at `path` (`spec.template`): its labels and annotations, its
 * spec, and the restart policies the workload's controller can honour.
 */
export function validatePodTemplate(
  errors: FieldErrors,
  path: string,
  value: unknown,
  restartPolicies: readonly string[],
  extraVolumes: readonly string[] = [],
): void {
  const template = objectAt(errors, path, value);
  if (template === undefined) return errors.required(path);
  const metadata = objectAt(errors, `${path}.metadata`, template.metadata);
  validateLabels(errors, `${path}.metadata.labels`, metadata?.labels);
  validateAnnotations(errors, `${path}.metadata.annotations`, metadata?.annotations);
  validatePodSpec(errors, template.spec, `${path}.spec`, extraVolumes);
  const ephemeral = isObject(template.spec) ? template.spec.ephemeralContainers : undefined;
  if (Array.isArray(ephemeral) && ephemeral.length > 0)
    errors.forbidden(`${path}.spec.ephemeralContainers`, 'ephemeral containers not allowed in pod template');
  const policy = isObject(template.spec) ? template.spec.restartPolicy : undefined;
  if (isSet(policy) && !restartPolicies.includes(policy))
    errors.notSupported(`${path}.spec.restartPolicy`, policy, restartPolicies);
}
