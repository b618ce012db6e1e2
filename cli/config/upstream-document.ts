/**
 * Shared reading of upstream component configuration documents (KubeletConfiguration,
 * KubeProxyConfiguration): walk the document, map the fields bosun has a flag for, accept the fields
 * whose only value bosun supports when they hold that value, and name every other field in one error.
 */
import { configError } from './config-error.ts';
import type { FlagValues } from './flag-file.ts';

interface FieldMapping {
  flag: string;
  /** The field's value as the flag takes it; throws a message (without the file) when it cannot. */
  convert?: (value: unknown) => string | number | boolean | string[];
}

/** A field bosun does not configure but behaves as one value of: that value is accepted, others say why. */
interface FixedField {
  value: unknown;
  why: string;
}

export interface DocumentSchema {
  kind: string;
  apiVersion: string;
  /** Dotted field path → flag. */
  mapped: Record<string, FieldMapping>;
  fixed: Record<string, FixedField>;
  /** For the error line: what to read (the agent's --help). */
  command: string;
}

/** Leaf fields of a document as dotted paths (objects walked, lists and scalars are leaves). */
function leafFields(value: unknown, prefix = ''): Array<[string, unknown]> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [[prefix, value]];
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return prefix === '' ? [] : [[prefix, value]];
  return entries.flatMap(([key, child]) => leafFields(child, prefix === '' ? key : `${prefix}.${key}`));
}

/** Whether a field path is a map field itself (systemReserved) rather than a leaf under it. */
function mappedParent(schema: DocumentSchema, path: string): string | undefined {
  return Object.keys(schema.mapped).find((field) => path === field || path.startsWith(`${field}.`));
}

export function flagsFromUpstreamDocument(
  file: string,
  document: Record<string, unknown>,
  schema: DocumentSchema,
): FlagValues {
  if (document.apiVersion !== schema.apiVersion) {
    throw configError(
      file,
      `${schema.kind} apiVersion ${JSON.stringify(document.apiVersion)} is not supported; use ${schema.apiVersion}`,
    );
  }
  const values: FlagValues = {};
  const unsupported: string[] = [];
  const handled = new Set<string>();
  for (const [path, value] of leafFields(document)) {
    if (path === 'apiVersion' || path === 'kind') continue;
    const field = mappedParent(schema, path);
    if (field !== undefined) {
      if (handled.has(field)) continue;
      handled.add(field);
      const mapping = schema.mapped[field]!;
      const fieldValue = field
        .split('.')
        .reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], document);
      if (fieldValue === null || fieldValue === undefined) continue;
      try {
        values[mapping.flag] = mapping.convert
          ? mapping.convert(fieldValue)
          : (fieldValue as string | number | boolean);
      } catch (err) {
        throw configError(file, `${schema.kind} ${field}: ${(err as Error).message}`);
      }
      continue;
    }
    const fixed = schema.fixed[path];
    if (fixed !== undefined) {
      if (JSON.stringify(value) === JSON.stringify(fixed.value)) continue;
      throw configError(
        file,
        `${schema.kind} ${path}: only ${JSON.stringify(fixed.value)} is supported (${fixed.why})`,
      );
    }
    unsupported.push(path);
  }
  if (unsupported.length > 0) {
    throw configError(
      file,
      `${schema.kind} field${unsupported.length === 1 ? '' : 's'} not supported by ${schema.command}: ${unsupported.join(', ')} (supported: ${[...Object.keys(schema.mapped), ...Object.keys(schema.fixed)].join(', ')})`,
    );
  }
  return values;
}

/** Converters shared by the schemas. */
export const convert = {
  number(value: unknown): number {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new Error(`expected a number, got ${JSON.stringify(value)}`);
    return value;
  },
  string(value: unknown): string {
    if (typeof value !== 'string') throw new Error(`expected a string, got ${JSON.stringify(value)}`);
    return value;
  },
  boolean(value: unknown): boolean {
    if (typeof value !== 'boolean') throw new Error(`expected true or false, got ${JSON.stringify(value)}`);
    return value;
  },
  stringList(value: unknown): string[] {
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string'))
      throw new Error(`expected a list of strings, got ${JSON.stringify(value)}`);
    return value as string[];
  },
  /** `{cpu: 100m, memory: 1Gi}` → `cpu=100m`, `memory=1Gi` (the flag's form); `separator` for evictionHard's `<`. */
  pairs(separator: '=' | '<') {
    return (value: unknown): string[] => {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw new Error(`expected a map, got ${JSON.stringify(value)}`);
      return Object.entries(value as Record<string, unknown>).map(([key, item]) => {
        if (typeof item !== 'string' && typeof item !== 'number')
          throw new Error(`${key}: expected a quantity, got ${JSON.stringify(item)}`);
        return `${key}${separator}${item}`;
      });
    };
  },
};
