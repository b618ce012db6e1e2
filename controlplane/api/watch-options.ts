/**
 * What a watch request asks for, decided from its query before anything is read: where the stream
 * starts, whether the current objects come first, and whether a bookmark marks their end.
 *
 * Streaming lists (KEP-3157, "WatchList"; client-go ≥ 1.35 lists this way by default):
 * `sendInitialEvents=true&resourceVersionMatch=NotOlderThan` sends the current state as ADDED
 * events, then (with `allowWatchBookmarks`) a BOOKMARK annotated `k8s.io/initial-events-end` at
 * the revision of that state, then every change after it. The state is the newest one for an
 * unset resourceVersion, any remembered one for "0", and one at least as new as N for N.
 * `sendInitialEvents=false` starts at the newest revision ("" or "0") or after N, with no state.
 * Without sendInitialEvents a watch keeps its older meaning: "" and "0" start with the state.
 *
 * The option rules and their refusals are upstream's ListOptions validation, word for word.
 */
import { ApiError } from '../../kube/errors.ts';
import type { StatusCause } from '../../kube/types.ts';
import {
  booleanParam,
  flagParam,
  forbiddenOption,
  integerParam,
  invalidOptions,
  stringParam,
  unsupportedOption,
} from './query-params.ts';

export const initialEventsEndAnnotation = 'k8s.io/initial-events-end';

interface WatchPlan {
  /** Send the current objects as ADDED before the changes. */
  readonly initialEvents: boolean;
  /** With initialEvents: the state may be no older than this; undefined means the newest. */
  readonly notOlderThan?: number;
  /** Without initialEvents: stream the changes after this revision; undefined means from now. */
  readonly after?: number;
  /** Periodic bookmarks (allowWatchBookmarks). */
  readonly bookmarks: boolean;
  /** A bookmark annotated initial-events-end once the initial events are out. */
  readonly endBookmark: boolean;
  /** The client's bound on the watch's life; undefined (or 0) leaves it to the server. */
  readonly timeoutSeconds?: number;
}

const invalidListOptions = (causes: StatusCause[]) => invalidOptions('ListOptions', causes);
const forbidden = forbiddenOption;
const notSupported = (field: string, value: string, allowed: readonly string[]) =>
  unsupportedOption(field, JSON.stringify(value), allowed);

/** The ListOptions rules of a watch (upstream's validateWatchOptions). */
function watchOptionErrors(
  sendInitialEvents: boolean | undefined,
  match: string,
  continueToken: string,
): StatusCause[] {
  const causes: StatusCause[] = [];
  if (sendInitialEvents !== undefined && match !== 'NotOlderThan') {
    causes.push(
      forbidden('resourceVersionMatch', 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'),
    );
  }
  if (match !== '') {
    if (sendInitialEvents === undefined)
      causes.push(
        forbidden(
          'resourceVersionMatch',
          'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
        ),
      );
    if (match !== 'NotOlderThan') causes.push(notSupported('resourceVersionMatch', match, ['NotOlderThan']));
    if (continueToken !== '')
      causes.push(forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
  }
  return causes;
}

/** The ListOptions rules of a list (upstream's ValidateListOptions when watch is not set). */
export function checkListOptions(query: URLSearchParams): void {
  const match = stringParam(query, 'resourceVersionMatch');
  const resourceVersion = stringParam(query, 'resourceVersion');
  const causes: StatusCause[] = [];
  if (match !== '') {
    if (resourceVersion === '')
      causes.push(
        forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided'),
      );
    if (stringParam(query, 'continue') !== '')
      causes.push(forbidden('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
    if (match !== 'Exact' && match !== 'NotOlderThan')
      causes.push(notSupported('resourceVersionMatch', match, ['Exact', 'NotOlderThan', '']));
    if (match === 'Exact' && resourceVersion === '0')
      causes.push(
        forbidden('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'),
      );
  }
  if (booleanParam(query, 'sendInitialEvents') !== undefined)
    causes.push(forbidden('sendInitialEvents', 'sendInitialEvents is forbidden for list'));
  if (causes.length > 0) throw invalidListOptions(causes);
}

/** A resourceVersion as a revision: "" and "0" are none. */
function revisionOf(text: string): number | undefined {
  if (text === '' || text === '0') return undefined;
  if (!/^\d+$/.test(text)) throw new ApiError('BadRequest', `invalid resourceVersion "${text}"`);
  return Number(text);
}

export function planWatch(query: URLSearchParams): WatchPlan {
  const sendInitialEvents = booleanParam(query, 'sendInitialEvents');
  const causes = watchOptionErrors(
    sendInitialEvents,
    stringParam(query, 'resourceVersionMatch'),
    stringParam(query, 'continue'),
  );
  if (causes.length > 0) throw invalidListOptions(causes);
  const resourceVersion = stringParam(query, 'resourceVersion');
  const revision = revisionOf(resourceVersion);
  const bookmarks = flagParam(query, 'allowWatchBookmarks');
  const timeoutSeconds = integerParam(query, 'timeoutSeconds');
  const timeout = timeoutSeconds !== undefined && timeoutSeconds > 0 ? { timeoutSeconds } : {};
  if (sendInitialEvents === true) {
    // "0" allows any state: the remembered one (revision 0 is never newer than it)
    const notOlderThan = resourceVersion === '0' ? 0 : revision;
    return {
      initialEvents: true,
      ...(notOlderThan !== undefined ? { notOlderThan } : {}),
      bookmarks,
      endBookmark: bookmarks,
      ...timeout,
    };
  }
  if (sendInitialEvents === false || revision !== undefined) {
    return {
      initialEvents: false,
      ...(revision !== undefined ? { after: revision } : {}),
      bookmarks,
      endBookmark: false,
      ...timeout,
    };
  }
  return { initialEvents: true, bookmarks, endBookmark: false, ...timeout };
}
