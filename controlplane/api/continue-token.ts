/**
 * The `continue` token of a paged list, in upstream's format so that a token means the same to
 * every client: unpadded base64url of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>"}`, where
 * `start` is the datastore key the next page starts at (inclusive), relative to the list's key
 * prefix, and `rv` the revision the whole list is read at. rv -1 means "the newest state": the
 * token a 410 hands out to go on without the snapshot.
 */
import { posix } from 'node:path';
import { ApiError } from '../../kube/errors.ts';

const tokenVersion = 'meta.k8s.io/v1';

/** rv of a token that continues at the newest state instead of a snapshot. */
export const continueAtNewest = -1;

interface ContinuePoint {
  /** Absolute datastore key the page starts at (inclusive). */
  readonly startKey: string;
  /** The snapshot's revision, or continueAtNewest. */
  readonly revision: number;
}

/** The token for the page after `lastKey` (the last key read), at `revision`. */
export function encodeContinue(lastKey: string, prefix: string, revision: number): string {
  return encodeStart(`${lastKey}\0`, prefix, revision);
}

/** The token that starts at `startKey` itself. */
export function encodeStart(startKey: string, prefix: string, revision: number): string {
  const start = startKey.slice(prefix.length);
  return Buffer.from(JSON.stringify({ v: tokenVersion, rv: revision, start })).toString('base64url');
}

const invalid = (why: string) => new ApiError('BadRequest', `invalid continue token: continue key is not valid${why}`);

/**
 * Reads a token for a list under `prefix`. A start key that climbs out of the prefix ("../") or is
 * not in its clean form is refused, so a token can never range over another resource's keys.
 */
export function decodeContinue(token: string, prefix: string): ContinuePoint {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString());
  } catch (err) {
    throw invalid(`: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid('');
  const { v, rv, start } = parsed as { v?: unknown; rv?: unknown; start?: unknown };
  if (v !== tokenVersion) throw invalid(': server does not recognize this encoded version');
  if (typeof rv !== 'number' || !Number.isInteger(rv) || rv === 0)
    throw invalid(': incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  if (typeof start !== 'string' || start === '') throw invalid(': encoded start key empty (version meta.k8s.io/v1)');
  const rooted = start.startsWith('/') ? start : `/${start}`;
  if (cleanPath(rooted) !== rooted) throw invalid(`: ${start}`);
  return { startKey: prefix + rooted.slice(1), revision: rv };
}

/** Go's path.Clean for a rooted path: no empty, "." or ".." elements, no trailing slash. */
function cleanPath(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}
