/**
 * The list types of a custom resource's schema, as server-side apply reads them: a list marked
 * `x-kubernetes-list-type: map` merges item by item by its `x-kubernetes-list-map-keys`, `set`
 * merges its values, and any other list (`atomic`, or unmarked, upstream's default) is replaced
 * whole and owned as one field, as is a map or object marked `x-kubernetes-map-type: atomic`.
 * Found by walking the schema along the field names.
 */
import type { ListType, ListTypes } from '../api/apply/field-set.ts';
import { type JsonSchema, mapValueSchema } from './schema-types.ts';

export function listTypesOf(schema: JsonSchema): ListTypes {
  const cache = new Map<string, ListType | undefined>();
  return (fields) => {
    const key = fields.join('\u0000');
    if (cache.has(key)) return cache.get(key);
    let at: JsonSchema | undefined = schema;
    for (const name of fields) {
      if (at === undefined) break;
      if (at.type === 'array' || at.items !== undefined) at = at.items;
      if (at === undefined) break;
      at = at.properties?.[name] ?? (at.properties === undefined ? mapValueSchema(at) : undefined);
    }
    const type =
      at === undefined
        ? undefined
        : at.type === 'array' || at.items !== undefined
          ? typeOf(at)
          : at['x-kubernetes-map-type'] === 'atomic'
            ? 'atomic'
            : undefined;
    cache.set(key, type);
    return type;
  };
}

function typeOf(list: JsonSchema): ListType {
  const declared = list['x-kubernetes-list-type'];
  if (declared === 'map') return { keys: list['x-kubernetes-list-map-keys'] ?? [] };
  if (declared === 'set') return 'set';
  return 'atomic';
}
