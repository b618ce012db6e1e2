/**
 * apps/v1 rules (upstream's pkg/apis/apps/validation): selectors that match their templates and
 * never change, templates through the PodSpec rules, replica counts and update strategies.
 */
import type { FieldErrors } from './field-errors.ts';
import { checkEnum, checkInteger, checkString, isSet, objectAt, objectsOf, sameJson, type Any } from './fields.ts';
import { dns1123Subdomain } from '../../kube/name-formats.ts';
import { validatePodTemplate } from './pod.ts';
import { validateSelectorMatchesTemplate } from './selectors.ts';

/** An int-or-percent rolling-update bound; returns whether it is zero. */
function checkIntOrPercent(errors: FieldErrors, path: string, value: unknown): boolean {
  if (!isSet(value)) return false;
  if (typeof value === 'number') {
    checkInteger(errors, path, value, { min: 0 });
    return value === 0;
  }
  if (typeof value !== 'string') {
    errors.wrongType(path, value, 'integer or string');
    return false;
  }
  const match = /^([0-9]+)%$/.exec(value);
  if (match === null) {
    errors.invalid(
      path,
      value,
      "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    );
    return false;
  }
  if (Number(match[1]) > 100 && path.endsWith('maxUnavailable'))
    errors.invalid(path, value, 'must not be greater than 100%');
  return Number(match[1]) === 0;
}

function validateRollingUpdate(errors: FieldErrors, path: string, value: unknown): void {
  const rolling = objectAt(errors, path, value);
  if (rolling === undefined) return;
  const noUnavailable = checkIntOrPercent(errors, `${path}.maxUnavailable`, rolling.maxUnavailable);
  const noSurge = checkIntOrPercent(errors, `${path}.maxSurge`, rolling.maxSurge);
  if (noUnavailable && noSurge)
    errors.invalid(`${path}.maxUnavailable`, rolling.maxUnavailable, 'may not be 0 when `maxSurge` is 0');
  checkInteger(errors, `${path}.partition`, rolling.partition, { min: 0 });
}

/** What Deployment, ReplicaSet, DaemonSet and StatefulSet share. */
function validateWorkloadSpec(errors: FieldErrors, spec: Any, kind: string, extraVolumes: string[] = []): void {
  validateSelectorMatchesTemplate(errors, spec, kind);
  validatePodTemplate(errors, 'spec.template', spec.template, ['Always'], extraVolumes);
  if (kind !== 'daemonset') checkInteger(errors, 'spec.replicas', spec.replicas, { min: 0 });
  checkInteger(errors, 'spec.minReadySeconds', spec.minReadySeconds, { min: 0 });
  checkInteger(errors, 'spec.revisionHistoryLimit', spec.revisionHistoryLimit, { min: 0 });
}

export function validateDeployment(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec);
  if (spec === undefined) return errors.required('spec');
  validateWorkloadSpec(errors, spec, 'deployment');
  const strategy = objectAt(errors, 'spec.strategy', spec.strategy);
  checkEnum(errors, 'spec.strategy.type', strategy?.type, ['Recreate', 'RollingUpdate']);
  if (strategy?.type === 'Recreate' && isSet(strategy.rollingUpdate))
    errors.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'");
  else validateRollingUpdate(errors, 'spec.strategy.rollingUpdate', strategy?.rollingUpdate);
  if (
    checkInteger(errors, 'spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, { min: 0 }) &&
    typeof spec.minReadySeconds === 'number' &&
    spec.progressDeadlineSeconds <= spec.minReadySeconds
  ) {
    errors.invalid(
      'spec.progressDeadlineSeconds',
      spec.progressDeadlineSeconds,
      'must be greater than minReadySeconds',
    );
  }
}

export function validateReplicaSet(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec);
  if (spec === undefined) return errors.required('spec');
  validateWorkloadSpec(errors, spec, 'replicaset');
}

export function validateDaemonSet(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec);
  if (spec === undefined) return errors.required('spec');
  validateWorkloadSpec(errors, spec, 'daemonset');
  const strategy = objectAt(errors, 'spec.updateStrategy', spec.updateStrategy);
  checkEnum(errors, 'spec.updateStrategy.type', strategy?.type, ['OnDelete', 'RollingUpdate']);
  validateRollingUpdate(errors, 'spec.updateStrategy.rollingUpdate', strategy?.rollingUpdate);
}

export function validateStatefulSet(errors: FieldErrors, o: Any): void {
  const spec = objectAt(errors, 'spec', o.spec);
  if (spec === undefined) return errors.required('spec');
  // The claim templates are volumes of every pod the set makes.
  const claimVolumes = Array.isArray(spec.volumeClaimTemplates)
    ? spec.volumeClaimTemplates.map((t: Any) => t?.metadata?.name).filter((n: unknown) => typeof n === 'string')
    : [];
  validateWorkloadSpec(errors, spec, 'statefulset', claimVolumes);
  checkString(errors, 'spec.serviceName', spec.serviceName, dns1123Subdomain);
  checkEnum(errors, 'spec.podManagementPolicy', spec.podManagementPolicy, ['OrderedReady', 'Parallel']);
  const strategy = objectAt(errors, 'spec.updateStrategy', spec.updateStrategy);
  checkEnum(errors, 'spec.updateStrategy.type', strategy?.type, ['OnDelete', 'RollingUpdate']);
  validateRollingUpdate(errors, 'spec.updateStrategy.rollingUpdate', strategy?.rollingUpdate);
  for (const [claim, at] of objectsOf(errors, 'spec.volumeClaimTemplates', spec.volumeClaimTemplates)) {
    const metadata = objectAt(errors, `${at}.metadata`, claim.metadata);
    checkString(errors, `${at}.metadata.name`, metadata?.name, dns1123Subdomain, true);
  }
}

/** Updates: the selector never changes; a StatefulSet changes only a few spec fields. */
export function validateAppsUpdate(errors: FieldErrors, resource: string, o: Any, old: Any): void {
  if (!sameJson(o.spec?.selector, old.spec?.selector))
    errors.invalid('spec.selector', o.spec?.selector, 'field is immutable');
  if (resource !== 'statefulsets') return;
  const fixed = (spec: Any | undefined) => {
    const {
      replicas,
      ordinals,
      template,
      updateStrategy,
      persistentVolumeClaimRetentionPolicy,
      minReadySeconds,
      ...rest
    } = spec ?? {};
    void [replicas, ordinals, template, updateStrategy, persistentVolumeClaimRetentionPolicy, minReadySeconds];
    return rest;
  };
  if (!sameJson(fixed(o.spec), fixed(old.spec))) {
    errors.forbidden(
      'spec',
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    );
  }
}

/** A ControllerRevision's revision number orders a workload's history, so it is never negative. */
export function validateControllerRevision(errors: FieldErrors, o: Any): void {
  checkInteger(errors, 'revision', o.revision, { min: 0 });
}
