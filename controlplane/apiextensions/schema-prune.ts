/**
 * Pruning and defaulting of a custom resource by its schema, as upstream's apiextensions server
 * does on every write (and defaulting also on every read of a stored object, so a default added to
 * a schema later shows on old objects): fields the schema does not name are dropped unless a node
 * says `x-kubernetes-preserve-unknown-fields`, and missing fields (or nulls where null is not
 * allowed) get the schema's `default`. Both work in place and return what they did.
 */
import { isPlainRecord, type JsonSchema, mapValueSchema } from './schema-types.ts';

/** The fields an object's root always keeps, whatever its schema says. */
const rootFields = new Set(['apiVersion', 'kind', 'metadata']);

/** Drops unknown fields from `value` (the whole object at the root); returns their paths. */
export function pruneBySchema(value: unknown, schema: JsonSchema, path = '', atRoot = true): string[] {
  const pruned: string[] = [];
  walkPrune(value, schema, path, atRoot, pruned);
  return pruned;
}

function walkPrune(value: unknown, schema: JsonSchema, path: string, atRoot: boolean, pruned: string[]): void {
  if (Array.isArray(value)) {
    if (schema.items !== undefined)
      value.forEach((item, i) => walkPrune(item, schema.items!, `${path}[${i}]`, false, pruned));
    return;
  }
  if (!isPlainRecord(value)) return;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = atRoot || schema['x-kubernetes-embedded-resource'] === true;
  const properties = schema.properties;
  const values = mapValueSchema(schema);
  for (const key of Object.keys(value)) {
    const fieldPath = path === '' ? key : `${path}.${key}`;
    if (embedded && rootFields.has(key)) {
      if (key === 'metadata' && !atRoot && isPlainRecord(value.metadata))
        pruneEmbeddedMetadata(value.metadata, fieldPath, pruned);
      continue;
    }
    const child = properties?.[key] ?? (properties === undefined ? values : undefined);
    if (child !== undefined)
      walkPrune(value[key], child, properties === undefined ? `${path}[${key}]` : fieldPath, false, pruned);
    else if (!preserve) {
      pruned.push(fieldPath);
      delete value[key];
    }
  }
}

/** ObjectMeta fields an embedded object may carry. */
const embeddedMetadataFields = new Set([
  'name',
  'generateName',
  'namespace',
  'labels',
  'annotations',
  'finalizers',
  'ownerReferences',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

function pruneEmbeddedMetadata(metadata: Record<string, unknown>, path: string, pruned: string[]): void {
  for (const key of Object.keys(metadata)) {
    if (embeddedMetadataFields.has(key)) continue;
    pruned.push(`${path}.${key}`);
    delete metadata[key];
  }
}

/** Fills in defaults where `value` lacks them; returns whether anything changed. */
export function applyDefaults(value: unknown, schema: JsonSchema): boolean {
  let changed = false;
  if (Array.isArray(value)) {
    if (schema.items !== undefined) for (const item of value) changed = applyDefaults(item, schema.items) || changed;
    return changed;
  }
  if (!isPlainRecord(value)) return false;
  if (schema.properties !== undefined) {
    for (const [key, child] of Object.entries(schema.properties)) {
      const missing = !(key in value) || (value[key] === null && child.nullable !== true);
      if (missing && child.default !== undefined) {
        value[key] = structuredClone(child.default);
        changed = true;
      }
      if (key in value) changed = applyDefaults(value[key], child) || changed;
    }
    return changed;
  }
  const values = mapValueSchema(schema);
  if (values !== undefined) for (const item of Object.values(value)) changed = applyDefaults(item, values) || changed;
  return changed;
}
