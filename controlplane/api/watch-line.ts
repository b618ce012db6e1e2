/**
 * One watch event as the line a watch stream writes. The object's JSON is kept per object, so an
 * event that reaches many watchers (a pod change seen by every node's pod watch, all sharing one
 * decoded object) is serialised once, not once per watcher. Objects handed to watchers are never
 * modified afterwards, which is what makes the cached text safe to reuse.
 */
import type { WatchEvent } from '../../kube/types.ts';

const objectJson = new WeakMap<object, string>();

export function watchEventLine(event: WatchEvent<unknown>): string {
  const object = event.object;
  if (typeof object !== 'object' || object === null) return `${JSON.stringify(event)}\n`;
  let json = objectJson.get(object);
  if (json === undefined) {
    json = JSON.stringify(object);
    objectJson.set(object, json);
  }
  // the same text JSON.stringify({ type, object }) gives
  return `{"type":${JSON.stringify(event.type)},"object":${json}}\n`;
}
