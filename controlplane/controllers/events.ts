/**
 * core/v1 Events about objects, as `kubectl describe` shows them. A repeat of the same event
 * (same object, type, reason and message) bumps count and lastTimestamp on the existing Event
 * instead of creating another, so a pod that stays unschedulable does not flood the namespace.
 */
import type { KubeObject } from '../../kube/types.ts';
import type { ClusterClient } from './client.ts';
import { apiTime } from '../../kube/api-time.ts';
import { systemClock, type Clock } from '../../kube/clock.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(object: KubeObject, type: EventType, reason: string, message: string): Promise<void>;
}

interface Sent {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
}

export function eventRecorder(
  client: ClusterClient,
  component: string,
  clock: Pick<Clock, 'now'> = systemClock,
): EventRecorder {
  const sent = new Map<string, Sent>();
  let serial = 0;
  return {
    async record(object, type, reason, message) {
      const namespace = object.metadata.namespace || 'default';
      const involvedObject = {
        kind: object.kind,
        apiVersion: object.apiVersion,
        namespace: object.metadata.namespace,
        name: object.metadata.name,
        uid: object.metadata.uid,
        resourceVersion: object.metadata.resourceVersion,
      };
      const key = JSON.stringify([object.metadata.uid, type, reason, message]);
      const at = apiTime(clock.now());
      const previous = sent.get(key);
      if (previous !== undefined) {
        previous.count++;
        try {
          const current = await client.get('events', previous.namespace, previous.name);
          await client.update('events', { ...current, count: previous.count, lastTimestamp: at });
          return;
        } catch {
          sent.delete(key); // gone (or unreadable): start a new one below
        }
      }
      const name = `${object.metadata.name}.${(Date.now() * 1000 + (serial++ % 1000)).toString(16)}`;
      const event: KubeObject = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject,
        type,
        reason,
        message,
        source: { component },
        reportingComponent: component,
        reportingInstance: component,
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
      };
      await client.create('events', event);
      sent.set(key, { name, namespace, count: 1, firstTimestamp: at });
      // Forget old keys so a long-running process does not grow without bound.
      if (sent.size > 4096) sent.delete(sent.keys().next().value!);
    },
  };
}
