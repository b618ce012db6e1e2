/**
 * The API server's size limits, with upstream's numbers and upstream's refusals, in one place:
 * request bodies (kube-apiserver's MaxRequestBodyBytes), JSON patch operations and the bytes its
 * `copy` operations may add (MaxJSONPatchOperations, JSONPatchMaxCopyBytes), stored objects
 * (etcd's default --max-request-bytes, applied on SQLite too so that a cluster can move between
 * the two). Selectors need no limit of their own: the whole request line fits in Node's 16 KiB
 * header limit (431 beyond).
 */
import { ApiError } from '../../kube/errors.ts';

/** Request bodies above this are refused with 413 before they are parsed. */
export const maxBodyBytes = 3 * 1024 * 1024;

/** A JSON patch may hold at most this many operations. */
export const maxJsonPatchOperations = 10_000;

/** What the `copy` operations of one JSON patch may add together, in bytes of JSON. */
export const maxJsonPatchCopyBytes = 3 * 1024 * 1024;

/** An object as stored (its JSON) may be at most this large: etcd's default request limit. */
export const maxObjectBytes = 1.5 * 1024 * 1024;

/**
 * How deep objects and arrays of a JSON body may nest. Upstream's decoder stops at 10,000; the
 * registry copies objects with structuredClone, whose recursion gives out near 2,000 levels (a
 * 500 with V8's words), so the bound sits well below both. No Kubernetes object nests beyond a
 * few dozen levels.
 */
export const maxJsonDepth = 1000;

/**
 * Whether `json` (a request body as received) opens more than `limit` objects or arrays inside
 * one another. One pass over the bytes and no recursion, so a hostile body cannot exhaust the
 * stack while it is measured; brackets inside strings do not count.
 */
export function jsonNestsDeeperThan(json: Uint8Array, limit: number): boolean {
  const quote = 0x22;
  const backslash = 0x5c;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const byte = json[i]!;
    if (inString) {
      if (byte === backslash) i++;
      else if (byte === quote) inString = false;
    } else if (byte === quote) inString = true;
    else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > limit) return true;
    } else if (byte === 0x7d || byte === 0x5d) depth--;
  }
  return false;
}

/** Upstream's decoder refuses such a body as malformed: 400 with encoding/json's words. */
export function nestedTooDeep(): ApiError {
  return new ApiError('BadRequest', 'the request body is not valid JSON: exceeded max depth');
}

export function bodyTooLarge(): ApiError {
  return new ApiError('RequestEntityTooLarge', `Request entity too large: limit is ${maxBodyBytes}`);
}

export function tooManyPatchOperations(count: number): ApiError {
  return new ApiError(
    'RequestEntityTooLarge',
    `Request entity too large: The allowed maximum operations in a JSON patch is ${maxJsonPatchOperations}, got ${count}`,
  );
}

/** Upstream answers a JSON patch that fails to apply with 422 and the patch library's words as the cause. */
export function copyTooLarge(accumulated: number): ApiError {
  return new ApiError('Invalid', 'the server rejected our request due to an error in our request', {
    causes: [
      {
        reason: 'UnexpectedServerResponse',
        message: `Unable to complete the copy, the accumulated size increase of copy is ${accumulated}, exceeding the limit ${maxJsonPatchCopyBytes}`,
      },
    ],
  });
}

export function objectTooLarge(kind: string, group: string, name: string, bytes: number): ApiError {
  const message = `must have at most ${maxObjectBytes} bytes`;
  // upstream names the kind with its group (Deployment.apps), as apierrors.NewInvalid does
  const qualified = group === '' ? kind : `${kind}.${group}`;
  return new ApiError('Invalid', `${qualified} "${name}" is invalid: []: Too long: ${message}`, {
    name,
    group,
    kind,
    causes: [{ reason: 'FieldValueTooLong', field: '[]', message: `Too long: ${message} (got ${bytes})` }],
  });
}
