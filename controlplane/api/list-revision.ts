/**
 * Which state a list shows, from its resourceVersion and resourceVersionMatch (already checked by
 * checkListOptions), as upstream decides it:
 *   ""                        the newest state;
 *   "0"                       any state (memory may answer);
 *   N, NotOlderThan           a state at least as new as N;
 *   N, Exact                  the state at exactly N;
 *   N, no match, no limit     at least as new as N;
 *   N, no match, with limit   exactly N (the older paging contract: the pages of one revision).
 */
interface ListRevision {
  readonly notOlderThan?: number;
  readonly exact?: number;
}

export function listRevision(resourceVersion: string, match: string, limit: number | undefined): ListRevision {
  if (resourceVersion === '') return {};
  const revision = Number(resourceVersion);
  if (match === 'Exact') return { exact: revision };
  if (match === 'NotOlderThan' || revision === 0 || limit === undefined) return { notOlderThan: revision };
  return { exact: revision };
}
