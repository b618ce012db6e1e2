/**
 * A list of field errors with their paths, worded as upstream's field.ErrorList prints them
 * (`spec.ports[0].name: Invalid value: "x": ...`), so clients and people read the same text they
 * would get from a Kubernetes API server. Validators collect every problem of an object, then the
 * caller turns the list into one 422 Invalid whose causes name each field.
 */
import { ApiError } from '../../kube/errors.ts';
import type { StatusCause } from '../../kube/types.ts';

/** Values longer than this are shown cut short: a hostile megabyte is not echoed back. */
const shownValueLimit = 256;

/** How upstream prints a value in an error: strings quoted, numbers and booleans bare. */
function showValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > shownValueLimit ? `${value.slice(0, shownValueLimit)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === undefined || value === null) return 'null';
  const text = JSON.stringify(value) ?? 'null';
  return text.length > shownValueLimit ? `${text.slice(0, shownValueLimit)}...` : text;
}

/** The JSON type of a value, in the words of a schema. */
export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

export class FieldErrors {
  readonly causes: StatusCause[] = [];

  get empty(): boolean {
    return this.causes.length === 0;
  }

  private add(reason: string, field: string, message: string): void {
    this.causes.push({ reason, field, message });
  }

  required(field: string, detail = ''): void {
    this.add('FieldValueRequired', field, `Required value${detail ? `: ${detail}` : ''}`);
  }

  invalid(field: string, value: unknown, detail: string): void {
    this.add('FieldValueInvalid', field, `Invalid value: ${showValue(value)}${detail ? `: ${detail}` : ''}`);
  }

  /** One Invalid per message of a name check (upstream's `for _, msg := range IsX(v)`). */
  invalidEach(field: string, value: unknown, messages: readonly string[]): void {
    for (const message of messages) this.invalid(field, value, message);
  }

  notSupported(field: string, value: unknown, allowed: readonly string[]): void {
    this.add(
      'FieldValueNotSupported',
      field,
      `Unsupported value: ${showValue(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`,
    );
  }

  forbidden(field: string, detail: string): void {
    this.add('FieldValueForbidden', field, `Forbidden: ${detail}`);
  }

  duplicate(field: string, value: unknown): void {
    this.add('FieldValueDuplicate', field, `Duplicate value: ${showValue(value)}`);
  }

  notFound(field: string, value: unknown): void {
    this.add('FieldValueNotFound', field, `Not found: ${showValue(value)}`);
  }

  tooLong(field: string, max: number): void {
    this.add('FieldValueTooLong', field, `Too long: may not be more than ${max} bytes`);
  }

  tooMany(field: string, actual: number, max: number): void {
    this.add('FieldValueTooMany', field, `Too many: ${actual}: must have at most ${max} items`);
  }

  /** A JSON value of the wrong type (a string where a port number belongs). */
  wrongType(field: string, value: unknown, expected: string): void {
    this.add(
      'FieldValueTypeInvalid',
      field,
      `Invalid value: "${jsonType(value)}": ${field} must be of type ${expected}`,
    );
  }

  /** Throws 422 naming the object (`Deployment.apps "web"`, as upstream names it) when anything was found. */
  throwIfAny(kind: string, group: string, name: string): void {
    if (this.empty) return;
    const summary = this.causes.map((c) => `${c.field}: ${c.message}`).join(', ');
    const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
    throw new ApiError(
      'Invalid',
      `${qualifiedKind} "${name}" is invalid: ${this.causes.length > 1 ? `[${summary}]` : summary}`,
      { name, group, kind, causes: this.causes },
    );
  }
}
