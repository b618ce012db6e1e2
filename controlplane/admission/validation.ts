/**
 * Validation with field paths. Collects every problem of an object, so the client sees them all at
 * once in Status.details.causes, then the caller turns them into one 422 Invalid.
 */
import { ApiError } from '../../kube/errors.ts';
import type { StatusCause } from '../../kube/types.ts';

type Any = Record<string, any>;

export class FieldErrors {
  readonly causes: StatusCause[] = [];
  required(field: string, detail = ''): void {
    this.causes.push({ reason: 'FieldValueRequired', message: `Required value${detail ? `: ${detail}` : ''}`, field });
  }
  invalid(field: string, value: unknown, detail: string): void {
    this.causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${detail}`, field });
  }
  notSupported(field: string, value: unknown, allowed: readonly string[]): void {
    this.causes.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`, field });
  }
  forbidden(field: string, detail: string): void {
    this.causes.push({ reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field });
  }
  duplicate(field: string, value: unknown): void {
    this.causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(value)}`, field });
  }

  /** Throws 422 naming the object when anything was found. */
  throwIfAny(kind: string, group: string, name: string): void {
    if (this.causes.length === 0) return;
    const summary = this.causes.map((c) => `${c.field}: ${c.message}`).join(', ');
    throw new ApiError('Invalid', `${kind} "${name}" is invalid: ${this.causes.length > 1 ? `[${summary}]` : summary}`, { name, group, kind, causes: this.causes });
  }
}

const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const label1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export function checkSubdomain(errors: FieldErrors, field: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') return errors.required(field);
  if (value.length > 253) return errors.invalid(field, value, 'must be no more than 253 characters');
  if (!value.split('.').every((part) => label.test(part))) {
    errors.invalid(field, value, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character");
  }
}

export function checkLabel(errors: FieldErrors, field: string, value: unknown, rfc1035 = false): void {
  if (typeof value !== 'string' || value === '') return errors.required(field);
  if (value.length > 63) return errors.invalid(field, value, 'must be no more than 63 characters');
  if (!(rfc1035 ? label1035 : label).test(value)) {
    errors.invalid(field, value, rfc1035 ? "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character" : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character");
  }
}

function checkPort(errors: FieldErrors, field: string, value: unknown, required = true): void {
  if (value === undefined) {
    if (required) errors.required(field);
    return;
  }
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65535) errors.invalid(field, value, 'must be between 1 and 65535, inclusive');
}

/** RBAC objects may use any name that is a valid URL path segment (they contain ':'). */
export function checkPathSegment(errors: FieldErrors, field: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') return errors.required(field);
  if (value === '.' || value === '..' || /[/%]/.test(value)) errors.invalid(field, value, 'may not be "." or ".." and may not contain "/" or "%"');
}

export type NameRule = 'subdomain' | 'label' | 'label1035' | 'path';

export function validateMetadata(errors: FieldErrors, metadata: Any, nameRule: NameRule): void {
  if (nameRule === 'subdomain') checkSubdomain(errors, 'metadata.name', metadata.name);
  else if (nameRule === 'path') checkPathSegment(errors, 'metadata.name', metadata.name);
  else checkLabel(errors, 'metadata.name', metadata.name, nameRule === 'label1035');
  for (const [field, map] of [['metadata.labels', metadata.labels], ['metadata.annotations', metadata.annotations]] as const) {
    if (map === undefined) continue;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) {
      errors.invalid(field, map, 'must be a map of strings');
      continue;
    }
    for (const [k, v] of Object.entries(map)) {
      if (typeof v !== 'string') errors.invalid(`${field}[${k}]`, v, 'must be a string');
      else if (field === 'metadata.labels' && (v.length > 63 || !/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(v))) errors.invalid(`${field}`, v, 'a valid label value must be 63 characters or less and consist of alphanumerics, -, _ or .');
    }
  }
}

export function validatePodSpec(errors: FieldErrors, spec: Any, path: string): void {
  if (typeof spec !== 'object' || spec === null) return errors.required(path);
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) errors.required(`${path}.containers`);
  const names = new Set<string>();
  for (const [list, key] of [[spec.initContainers ?? [], 'initContainers'], [containers ?? [], 'containers']] as const) {
    if (!Array.isArray(list)) {
      errors.invalid(`${path}.${key}`, list, 'must be a list');
      continue;
    }
    list.forEach((c: Any, i: number) => {
      const at = `${path}.${key}[${i}]`;
      if (typeof c !== 'object' || c === null) return errors.invalid(at, c, 'must be an object');
      checkLabel(errors, `${at}.name`, c.name);
      if (typeof c.name === 'string') {
        if (names.has(c.name)) errors.duplicate(`${at}.name`, c.name);
        names.add(c.name);
      }
      if (typeof c.image !== 'string' || c.image.trim() === '') errors.required(`${at}.image`);
      if (c.imagePullPolicy !== undefined && !['Always', 'IfNotPresent', 'Never'].includes(c.imagePullPolicy)) errors.notSupported(`${at}.imagePullPolicy`, c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']);
      for (const [j, port] of ((c.ports ?? []) as Any[]).entries()) checkPort(errors, `${at}.ports[${j}].containerPort`, port.containerPort);
    });
  }
  if (spec.restartPolicy !== undefined && !['Always', 'OnFailure', 'Never'].includes(spec.restartPolicy)) errors.notSupported(`${path}.restartPolicy`, spec.restartPolicy, ['Always', 'OnFailure', 'Never']);
  if (spec.terminationGracePeriodSeconds !== undefined && (!Number.isInteger(spec.terminationGracePeriodSeconds) || spec.terminationGracePeriodSeconds < 0)) {
    errors.invalid(`${path}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, 'must be greater than or equal to 0');
  }
}

export function validateServiceSpec(errors: FieldErrors, spec: Any): void {
  const types = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
  if (!types.includes(spec.type)) errors.notSupported('spec.type', spec.type, types);
  if (spec.type !== 'ExternalName' && spec.clusterIP !== 'None' && (!Array.isArray(spec.ports) || spec.ports.length === 0)) errors.required('spec.ports');
  for (const [i, port] of ((spec.ports ?? []) as Any[]).entries()) {
    checkPort(errors, `spec.ports[${i}].port`, port.port);
    if (!['TCP', 'UDP', 'SCTP'].includes(port.protocol)) errors.notSupported(`spec.ports[${i}].protocol`, port.protocol, ['TCP', 'UDP', 'SCTP']);
    if ((spec.ports as Any[]).length > 1 && !port.name) errors.required(`spec.ports[${i}].name`);
  }
}

export function validateSelectorMatchesTemplate(errors: FieldErrors, spec: Any): void {
  const selector = spec.selector?.matchLabels as Record<string, string> | undefined;
  if (!spec.selector) return errors.required('spec.selector');
  const labels = (spec.template?.metadata?.labels ?? {}) as Record<string, string>;
  if (selector && !Object.entries(selector).every(([k, v]) => labels[k] === v)) {
    errors.invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`');
  }
}
