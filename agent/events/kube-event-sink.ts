/** EventSink over the Kubernetes API client: POST core/v1 events, PATCH a repeat's count. */
import type { KubeClient } from '../../kube/client.ts';
import { refs } from '../../kube/resource-ref.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { EventSink } from './event-recorder.ts';

export function kubeEventSink(client: KubeClient): EventSink {
  return {
    async create(event) {
      await client.create<KubeObject>(refs.events, event as unknown as KubeObject);
    },
    async patch(event) {
      await client.patch(
        refs.events,
        event.metadata.name,
        { count: event.count, lastTimestamp: event.lastTimestamp, message: event.message },
        {
          namespace: event.metadata.namespace,
          type: 'strategic',
        },
      );
    },
  };
}
