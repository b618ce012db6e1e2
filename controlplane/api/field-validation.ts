/**
 * Unknown and duplicate fields in a write, as `?fieldValidation=` asks: Strict refuses the request
 * (400, "strict decoding error: unknown field \"spec.foo\""), Warn (the default) and Ignore drop
 * unknown fields, Warn also tells the client in `Warning` headers (kubectl prints them). The known
 * fields come from field-schema.json (generated from the upstream models by
 * scripts/gen-field-schema.ts).
 */
import { readFileSync } from 'node:fs';
import { ApiError } from '../../kube/errors.ts';
import { apiVersionOf, isPlainObject } from '../../kube/types.ts';

type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

interface FieldSchema {
  readonly kinds: Readonly<Record<string, string>>;
  readonly types: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

let schema: FieldSchema | undefined;
/** Every served kind's model type and every type's fields, from field-schema.json. */
export function fieldSchema(): FieldSchema {
  schema ??= JSON.parse(readFileSync(new URL('./field-schema.json', import.meta.url), 'utf8')) as FieldSchema;
  return schema;
}

/** Every field of an upstream model with its type ("" scalar, "*" anything, a model, "[]"/"{}" wrapped). */
export function upstreamModelFields(model: string): Readonly<Record<string, string>> | undefined {
  return fieldSchema().types[model];
}

export function fieldValidationOf(query: URLSearchParams): FieldValidation {
  const value = query.get('fieldValidation');
  if (value === null || value === '') return 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw new ApiError(
    'BadRequest',
    `fieldValidation parameter unsupported: "${value}"; use one of Strict, Warn or Ignore`,
  );
}

/** The paths of unknown fields, removed from `object` in place. An unknown kind is left alone. */
export function pruneUnknownFields(
  group: string,
  version: string,
  kind: string,
  object: Record<string, unknown>,
): string[] {
  const { kinds, types } = fieldSchema();
  const root = kinds[`${group}/${version}/${kind}`];
  if (root === undefined) return [];
  const unknown: string[] = [];
  const walk = (value: unknown, type: string, path: string): void => {
    if (type === '' || type === '*') return;
    if (type.startsWith('[]')) {
      if (Array.isArray(value)) value.forEach((item, i) => walk(item, type.slice(2), `${path}[${i}]`));
      return;
    }
    if (type.startsWith('{}')) {
      if (isPlainObject(value))
        for (const [key, item] of Object.entries(value)) walk(item, type.slice(2), `${path}[${key}]`);
      return;
    }
    const fields = types[type];
    if (fields === undefined || !isPlainObject(value)) return;
    for (const [key, item] of Object.entries(value)) {
      const fieldPath = path === '' ? key : `${path}.${key}`;
      const fieldType = fields[key];
      if (fieldType === undefined) {
        unknown.push(fieldPath);
        delete value[key];
      } else walk(item, fieldType, fieldPath);
    }
  };
  walk(object, root, '');
  return unknown;
}

/**
 * Paths of keys that appear twice in one JSON object of `text` (JSON.parse keeps the last one
 * silently). Array elements are written `[i]`, as in unknown-field paths.
 */
export function duplicateFields(text: string): string[] {
  const found: string[] = [];
  let i = 0;
  const space = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    space();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      space();
      if (text[i] === '}') {
        i++;
        return;
      }
      while (i < text.length) {
        space();
        const key = string();
        const keyPath = path === '' ? key : `${path}.${key}`;
        if (seen.has(key)) found.push(keyPath);
        seen.add(key);
        space();
        i++; // ':'
        value(keyPath);
        space();
        if (text[i++] !== ',') return;
      }
    } else if (c === '[') {
      i++;
      space();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; i < text.length; n++) {
        value(`${path}[${n}]`);
        space();
        if (text[i++] !== ',') return;
      }
    } else if (c === '"') string();
    else while (i < text.length && !',]} \t\r\n'.includes(text[i]!)) i++;
  };
  try {
    value('');
  } catch {
    // Not JSON after all: the body parser reports that.
  }
  return found;
}

interface FieldCheck {
  readonly mode: FieldValidation;
  /** The request body as sent, when it was JSON (for duplicate keys). */
  readonly rawJson: string | undefined;
  /** "<Kind> in version \"v1\" cannot be handled as a <Kind>: " for creates and updates; "" for patches. */
  readonly context: string;
  /** Drops the unknown fields and returns their paths, for kinds not in field-schema.json (custom resources). */
  readonly prune?: (object: Record<string, unknown>) => string[];
}

/**
 * Checks `object` (what is about to be stored) against the schema of its kind: drops unknown
 * fields and returns the warnings to send, or throws for Strict.
 */
export function checkFields(
  group: string,
  version: string,
  kind: string,
  object: Record<string, unknown>,
  check: FieldCheck,
): string[] {
  const duplicates = check.mode === 'Ignore' || check.rawJson === undefined ? [] : duplicateFields(check.rawJson);
  const unknown = check.prune !== undefined ? check.prune(object) : pruneUnknownFields(group, version, kind, object);
  if (check.mode === 'Ignore') return [];
  const problems = [...duplicates.map((p) => `duplicate field "${p}"`), ...unknown.map((p) => `unknown field "${p}"`)];
  if (check.mode === 'Strict' && problems.length > 0) {
    throw new ApiError('BadRequest', `${check.context}strict decoding error: ${problems.join(', ')}`);
  }
  return problems;
}

export function decodingContext(group: string, version: string, kind: string): string {
  return `${kind} in version "${apiVersionOf(group, version).split('/').at(-1)}" cannot be handled as a ${kind}: `;
}
