/**
 * Field sets for server-side apply: which fields an applied configuration sets, as paths, and the
 * nested "FieldsV1" form stored in metadata.managedFields. Path segments follow the FieldsV1
 * spelling: `f:<name>` for a field, `k:<json>` for an item of a keyed list (containers by name,
 * ports by port, ...), `v:<json>` for a value of a set-like list (finalizers). Other lists are
 * atomic: the list is one field.
 */
import { isPlainObject } from '../../../kube/types.ts';
import { mergedScalarLists, mergeKeyFor } from '../patch.ts';

type Segment = string;
export type FieldPath = readonly Segment[];

/** How a list merges and is owned: item by item by the values of some keys, as a set of values, or whole. */
export type ListType = { readonly keys: readonly string[] } | 'set' | 'atomic';
/**
 * The list type of the list at a path of field names from the root (a custom resource's schema
 * says it with x-kubernetes-list-type), or 'atomic' for a map the schema marks
 * x-kubernetes-map-type: atomic; undefined: the built-in kinds' rules by field name.
 */
export type ListTypes = (fields: readonly string[]) => ListType | undefined;

/** `k:{...}` of an item of a list keyed by `keys`; undefined when the item lacks one of them. */
function keyedSegment(item: unknown, keys: readonly string[]): Segment | undefined {
  if (!isPlainObject(item) || keys.some((k) => item[k] === undefined)) return undefined;
  return `k:${JSON.stringify(Object.fromEntries(keys.map((k) => [k, item[k]])))}`;
}

/** Fields that no manager owns: identity and server-set metadata, and status on the main resource. */
const unowned = new Set(['f:apiVersion', 'f:kind', 'f:status']);
const unownedMetadata = new Set([
  'f:name',
  'f:namespace',
  'f:uid',
  'f:resourceVersion',
  'f:generation',
  'f:creationTimestamp',
  'f:managedFields',
  'f:deletionTimestamp',
  'f:deletionGracePeriodSeconds',
  'f:selfLink',
]);

export const pathKey = (path: FieldPath): string => JSON.stringify(path);
export const keyPath = (key: string): FieldPath => JSON.parse(key) as FieldPath;

function itemSegment(field: string, item: unknown): Segment | undefined {
  if (!isPlainObject(item)) return undefined;
  const key = mergeKeyFor(field, item);
  if (key === undefined || item[key] === undefined) return undefined;
  return `k:${JSON.stringify({ [key]: item[key] })}`;
}

/** The field names along a path (item and value segments left out): what ListTypes is asked with. */
const fieldNames = (path: readonly Segment[]): string[] =>
  path.filter((s) => s.startsWith('f:')).map((s) => s.slice(2));

function walk(value: unknown, path: Segment[], out: Set<string>, withStatus: boolean, lists?: ListTypes): void {
  if (!isPlainObject(value) || Object.keys(value).length === 0) {
    out.add(pathKey(path));
    return;
  }
  for (const [name, child] of Object.entries(value)) {
    const segment = `f:${name}`;
    if (path.length === 0 && unowned.has(segment) && !(withStatus && segment === 'f:status')) continue;
    if (path.length === 1 && path[0] === 'f:metadata' && unownedMetadata.has(segment)) continue;
    const childPath = [...path, segment];
    const listType = Array.isArray(child) || isPlainObject(child) ? lists?.([...fieldNames(path), name]) : undefined;
    if (isPlainObject(child) && listType === 'atomic') {
      out.add(pathKey(childPath));
    } else if (Array.isArray(child) && listType !== undefined) {
      walkTypedList(child, childPath, listType, out, withStatus, lists);
    } else if (Array.isArray(child)) {
      const keyed = child.length > 0 && child.every((item) => itemSegment(name, item) !== undefined);
      if (keyed) {
        for (const item of child) {
          const itemPath = [...childPath, itemSegment(name, item)!];
          out.add(pathKey([...itemPath, '.']));
          walk(item, itemPath, out, withStatus, lists);
        }
      } else if (mergedScalarLists.has(name) && child.every((v) => !isPlainObject(v) && !Array.isArray(v))) {
        for (const v of child) out.add(pathKey([...childPath, `v:${JSON.stringify(v)}`]));
      } else {
        out.add(pathKey(childPath));
      }
    } else {
      walk(child, childPath, out, withStatus, lists);
    }
  }
}

/** A list whose type the schema gives: its items by key, its values, or the list as one field. */
function walkTypedList(
  list: readonly unknown[],
  path: Segment[],
  type: ListType,
  out: Set<string>,
  withStatus: boolean,
  lists: ListTypes | undefined,
): void {
  const segments =
    type === 'atomic'
      ? undefined
      : type === 'set'
        ? list.every((v) => !isPlainObject(v) && !Array.isArray(v))
          ? list.map((v) => `v:${JSON.stringify(v)}`)
          : undefined
        : list.map((item) => keyedSegment(item, type.keys));
  if (segments === undefined || segments.some((s) => s === undefined)) {
    out.add(pathKey(path));
    return;
  }
  list.forEach((item, i) => {
    const itemPath = [...path, segments[i]!];
    if (type === 'set') out.add(pathKey(itemPath));
    else {
      out.add(pathKey([...itemPath, '.']));
      walk(item, itemPath, out, withStatus, lists);
    }
  });
}

/**
 * Every field an object sets, as path keys (see pathKey). Status is left out unless asked for: only
 * writes through the status subresource own it.
 */
export function fieldSet(object: unknown, options: { withStatus?: boolean; lists?: ListTypes } = {}): Set<string> {
  const out = new Set<string>();
  walk(object, [], out, options.withStatus ?? false, options.lists);
  out.delete(pathKey([]));
  return out;
}

/** The nested FieldsV1 form: each path becomes nested keys ending in {}. */
export function toFieldsV1(fields: ReadonlySet<string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const key of [...fields].sort()) {
    let node = root;
    for (const segment of keyPath(key)) node = (node[segment] ??= {}) as Record<string, unknown>;
  }
  return root;
}

/** Back from FieldsV1 to path keys (leaves and `.` markers). */
export function fromFieldsV1(fieldsV1: unknown, prefix: Segment[] = [], out = new Set<string>()): Set<string> {
  if (!isPlainObject(fieldsV1)) return out;
  const entries = Object.entries(fieldsV1);
  if (entries.length === 0 && prefix.length > 0) out.add(pathKey(prefix));
  for (const [segment, child] of entries) fromFieldsV1(child, [...prefix, segment], out);
  return out;
}

/** The value at a path in an object (undefined when absent). */
export function valueAt(object: unknown, path: FieldPath): unknown {
  let current: unknown = object;
  for (const segment of path) {
    if (segment === '.') return current;
    if (segment.startsWith('f:')) {
      if (!isPlainObject(current)) return undefined;
      current = current[segment.slice(2)];
    } else if (segment.startsWith('k:')) {
      if (!Array.isArray(current)) return undefined;
      const wanted = JSON.parse(segment.slice(2)) as Record<string, unknown>;
      current = current.find((item) => isPlainObject(item) && Object.entries(wanted).every(([k, v]) => item[k] === v));
    } else if (segment.startsWith('v:')) {
      if (!Array.isArray(current)) return undefined;
      const wanted = JSON.parse(segment.slice(2)) as unknown;
      return current.some((v) => JSON.stringify(v) === JSON.stringify(wanted)) ? wanted : undefined;
    } else {
      return undefined;
    }
  }
  return current;
}

/** Removes the field at a path (a list item when the path ends at its `.` marker or `v:` value). */
export function removeAt(object: unknown, path: FieldPath): void {
  const last = path.at(-1);
  if (last === undefined) return;
  if (last === '.') return removeAt(object, path.slice(0, -1));
  const parent = valueAt(object, path.slice(0, -1));
  if (last.startsWith('f:') && isPlainObject(parent)) {
    delete parent[last.slice(2)];
  } else if (last.startsWith('k:') && Array.isArray(parent)) {
    const wanted = JSON.parse(last.slice(2)) as Record<string, unknown>;
    const index = parent.findIndex(
      (item) => isPlainObject(item) && Object.entries(wanted).every(([k, v]) => item[k] === v),
    );
    if (index >= 0) parent.splice(index, 1);
  } else if (last.startsWith('v:') && Array.isArray(parent)) {
    const index = parent.findIndex((v) => JSON.stringify(v) === last.slice(2));
    if (index >= 0) parent.splice(index, 1);
  }
}
