/**
 * Field selectors (`metadata.name=x,spec.nodeName!=`): only equality and inequality, on the fields
 * that each resource supports (the server decides which; see controlplane/api/resources.ts).
 */
import { ApiError } from './errors.ts';

interface FieldRequirement {
  field: string;
  equal: boolean;
  value: string;
}

export type FieldSelector = readonly FieldRequirement[];

export function parseFieldSelector(text: string): FieldSelector {
  const requirements: FieldRequirement[] = [];
  for (const raw of text.split(',')) {
    const term = raw.trim();
    if (term === '') continue;
    const match = term.match(/^([A-Za-z0-9_.\-[\]]+)\s*(==|=|!=)\s*(.*)$/);
    if (match === null)
      throw new ApiError('BadRequest', `invalid field selector "${text}": cannot understand "${term}"`);
    requirements.push({ field: match[1]!, equal: match[2] !== '!=', value: match[3]! });
  }
  return requirements;
}

/** Reads a dotted path (`spec.nodeName`) from an object; a missing value reads as ''. */
export function fieldValue(object: unknown, path: string): string {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null) return '';
    current = (current as Record<string, unknown>)[part];
  }
  if (current === undefined || current === null) return '';
  return typeof current === 'string' ? current : String(current);
}

export function matchesFields(selector: FieldSelector, object: unknown): boolean {
  return selector.every((r) => (fieldValue(object, r.field) === r.value) === r.equal);
}
