/**
 * The three patch types of the API: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
 * strategic merge patch, which merges lists of named things by a key instead of replacing them.
 * Strategic merge knows the merge keys of the built-in types by field name (the table below),
 * which is what kubectl's apply and patch send for core and apps objects.
 */
import { ApiError } from '../../kube/errors.ts';
import { isPlainObject } from '../../kube/types.ts';
import { copyTooLarge, maxJsonPatchCopyBytes, maxJsonPatchOperations, tooManyPatchOperations } from './limits.ts';
import type { ListType, ListTypes } from './apply/field-set.ts';

type Json = unknown;
type JsonObject = Record<string, unknown>;

function bad(message: string): ApiError {
  return new ApiError('BadRequest', message);
}

// ---- JSON patch ----

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw bad(`json patch: invalid path "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, path: string[]): { parent: JsonObject | unknown[]; last: string } {
  let current: Json = doc;
  for (const part of path.slice(0, -1)) {
    if (Array.isArray(current)) current = current[Number(part)];
    else if (isPlainObject(current)) current = current[part];
    else current = undefined;
    if (current === undefined) throw bad(`json patch: path "/${path.join('/')}" does not exist`);
  }
  if (!Array.isArray(current) && !isPlainObject(current))
    throw bad(`json patch: path "/${path.join('/')}" does not exist`);
  return { parent: current, last: path.at(-1)! };
}

function readPointer(doc: Json, pointer: string): Json {
  let current: Json = doc;
  for (const part of decodePointer(pointer)) {
    if (Array.isArray(current)) current = current[Number(part)];
    else if (isPlainObject(current)) current = Object.hasOwn(current, part) ? current[part] : undefined;
    else current = undefined;
    if (current === undefined) throw bad(`json patch: path "${pointer}" does not exist`);
  }
  return current;
}

function arrayIndex(list: unknown[], last: string, forInsert: boolean): number {
  if (forInsert && last === '-') return list.length;
  if (!/^(0|[1-9][0-9]*)$/.test(last)) throw bad(`json patch: invalid array index "${last}"`);
  const index = Number(last);
  if (index > list.length || (!forInsert && index === list.length))
    throw bad(`json patch: array index ${index} out of range`);
  return index;
}

function removeAt(doc: Json, pointer: string): Json {
  const path = decodePointer(pointer);
  if (path.length === 0) throw bad('json patch: cannot remove the whole document');
  const { parent, last } = parentOf(doc, path);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, false), 1)[0];
  if (!Object.hasOwn(parent, last)) throw bad(`json patch: path "${pointer}" does not exist`);
  const value = parent[last];
  delete parent[last];
  return value;
}

function addAt(doc: Json, pointer: string, value: Json, replace: boolean): Json {
  const path = decodePointer(pointer);
  if (path.length === 0) return value;
  const { parent, last } = parentOf(doc, path);
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, last, !replace);
    parent.splice(index, replace ? 1 : 0, value);
  } else {
    if (replace && !Object.hasOwn(parent, last)) throw bad(`json patch: path "${pointer}" does not exist`);
    parent[last] = value;
  }
  return doc;
}

/** Equality of JSON values as `test` means it: object keys in any order (Go compares maps so). */
function sameJson(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && sameJson(a[key], b[key]))
  );
}

/** Bytes of JSON a value takes: what a `copy` of it adds to the document. */
function jsonSize(value: Json): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value));
}

export function applyJsonPatch(document: Json, patch: Json): Json {
  if (!Array.isArray(patch)) throw bad('json patch: the body must be a list of operations');
  if (patch.length > maxJsonPatchOperations) throw tooManyPatchOperations(patch.length);
  let doc = structuredClone(document);
  // `copy` is the one operation that grows the document beyond the body's own size (each one may
  // double it): their sum is checked before each copy is made, so a patch built to blow up memory
  // stops at the limit instead of after it
  let copiedBytes = 0;
  for (const raw of patch) {
    if (!isPlainObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw bad('json patch: every operation needs "op" and "path"');
    }
    const { op, path } = raw;
    switch (op) {
      case 'add':
        doc = addAt(doc, path, structuredClone(raw.value), false);
        break;
      case 'replace':
        doc = addAt(doc, path, structuredClone(raw.value), true);
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'move': {
        if (typeof raw.from !== 'string') throw bad('json patch: move needs "from"');
        const value = removeAt(doc, raw.from);
        doc = addAt(doc, path, value, false);
        break;
      }
      case 'copy': {
        if (typeof raw.from !== 'string') throw bad('json patch: copy needs "from"');
        const value = readPointer(doc, raw.from);
        copiedBytes += jsonSize(value);
        if (copiedBytes > maxJsonPatchCopyBytes) throw copyTooLarge(copiedBytes);
        doc = addAt(doc, path, structuredClone(value), false);
        break;
      }
      case 'test':
        if (!sameJson(raw.value, readPointer(doc, path))) {
          throw new ApiError('Invalid', `json patch: test failed at "${path}"`);
        }
        break;
      default:
        throw bad(`json patch: unknown operation "${op}"`);
    }
  }
  return doc;
}

// ---- JSON merge patch ----

export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const result: JsonObject = isPlainObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

// ---- strategic merge patch ----

/** Fields holding lists of objects merged by a key (upstream's patchMergeKey). */
const mergeKeys: Record<string, string | ((item: JsonObject) => string)> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  conditions: 'type',
  ownerReferences: 'uid',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
  secrets: 'name',
  addresses: 'type',
  // webhook configurations' webhooks merge by name (patchMergeKey "name" upstream)
  webhooks: 'name',
  matchConditions: 'name',
  variables: 'name',
  // Container ports merge by containerPort, service ports by port.
  ports: (item) => ('containerPort' in item ? 'containerPort' : 'port'),
};

/** Lists of scalars that merge as sets instead of being replaced. */
export const mergedScalarLists: ReadonlySet<string> = new Set(['finalizers']);

/** The key that identifies items of list `field`, judged from one of its items; undefined for atomic lists. */
export function mergeKeyFor(field: string, sample: JsonObject | undefined): string | undefined {
  const entry = mergeKeys[field];
  if (entry === undefined) return undefined;
  return typeof entry === 'string' ? entry : sample ? entry(sample) : undefined;
}

/**
 * A list whose type the schema gives (server-side apply of a custom resource): items merged by
 * their keys, scalar values merged as a set, or the list replaced.
 */
function mergeTypedList(
  original: unknown[],
  patch: unknown[],
  type: ListType,
  lists: ListTypes,
  path: string[],
): unknown[] {
  if (type === 'atomic') return structuredClone(patch);
  if (type === 'set') {
    const merged = [...original];
    for (const v of patch)
      if (!merged.some((m) => JSON.stringify(m) === JSON.stringify(v))) merged.push(structuredClone(v));
    return merged;
  }
  const sameItem = (a: unknown, b: unknown) =>
    isPlainObject(a) && isPlainObject(b) && type.keys.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
  const result = original.map((o) => structuredClone(o));
  for (const item of patch) {
    const index = result.findIndex((o) => sameItem(o, item));
    if (index >= 0) result[index] = strategicMerge(result[index], item, lists, path);
    else result.push(structuredClone(item));
  }
  return result;
}

function mergeObjectList(field: string, original: unknown[], patch: unknown[]): unknown[] {
  const sample = [...patch, ...original].find(isPlainObject) as JsonObject | undefined;
  const key = mergeKeyFor(field, sample);
  if (key === undefined) return patch.filter((p) => !(isPlainObject(p) && p.$patch !== undefined));
  if (patch.some((p) => isPlainObject(p) && p.$patch === 'replace')) {
    return patch.filter((p) => !(isPlainObject(p) && p.$patch === 'replace')).map(stripDirectives);
  }
  const result = original.map((o) => structuredClone(o));
  for (const item of patch) {
    if (!isPlainObject(item)) continue;
    const id = item[key];
    const index = result.findIndex((o) => isPlainObject(o) && o[key] === id);
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) result[index] = strategicMerge(result[index], item);
    else result.push(stripDirectives(item));
  }
  return result;
}

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isPlainObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('$')) continue;
    if (v === null) continue;
    out[k] = stripDirectives(v);
  }
  return out;
}

/**
 * `lists` (with `path`, the field names down to `original`) gives the list types of a custom
 * resource's schema; without it, lists merge by the built-in kinds' keys by field name.
 */
export function strategicMerge(original: Json, patch: Json, lists?: ListTypes, path: string[] = []): Json {
  if (!isPlainObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') return stripDirectives(patch);
  if (patch.$patch === 'delete') return undefined;
  const result: JsonObject = isPlainObject(original) ? structuredClone(original) : {};
  const retain = Array.isArray(patch.$retainKeys) ? new Set(patch.$retainKeys as string[]) : undefined;
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const remove = new Set((value as unknown[]) ?? []);
      if (Array.isArray(result[field])) result[field] = (result[field] as unknown[]).filter((v) => !remove.has(v));
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    const current = result[key];
    const listType = Array.isArray(value) ? lists?.([...path, key]) : undefined;
    if (Array.isArray(value) && listType !== undefined) {
      result[key] = mergeTypedList(Array.isArray(current) ? current : [], value, listType, lists!, [...path, key]);
    } else if (Array.isArray(value)) {
      if (mergedScalarLists.has(key)) {
        const merged = Array.isArray(current) ? [...current] : [];
        for (const v of value) if (!merged.includes(v)) merged.push(v);
        result[key] = merged;
      } else if (value.some(isPlainObject) || (Array.isArray(current) && current.some(isPlainObject))) {
        result[key] = mergeObjectList(key, Array.isArray(current) ? current : [], value);
      } else {
        result[key] = structuredClone(value);
      }
    } else if (isPlainObject(value) && lists?.([...path, key]) === 'atomic') {
      result[key] = stripDirectives(value);
    } else if (isPlainObject(value)) {
      const merged = strategicMerge(current, value, lists, [...path, key]);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else {
      result[key] = value;
    }
  }
  if (retain) {
    for (const key of Object.keys(result)) if (!retain.has(key)) delete result[key];
  }
  return result;
}

type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const base = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  switch (base) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
      return 'apply';
    default:
      return undefined;
  }
}

export function applyPatch(type: Exclude<PatchType, 'apply'>, original: Json, patch: Json): Json {
  switch (type) {
    case 'json':
      return applyJsonPatch(original, patch);
    case 'merge':
      if (!isPlainObject(patch)) throw bad('merge patch: the body must be a JSON object');
      return applyMergePatch(original, patch);
    case 'strategic':
      if (!isPlainObject(patch)) throw bad('strategic merge patch: the body must be a JSON object');
      return strategicMerge(original, patch);
  }
}
