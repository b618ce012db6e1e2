/**
 * core/v1 Event ⇄ events.k8s.io/v1 Event, as upstream converts them: one stored object (the core
 * form, under /registry/events) served through both APIs, so an event written either way shows in
 * `kubectl get events`, `kubectl events` and events.k8s.io clients alike.
 *
 *   core/v1                  events.k8s.io/v1
 *   involvedObject       ⇄   regarding
 *   message              ⇄   note
 *   source               ⇄   deprecatedSource
 *   count                ⇄   deprecatedCount
 *   firstTimestamp       ⇄   deprecatedFirstTimestamp
 *   lastTimestamp        ⇄   deprecatedLastTimestamp
 *   reportingComponent   ⇄   reportingController
 * Same in both: reason, type, action, related, eventTime, series, reportingInstance.
 */
import type { KubeObject } from '../../kube/types.ts';

const renames: readonly (readonly [core: string, events: string])[] = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['source', 'deprecatedSource'],
  ['count', 'deprecatedCount'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['reportingComponent', 'reportingController'],
];

function rename(object: KubeObject, pairs: readonly (readonly [string, string])[]): KubeObject {
  const out: Record<string, unknown> = { ...object };
  for (const [from, to] of pairs) {
    delete out[from];
    const value = (object as Record<string, unknown>)[from];
    if (value !== undefined && value !== null && value !== '') out[to] = value;
  }
  return out as KubeObject;
}

/** The stored (core) form as events.k8s.io/v1 serves it. */
export function coreToEventsV1(event: KubeObject): KubeObject {
  return rename(event, renames);
}

/** An events.k8s.io/v1 Event in the stored (core) form. */
export function eventsV1ToCore(event: KubeObject): KubeObject {
  return rename(
    event,
    renames.map(([core, events]) => [events, core] as const),
  );
}
