/**
 * Ephemeral containers, as upstream validates them: the debugging containers that `kubectl debug`
 * adds to a running pod through `pods/<name>/ephemeralcontainers`. They never serve the pod's
 * workload, so what would make them part of it (ports, probes, resources, lifecycle hooks, subPath
 * mounts) is refused; a target must be one of the pod's own containers; and once added, an
 * ephemeral container stays as it is, for the life of the pod.
 */
import type { FieldErrors } from './field-errors.ts';
import { isObject, isSet, objectsOf, sameJson, type Any } from './fields.ts';

/** Container fields an ephemeral container may not set (all those outside upstream's allow list). */
const notForEphemeral = [
  'ports',
  'resources',
  'resizePolicy',
  'restartPolicy',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'lifecycle',
] as const;

/** What upstream's reflection calls "not the zero value": empty lists and objects count as unset. */
function hasValue(value: unknown): boolean {
  if (!isSet(value)) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.values(value).some(hasValue);
  return value !== '' && value !== 0 && value !== false;
}

/**
 * The rules for spec.ephemeralContainers beyond those of every container (checked with the
 * others in validatePodSpec, which also keeps names unique across all three lists).
 */
export function validateEphemeralContainers(errors: FieldErrors, path: string, spec: Any): void {
  const others = new Set<unknown>(
    [
      ...(Array.isArray(spec.containers) ? spec.containers : []),
      ...(Array.isArray(spec.initContainers) ? spec.initContainers : []),
    ]
      .filter(isObject)
      .map((c) => c.name),
  );
  for (const [container, at] of objectsOf(errors, `${path}.ephemeralContainers`, spec.ephemeralContainers)) {
    const target = container.targetContainerName;
    if (isSet(target) && target !== '' && !others.has(target)) errors.notFound(`${at}.targetContainerName`, target);
    for (const field of notForEphemeral) {
      if (hasValue(container[field])) errors.forbidden(`${at}.${field}`, 'cannot be set for an Ephemeral Container');
    }
    (Array.isArray(container.volumeMounts) ? (container.volumeMounts as unknown[]) : []).forEach((mount, i) => {
      if (!isObject(mount)) return;
      for (const field of ['subPath', 'subPathExpr'] as const) {
        if (hasValue(mount[field]))
          errors.forbidden(`${at}.volumeMounts[${i}].${field}`, 'cannot be set for an Ephemeral Container');
      }
    });
  }
}

/** A new pod starts without ephemeral containers: they are added to a running pod, never created with it. */
export function validateNoEphemeralContainersOnCreate(errors: FieldErrors, spec: unknown): void {
  if (isObject(spec) && Array.isArray(spec.ephemeralContainers) && spec.ephemeralContainers.length > 0) {
    errors.forbidden('spec.ephemeralContainers', 'cannot be set on create');
  }
}

/**
 * A write through pods/<name>/ephemeralcontainers (upstream's ValidatePodEphemeralContainersUpdate
 * after its strategy kept only spec.ephemeralContainers of the request): existing ephemeral
 * containers may be neither removed nor changed, and static pods take none.
 */
export function validateEphemeralContainersUpdate(errors: FieldErrors, pod: Any, old: Any): void {
  const annotations: unknown = old.metadata?.annotations;
  if (isObject(annotations) && isSet(annotations['kubernetes.io/config.mirror'])) {
    errors.forbidden('', 'static pods do not support ephemeral containers');
    return;
  }
  const proposed = new Map<unknown, Any>();
  for (const c of Array.isArray(pod.spec?.ephemeralContainers) ? (pod.spec.ephemeralContainers as unknown[]) : [])
    if (isObject(c)) proposed.set(c.name, c);
  for (const existing of (old.spec?.ephemeralContainers ?? []) as Any[]) {
    const next = proposed.get(existing.name);
    if (next === undefined)
      errors.forbidden(
        'spec.ephemeralContainers',
        `existing ephemeral containers "${existing.name}" may not be removed\n`,
      );
    else if (!sameJson(existing, next))
      errors.forbidden(
        `spec.ephemeralContainers.${existing.name}`,
        `existing ephemeral containers "${existing.name}" may not be changed\n`,
      );
  }
}
