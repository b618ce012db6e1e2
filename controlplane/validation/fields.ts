/**
 * Typed reads of request fields: each checks the JSON type before the format, so a string where a
 * port number belongs is one clean field error, never an exception deeper down. A value that is
 * absent (undefined or null) is "not set", as upstream's decoder treats a JSON null.
 */
import type { FieldErrors } from './field-errors.ts';

export type Any = Record<string, any>;
export type NameCheck = (value: string) => string[];

export const isSet = (value: unknown): boolean => value !== undefined && value !== null;
export const isObject = (value: unknown): value is Any =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A string field checked by a name format; `required` reports an absent or empty value. */
export function checkString(
  errors: FieldErrors,
  path: string,
  value: unknown,
  check?: NameCheck,
  required = false,
): value is string {
  if (!isSet(value) || value === '') {
    if (required) errors.required(path);
    return false;
  }
  if (typeof value !== 'string') {
    errors.wrongType(path, value, 'string');
    return false;
  }
  if (check) errors.invalidEach(path, value, check(value));
  return true;
}

/** An integer field within [min, max], worded as upstream words each kind of bound. */
export function checkInteger(
  errors: FieldErrors,
  path: string,
  value: unknown,
  bounds: { min?: number; max?: number; required?: boolean; rangeMessage?: string } = {},
): value is number {
  if (!isSet(value)) {
    if (bounds.required) errors.required(path);
    return false;
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    errors.wrongType(path, value, 'integer');
    return false;
  }
  const { min, max } = bounds;
  const outside = (min !== undefined && value < min) || (max !== undefined && value > max);
  if (!outside) return true;
  if (bounds.rangeMessage) errors.invalid(path, value, bounds.rangeMessage);
  else if (min !== undefined && max !== undefined)
    errors.invalid(path, value, `must be between ${min} and ${max}, inclusive`);
  else if (min !== undefined) errors.invalid(path, value, `must be greater than or equal to ${min}`);
  else errors.invalid(path, value, `must be less than or equal to ${max}`);
  return false;
}

export function checkBoolean(errors: FieldErrors, path: string, value: unknown): void {
  if (isSet(value) && typeof value !== 'boolean') errors.wrongType(path, value, 'boolean');
}

/** One of a fixed set of strings (an absent value is fine unless required). */
export function checkEnum(
  errors: FieldErrors,
  path: string,
  value: unknown,
  allowed: readonly string[],
  required = false,
): void {
  if (!isSet(value) || value === '') {
    if (required) errors.required(path);
    return;
  }
  if (typeof value !== 'string') return errors.wrongType(path, value, 'string');
  if (!allowed.includes(value)) errors.notSupported(path, value, allowed);
}

/** The items of a list field that pass `fits`, each with its path; others are reported. */
function itemsOf<T>(
  errors: FieldErrors,
  path: string,
  value: unknown,
  fits: (item: unknown) => item is T,
  typeName: string,
): Array<[T, string]> {
  if (!isSet(value)) return [];
  if (!Array.isArray(value)) {
    errors.wrongType(path, value, 'array');
    return [];
  }
  const items: Array<[T, string]> = [];
  value.forEach((item, i) => {
    if (fits(item)) items.push([item, `${path}[${i}]`]);
    else errors.wrongType(`${path}[${i}]`, item, typeName);
  });
  return items;
}

export const objectsOf = (errors: FieldErrors, path: string, value: unknown): Array<[Any, string]> =>
  itemsOf(errors, path, value, isObject, 'object');
export const stringsOf = (errors: FieldErrors, path: string, value: unknown): Array<[string, string]> =>
  itemsOf(errors, path, value, (item): item is string => typeof item === 'string', 'string');

/** An object field, or undefined when absent or of the wrong type (which is reported). */
export function objectAt(errors: FieldErrors, path: string, value: unknown): Any | undefined {
  if (!isSet(value)) return undefined;
  if (isObject(value)) return value;
  errors.wrongType(path, value, 'object');
  return undefined;
}

/** A map of strings to strings (labels, selectors, data). */
export function stringMapAt(errors: FieldErrors, path: string, value: unknown): Array<[string, string]> {
  const map = objectAt(errors, path, value);
  if (map === undefined) return [];
  const entries: Array<[string, string]> = [];
  for (const [key, item] of Object.entries(map)) {
    if (typeof item === 'string') entries.push([key, item]);
    else errors.wrongType(`${path}[${key}]`, item, 'string');
  }
  return entries;
}

/** Reports values seen twice in a list, at the later item's path. */
export function uniqueTracker(errors: FieldErrors): (path: string, value: unknown) => void {
  const seen = new Set<string>();
  return (path, value) => {
    const key = JSON.stringify(value);
    if (seen.has(key)) errors.duplicate(path, value);
    seen.add(key);
  };
}

/** How many of the named keys are set on an object (the "exactly one of" rules). */
export function setKeys(object: Any, keys: readonly string[]): string[] {
  return keys.filter((k) => isSet(object[k]));
}

/** Deep equality of JSON values, whatever order their keys came in, an absent field equal to null. */
export function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (isObject(value)) {
      const keys = Object.keys(value)
        .filter((k) => isSet(value[k]))
        .sort();
      return Object.fromEntries(keys.map((k) => [k, canonical(value[k])]));
    }
    return value ?? null;
  };
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}
