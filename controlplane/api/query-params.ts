/**
 * Query parameters read as the upstream API server reads them, so that every client library gets
 * the answer kube-apiserver would give (they spell parameters differently from kubectl: Python
 * sends `True`, some send `1`, `watch` alone, or a parameter twice).
 *
 * Upstream decodes the query into its option structs with apimachinery's string conversions:
 *  - a parameter given several times counts with its first value; unknown parameters are ignored;
 *  - a boolean is false only when absent, `0`, or `false` in any letter case; every other value,
 *    the empty one (`?watch`) included, is true;
 *  - an integer is Go's `strconv.ParseInt(s, 10, 64)`: optional sign, decimal digits, within
 *    int64; anything else is a 400 carrying strconv's own words.
 */
import { ApiError } from '../../kube/errors.ts';
import type { StatusCause } from '../../kube/types.ts';

/** A boolean parameter; undefined when absent (upstream's *bool fields stay nil). */
export function booleanParam(query: URLSearchParams, name: string): boolean | undefined {
  const value = query.get(name);
  if (value === null) return undefined;
  return !(value === '0' || value.toLowerCase() === 'false');
}

/** A boolean parameter whose absence means false (upstream's plain bool fields). */
export function flagParam(query: URLSearchParams, name: string): boolean {
  return booleanParam(query, name) ?? false;
}

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/** Go's strconv.ParseInt(text, 10, 64), with its error text for anything it refuses. */
export function parseGoInt64(text: string): number {
  if (!/^[+-]?\d+$/.test(text))
    throw new ApiError('BadRequest', `strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
  const value = BigInt(text);
  if (value < int64Min || value > int64Max)
    throw new ApiError('BadRequest', `strconv.ParseInt: parsing ${JSON.stringify(text)}: value out of range`);
  return Number(value);
}

/** An integer parameter; undefined when absent. */
export function integerParam(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  return value === null ? undefined : parseGoInt64(value);
}

/** A string parameter as upstream keeps it: the first value, '' when absent. */
export function stringParam(query: URLSearchParams, name: string): string {
  return query.get(name) ?? '';
}

/**
 * 422 Invalid for a request's options (ListOptions, CreateOptions, ...), as upstream words it:
 * `<Kind>.meta.k8s.io "" is invalid: <field>: <problem>`, several problems in brackets.
 */
export function invalidOptions(kind: string, causes: readonly StatusCause[]): ApiError {
  const summary = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return new ApiError('Invalid', `${kind}.meta.k8s.io "" is invalid: ${causes.length > 1 ? `[${summary}]` : summary}`, {
    group: 'meta.k8s.io',
    kind,
    name: '',
    causes: [...causes],
  });
}

export const forbiddenOption = (field: string, detail: string): StatusCause => ({
  reason: 'FieldValueForbidden',
  message: `Forbidden: ${detail}`,
  field,
});

/** `shown` is the value as Go prints it (a string quoted, a list as []string{...}). */
export const unsupportedOption = (field: string, shown: string, allowed: readonly string[]): StatusCause => ({
  reason: 'FieldValueNotSupported',
  message: `Unsupported value: ${shown}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`,
  field,
});
