/**
 * One watch event as the line a watch stream writes. The object's JSON is kept for the objects
 * serialised last, so an event that reaches many watchers (a pod change seen by every node's pod
 * watch, all sharing one decoded object) is serialised once, not once per watcher. Objects handed
 * to watchers are never modified afterwards, which is what makes the kept text safe to reuse.
 *
 * Only the last few are kept: a change reaches all its watchers in one go, and the text of every
 * object ever watched (what a table keyed by the object kept while a cache held the object) was a
 * second copy of each pod in the server, as large as the stored one.
 */
import type { WatchEvent } from '../../kube/types.ts';

/** Objects whose text is kept; a change's watchers ask one after another, so a few are plenty. */
const keptTexts = 64;
const recentJson = new Map<object, string>();

function jsonOf(object: object): string {
  let json = recentJson.get(object);
  if (json === undefined) {
    json = JSON.stringify(object);
    recentJson.set(object, json);
    // a Map iterates in insertion order: the first key is the oldest
    if (recentJson.size > keptTexts) recentJson.delete(recentJson.keys().next().value!);
  }
  return json;
}

export function watchEventLine(event: WatchEvent<unknown>): string {
  const object = event.object;
  if (typeof object !== 'object' || object === null) return `${JSON.stringify(event)}\n`;
  // the same text JSON.stringify({ type, object }) gives
  return `{"type":${JSON.stringify(event.type)},"object":${jsonOf(object)}}\n`;
}

/** How many objects' texts are kept (for tests: it never grows past a few). */
export function keptWatchTexts(): number {
  return recentJson.size;
}
