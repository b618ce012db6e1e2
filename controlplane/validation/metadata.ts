/**
 * ObjectMeta rules shared by every kind (upstream's ValidateObjectMeta): the name (or
 * generateName) in the format the kind asks for, the namespace, label and annotation keys and
 * values (annotations at most 256 KiB together), finalizers and owner references.
 */
import type { FieldErrors } from './field-errors.ts';
import { checkString, isSet, objectsOf, stringMapAt, stringsOf, type Any, type NameCheck } from './fields.ts';
import {
  dns1035Label,
  dns1123Label,
  dns1123Subdomain,
  labelValue,
  pathSegment,
  qualifiedName,
} from '../../kube/name-formats.ts';

export type NameRule = 'subdomain' | 'label' | 'label1035' | 'path';

const nameChecks: Record<NameRule, NameCheck> = {
  subdomain: dns1123Subdomain,
  label: dns1123Label,
  label1035: dns1035Label,
  path: pathSegment,
};

/** Upstream's limit on all annotations of one object together. */
const totalAnnotationSizeLimit = 256 * 1024;

/** Label keys and values (also node selectors and label selectors' matchLabels). */
export function validateLabels(errors: FieldErrors, path: string, labels: unknown): Array<[string, string]> {
  const entries = stringMapAt(errors, path, labels);
  for (const [key, value] of entries) {
    errors.invalidEach(path, key, qualifiedName(key));
    errors.invalidEach(path, value, labelValue(value));
  }
  return entries;
}

export function validateAnnotations(errors: FieldErrors, path: string, annotations: unknown): void {
  let total = 0;
  for (const [key, value] of stringMapAt(errors, path, annotations)) {
    errors.invalidEach(path, key, qualifiedName(key.toLowerCase()));
    total += key.length + value.length;
  }
  if (total > totalAnnotationSizeLimit) errors.tooLong(path, totalAnnotationSizeLimit);
}

const standardFinalizers = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

function validateFinalizers(errors: FieldErrors, path: string, finalizers: unknown): void {
  for (const [finalizer, at] of stringsOf(errors, path, finalizers)) {
    const problems = qualifiedName(finalizer);
    errors.invalidEach(path, finalizer, problems);
    if (problems.length === 0 && !finalizer.includes('/') && !standardFinalizers.has(finalizer)) {
      errors.invalid(at, finalizer, 'name is neither a standard finalizer name nor is it fully qualified');
    }
  }
}

function validateOwnerReferences(errors: FieldErrors, path: string, references: unknown): void {
  let controllers = 0;
  for (const [ref] of objectsOf(errors, path, references)) {
    for (const field of ['apiVersion', 'kind', 'name', 'uid'] as const) {
      if (typeof ref[field] !== 'string' || ref[field] === '')
        errors.invalid(path, ref[field] ?? '', `${field} must not be empty`);
    }
    if (ref.controller === true) controllers += 1;
  }
  if (controllers > 1) errors.invalid(path, references, 'Only one reference can have Controller set to true');
}

/**
 * The metadata of a stored object. `namespaced` says whether the kind lives in a namespace;
 * `nameRule` is the kind's name format.
 */
export function validateObjectMeta(errors: FieldErrors, metadata: Any, nameRule: NameRule, namespaced: boolean): void {
  const check = nameChecks[nameRule];
  if (isSet(metadata.generateName) && typeof metadata.generateName === 'string' && metadata.generateName !== '') {
    // A prefix may end in '-' (the server appends a random suffix), so that dash is not judged.
    errors.invalidEach('metadata.generateName', metadata.generateName, check(metadata.generateName.replace(/-$/, 'a')));
  }
  if (!isSet(metadata.name) || metadata.name === '') {
    errors.required('metadata.name', 'name or generateName is required');
  } else {
    checkString(errors, 'metadata.name', metadata.name, check);
  }
  if (namespaced) checkString(errors, 'metadata.namespace', metadata.namespace, dns1123Label, true);
  else if (isSet(metadata.namespace) && metadata.namespace !== '')
    errors.forbidden('metadata.namespace', 'not allowed on this type');
  validateLabels(errors, 'metadata.labels', metadata.labels);
  validateAnnotations(errors, 'metadata.annotations', metadata.annotations);
  validateFinalizers(errors, 'metadata.finalizers', metadata.finalizers);
  validateOwnerReferences(errors, 'metadata.ownerReferences', metadata.ownerReferences);
}
