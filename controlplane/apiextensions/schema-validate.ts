/**
 * A custom resource checked against its version's schema on every write, with the errors
 * upstream's validator gives (`spec.replicas: Invalid value: "string": spec.replicas in body must
 * be of type integer: "string"`): type and nullability, int-or-string, enum, pattern, format,
 * numeric bounds, lengths and counts, required properties, embedded resources. Pure: it reads the
 * value and appends to the error list.
 */
import { dns1123Subdomain } from '../../kube/name-formats.ts';
import { FieldErrors, jsonType } from '../validation/field-errors.ts';
import { isPlainRecord, type JsonSchema, mapValueSchema } from './schema-types.ts';
import { compileRe2 } from '../validation/re2-pattern.ts';

/**
 * Whether a string fails its schema's pattern, read as RE2 (Go's regexp, which upstream's
 * validator uses): linear time, so a hostile pattern cannot stall a write. A pattern that does not
 * compile never reaches a stored definition (crd-validation.ts refuses it) and matches nothing here.
 */
function patternRefuses(pattern: string, value: string): boolean {
  const compiled = compileRe2(pattern);
  return compiled.ok && !compiled.regex.test(value);
}

/** The type name as upstream's validator words a mismatch (int-or-string: "integer,string"). */
function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isPlainRecord(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

const formatChecks: Readonly<Record<string, (value: string) => boolean>> = {
  'date-time': (v) => /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(v),
  date: (v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)),
  byte: (v) => /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0,
  uuid: (v) => /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/.test(v),
  ipv4: (v) => /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$/.test(v),
  hostname: (v) => v.length <= 253 && dns1123Subdomain(v.toLowerCase()).length === 0,
  email: (v) => /^[^@\s]+@[^@\s]+$/.test(v),
  duration: (v) => /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v),
};

/** Appends every problem of `value` at `path` to `errors`. */
export function validateAgainstSchema(errors: FieldErrors, path: string, value: unknown, schema: JsonSchema): void {
  if (value === null) {
    if (schema.nullable === true || schema['x-kubernetes-preserve-unknown-fields'] === true) return;
    if (schema.type !== undefined || schema['x-kubernetes-int-or-string'] === true) {
      const type = schema['x-kubernetes-int-or-string'] === true ? 'integer,string' : schema.type;
      errors.invalid(path, 'null', `${path} in body must be of type ${type}: "null"`);
    }
    return;
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    if (!typeMatches('integer', value) && typeof value !== 'string') {
      errors.invalid(path, jsonType(value), `${path} in body must be of type integer,string: "${jsonType(value)}"`);
      return;
    }
  } else if (schema.type !== undefined && !typeMatches(schema.type, value)) {
    errors.invalid(path, jsonType(value), `${path} in body must be of type ${schema.type}: "${jsonType(value)}"`);
    return;
  }
  if (schema.enum !== undefined && !schema.enum.some((allowed) => JSON.stringify(allowed) === JSON.stringify(value))) {
    errors.notSupported(
      path,
      value,
      schema.enum.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))),
    );
  }
  if (typeof value === 'string') validateString(errors, path, value, schema);
  else if (typeof value === 'number') validateNumber(errors, path, value, schema);
  else if (Array.isArray(value)) validateArray(errors, path, value, schema);
  else if (isPlainRecord(value)) validateObject(errors, path, value, schema);
  for (const part of schema.allOf ?? []) validateAgainstSchema(errors, path, value, part);
  validateAlternatives(errors, path, value, schema);
}

function validateString(errors: FieldErrors, path: string, value: string, schema: JsonSchema): void {
  const length = [...value].length;
  if (schema.maxLength !== undefined && length > schema.maxLength) errors.tooLong(path, schema.maxLength);
  if (schema.minLength !== undefined && length < schema.minLength)
    errors.invalid(path, value, `${path} in body should be at least ${schema.minLength} chars long`);
  if (schema.pattern !== undefined && patternRefuses(schema.pattern, value))
    errors.invalid(path, value, `${path} in body should match '${schema.pattern}'`);
  const check = schema.format === undefined ? undefined : formatChecks[schema.format];
  if (check !== undefined && !check(value))
    errors.invalid(path, value, `${path} in body must be of type ${schema.format}: ${JSON.stringify(value)}`);
}

function validateNumber(errors: FieldErrors, path: string, value: number, schema: JsonSchema): void {
  if (schema.maximum !== undefined) {
    if (schema.exclusiveMaximum === true ? value >= schema.maximum : value > schema.maximum)
      errors.invalid(
        path,
        value,
        `${path} in body should be less than ${schema.exclusiveMaximum === true ? '' : 'or equal to '}${schema.maximum}`,
      );
  }
  if (schema.minimum !== undefined) {
    if (schema.exclusiveMinimum === true ? value <= schema.minimum : value < schema.minimum)
      errors.invalid(
        path,
        value,
        `${path} in body should be greater than ${schema.exclusiveMinimum === true ? '' : 'or equal to '}${schema.minimum}`,
      );
  }
  if (schema.multipleOf !== undefined && schema.multipleOf > 0 && !Number.isInteger(value / schema.multipleOf))
    errors.invalid(path, value, `${path} in body should be a multiple of ${schema.multipleOf}`);
}

function validateArray(errors: FieldErrors, path: string, value: readonly unknown[], schema: JsonSchema): void {
  if (schema.maxItems !== undefined && value.length > schema.maxItems)
    errors.tooMany(path, value.length, schema.maxItems);
  if (schema.minItems !== undefined && value.length < schema.minItems)
    errors.invalid(path, value.length, `${path} in body should have at least ${schema.minItems} items`);
  const listType = schema['x-kubernetes-list-type'];
  if (listType === 'set') {
    const seen = new Set<string>();
    value.forEach((item, i) => {
      const key = JSON.stringify(item);
      if (seen.has(key)) errors.duplicate(`${path}[${i}]`, item);
      seen.add(key);
    });
  } else if (listType === 'map') {
    const keys = schema['x-kubernetes-list-map-keys'] ?? [];
    const seen = new Set<string>();
    value.forEach((item, i) => {
      if (!isPlainRecord(item)) return;
      const key = JSON.stringify(keys.map((k) => item[k] ?? null));
      if (seen.has(key)) errors.duplicate(`${path}[${i}]`, Object.fromEntries(keys.map((k) => [k, item[k]])));
      seen.add(key);
    });
  }
  if (schema.items !== undefined)
    value.forEach((item, i) => validateAgainstSchema(errors, `${path}[${i}]`, item, schema.items!));
}

function validateObject(errors: FieldErrors, path: string, value: Record<string, unknown>, schema: JsonSchema): void {
  const count = Object.keys(value).length;
  if (schema.maxProperties !== undefined && count > schema.maxProperties)
    errors.tooMany(path, count, schema.maxProperties);
  if (schema.minProperties !== undefined && count < schema.minProperties)
    errors.invalid(path, count, `${path} in body should have at least ${schema.minProperties} properties`);
  const child = (key: string) => (path === '' ? key : `${path}.${key}`);
  for (const key of schema.required ?? []) if (!(key in value)) errors.required(child(key), '');
  if (schema['x-kubernetes-embedded-resource'] === true) {
    if (typeof value.apiVersion !== 'string' || value.apiVersion === '')
      errors.required(child('apiVersion'), 'must not be empty');
    if (typeof value.kind !== 'string' || value.kind === '') errors.required(child('kind'), 'must not be empty');
  }
  const properties = schema.properties ?? {};
  const values = mapValueSchema(schema);
  for (const [key, item] of Object.entries(value)) {
    const itemSchema = properties[key] ?? (schema.properties === undefined ? values : undefined);
    if (itemSchema !== undefined)
      validateAgainstSchema(
        errors,
        path === '' ? key : isMapKey(schema) ? `${path}[${key}]` : child(key),
        item,
        itemSchema,
      );
  }
}

/** Map values are named `path[key]`, struct fields `path.key`, as upstream's field paths. */
function isMapKey(schema: JsonSchema): boolean {
  return schema.properties === undefined && mapValueSchema(schema) !== undefined;
}

/** anyOf / oneOf / not: value constraints only (structural schemas keep types out of them). */
function validateAlternatives(errors: FieldErrors, path: string, value: unknown, schema: JsonSchema): void {
  const passes = (part: JsonSchema): boolean => {
    const probe = new FieldErrors();
    validateAgainstSchema(probe, path, value, part);
    return probe.empty;
  };
  if (schema.anyOf !== undefined && !schema.anyOf.some(passes))
    errors.invalid(
      path,
      value,
      `${path} in body must be of ${schema.anyOf.map((p) => p.type ?? 'value').join(' or ')}`,
    );
  if (schema.oneOf !== undefined && schema.oneOf.filter(passes).length !== 1)
    errors.invalid(path, value, `${path} in body must validate one and only one schema (oneOf)`);
  if (schema.not !== undefined && passes(schema.not))
    errors.invalid(path, value, `${path} in body must not validate the schema (not)`);
}
