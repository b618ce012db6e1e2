/**
 * The API documentation of the served kinds and their fields, as upstream's OpenAPI document gives
 * it (field-descriptions.json, written by scripts/gen-field-schema.ts beside field-schema.json),
 * so the OpenAPI documents can carry it and `kubectl explain` prints it. Types are the model
 * names of field-schema.json; a walk follows a kind's fields from type to type.
 */
import { readFileSync } from 'node:fs';
import { fieldSchema } from './field-validation.ts';

type Descriptions = Readonly<Record<string, Readonly<Record<string, string>>>>;

let descriptions: Descriptions | undefined;
function load(): Descriptions {
  descriptions ??= (
    JSON.parse(readFileSync(new URL('./field-descriptions.json', import.meta.url), 'utf8')) as { types: Descriptions }
  ).types;
  return descriptions;
}

/** The model type of a served kind, if the upstream models have it. */
export function kindType(group: string, version: string, kind: string): string | undefined {
  return fieldSchema().kinds[`${group}/${version}/${kind}`];
}

/** The model type a field holds (the element type of a list or map), if it is an object type. */
export function fieldType(type: string | undefined, field: string): string | undefined {
  if (type === undefined) return undefined;
  const held = fieldSchema().types[type]?.[field];
  const inner = held?.replace(/^(\[\]|\{\})+/, '');
  return inner === undefined || inner === '' || inner === '*' ? undefined : inner;
}

/** What a type is, in upstream's words. */
export function typeDescription(type: string | undefined): string | undefined {
  return type === undefined ? undefined : load()[type]?.[''];
}

/**
 * What a field is: its own description or, for a field that only names another type (upstream's
 * models keep no text beside such a reference), that type's description.
 */
export function fieldDescription(type: string | undefined, field: string): string | undefined {
  if (type === undefined) return undefined;
  return load()[type]?.[field] ?? typeDescription(fieldType(type, field));
}
