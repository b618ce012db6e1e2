/**
 * The ConversionReview a CRD's conversion webhook receives, and what its answer must be before the
 * server uses it, as upstream's webhook converter checks it: the review version the definition
 * asks for first (v1 or v1beta1), for v1 the same uid back, `Success`, one converted object per
 * object sent, each in the desired apiVersion, of the same kind, name, namespace and uid. The
 * converted object keeps the original's metadata except its labels and annotations, which the
 * webhook may change (and which must then be valid). Refusals are worded as upstream's
 * (`conversion webhook for <group>/<version>, Kind=<Kind> failed: ...`). Pure: no I/O.
 */
import { FieldErrors } from '../validation/field-errors.ts';
import { validateAnnotations, validateLabels } from '../validation/metadata.ts';
import { isPlainRecord } from './schema-types.ts';

type JsonObject = Record<string, unknown>;

type ReviewVersion = 'v1' | 'v1beta1';

/** A webhook answer the server cannot use; the message is the whole of upstream's error text. */
export class ConversionFailure extends Error {}

/** The first review version the definition lists that the server speaks. */
export function reviewVersionOf(conversionReviewVersions: readonly unknown[] | undefined): ReviewVersion | undefined {
  return (conversionReviewVersions ?? []).find((v): v is ReviewVersion => v === 'v1' || v === 'v1beta1');
}

export function conversionReview(
  version: ReviewVersion,
  uid: string,
  desiredAPIVersion: string,
  objects: readonly JsonObject[],
): JsonObject {
  return {
    apiVersion: `apiextensions.k8s.io/${version}`,
    kind: 'ConversionReview',
    request: { uid, desiredAPIVersion, objects },
  };
}

/** Go's GroupVersionKind.String(): `group/version, Kind=Kind` (an empty group leaves the slash). */
export function kindLabel(apiVersion: unknown, kind: unknown): string {
  const text = typeof apiVersion === 'string' ? apiVersion : '';
  const slash = text.indexOf('/');
  const group = slash < 0 ? '' : text.slice(0, slash);
  const version = slash < 0 ? text : text.slice(slash + 1);
  return `${group}/${version}, Kind=${typeof kind === 'string' ? kind : ''}`;
}

/** The converted objects of an answer, or why it is no answer (the part after `failed: `). */
function convertedObjectsOf(body: unknown, version: ReviewVersion, uid: string): unknown[] {
  const review = isPlainRecord(body) ? body : {};
  if (version === 'v1') {
    const expected = 'apiextensions.k8s.io/v1, Kind=ConversionReview';
    const got = kindLabel(review.apiVersion, review.kind);
    if (got !== expected) throw new Error(`expected webhook response of ${expected}, got ${got}`);
  }
  const response = review.response;
  if (!isPlainRecord(response)) throw new Error('no response provided');
  // v1beta1 answers were never checked for their uid upstream, and still are not
  if (version === 'v1' && response.uid !== uid)
    throw new Error(`expected response.uid=${JSON.stringify(uid)}, got ${JSON.stringify(response.uid ?? '')}`);
  const result = isPlainRecord(response.result) ? response.result : {};
  if (result.status !== 'Success') {
    if (typeof result.message === 'string' && result.message !== '') throw new Error(result.message);
    throw new Error(`response.result.status was '${String(result.status ?? '')}', not 'Success'`);
  }
  return Array.isArray(response.convertedObjects) ? response.convertedObjects : [];
}

/** Go's %T of a JSON value, for the messages about labels that are not strings. */
function goType(value: unknown): string {
  if (typeof value === 'number') return 'float64';
  if (typeof value === 'boolean') return 'bool';
  if (Array.isArray(value)) return '[]interface {}';
  if (isPlainRecord(value)) return 'map[string]interface {}';
  return value === null ? '<nil>' : typeof value;
}

/** Why a converted object is not the original in another version (upstream's validateConvertedObject). */
function identityProblem(original: JsonObject, converted: JsonObject): string | undefined {
  const meta = (o: JsonObject) => (isPlainRecord(o.metadata) ? o.metadata : {});
  const pairs: [string, unknown, unknown][] = [
    ['kind', original.kind, converted.kind],
    ['name', meta(original).name, meta(converted).name],
    ['namespace', meta(original).namespace, meta(converted).namespace],
    ['UID', meta(original).uid, meta(converted).uid],
  ];
  for (const [what, was, now] of pairs)
    if ((was ?? '') !== (now ?? '')) return `must have the same ${what}: ${String(was ?? '')} != ${String(now ?? '')}`;
  return undefined;
}

/**
 * The original's metadata with the converted object's labels and annotations (upstream's
 * restoreObjectMeta): a webhook may not rename, move or re-version an object, but may relabel it.
 */
function restoredMetadata(original: JsonObject, converted: JsonObject): JsonObject {
  if (!('metadata' in converted)) throw new Error('missing metadata in converted object');
  const answered = converted.metadata;
  if (!isPlainRecord(answered)) throw new Error(`invalid metadata of type ${goType(answered)} in converted object`);
  const metadata: JsonObject = isPlainRecord(original.metadata) ? structuredClone(original.metadata) : {};
  for (const field of ['labels', 'annotations'] as const) {
    const given = answered[field];
    if (given === undefined || given === null) {
      delete metadata[field];
      continue;
    }
    if (!isPlainRecord(given))
      throw new Error(`invalid metadata.${field} of type ${goType(given)} in converted object`);
    const before = isPlainRecord(metadata[field]) ? (metadata[field] as JsonObject) : {};
    let changed = Object.keys(before).length !== Object.keys(given).length;
    for (const [key, value] of Object.entries(given)) {
      if (typeof value !== 'string')
        throw new Error(`metadata.${field}[${key}] must be a string, but is ${goType(value)} in converted object`);
      if (before[key] !== value) changed = true;
    }
    if (changed) {
      const errors = new FieldErrors();
      // upstream names the annotations' path in the singular here
      if (field === 'labels') validateLabels(errors, 'metadata.labels', given);
      else validateAnnotations(errors, 'metadata.annotation', given);
      const messages = errors.causes.map((c) => `${c.field}: ${c.message}`);
      if (messages.length === 1) throw new Error(messages[0]);
      if (messages.length > 1) throw new Error(`[${messages.join(', ')}]`);
    }
    metadata[field] = given;
  }
  return metadata;
}

/**
 * The objects converted to `desiredAPIVersion`, in the order sent, once the answer is checked;
 * throws ConversionFailure with upstream's words. `originals` are the objects sent.
 */
export function readConversionAnswer(
  body: unknown,
  version: ReviewVersion,
  uid: string,
  originals: readonly JsonObject[],
  desiredAPIVersion: string,
): JsonObject[] {
  const first = originals[0] ?? {};
  const from = kindLabel(first.apiVersion, first.kind);
  let converted: unknown[];
  try {
    converted = convertedObjectsOf(body, version, uid);
  } catch (err) {
    throw new ConversionFailure(`conversion webhook for ${from} failed: ${(err as Error).message}`);
  }
  if (converted.length !== originals.length)
    throw new ConversionFailure(
      `conversion webhook for ${from} returned ${converted.length} objects, expected ${originals.length}`,
    );
  // one object is worded as upstream words a single object; several as it words a list's items
  const single = originals.length === 1;
  return originals.map((original, index) => {
    const invalid = single ? 'invalid object at index 0' : `invalid converted object at index ${index}`;
    const item = converted[index];
    if (!isPlainRecord(item))
      throw new ConversionFailure(
        `conversion webhook for ${from} returned ${invalid}: the object is not a JSON object`,
      );
    if (item.apiVersion !== desiredAPIVersion)
      throw new ConversionFailure(
        `conversion webhook for ${from} returned ${invalid}: invalid groupVersion (expected ${desiredAPIVersion}, received ${String(item.apiVersion ?? '')})`,
      );
    if (item.kind !== original.kind)
      throw new ConversionFailure(
        `conversion webhook for ${from} returned ${invalid}: invalid kind (expected ${String(original.kind)}, received ${String(item.kind ?? '')})`,
      );
    const problem = identityProblem(original, item);
    if (problem !== undefined)
      throw new ConversionFailure(
        `conversion webhook for ${from} returned ${single ? 'invalid object' : invalid}: ${problem}`,
      );
    try {
      return { ...item, metadata: restoredMetadata(original, item) };
    } catch (err) {
      const where = single ? 'invalid metadata' : `invalid metadata in object at index ${index}`;
      throw new ConversionFailure(`conversion webhook for ${from} returned ${where}: ${(err as Error).message}`);
    }
  });
}
