/**
 * What planners ask for, as data. Every controller's planner returns a list of these; one executor
 * carries them out against the API, so planners stay pure and testable by tables.
 */
import type { Pod } from '../../kube/corev1.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { EventType } from './events.ts';
import type { PropagationPolicy, ResourceName } from './client.ts';

export type Action =
  /** Pods to create in slow-start batches (1, 2, 4, ...); a failing batch stops the rest. */
  | { readonly kind: 'createPods'; readonly pods: readonly Pod[] }
  | { readonly kind: 'create'; readonly resource: ResourceName; readonly object: KubeObject }
  /** Replace the object; metadata.resourceVersion makes a stale write fail with Conflict. */
  | { readonly kind: 'update'; readonly resource: ResourceName; readonly object: KubeObject }
  | { readonly kind: 'updateStatus'; readonly resource: ResourceName; readonly object: KubeObject }
  | {
      readonly kind: 'delete';
      readonly resource: ResourceName;
      readonly namespace: string | undefined;
      readonly name: string;
      /** Only delete this very object, not a successor with the same name. */
      readonly uid?: string;
      readonly propagationPolicy?: PropagationPolicy;
      /** Delete only if none of these objects exists any more (checked against the API, not a cache). */
      readonly ifAbsent?: readonly ObjectReference[];
    }
  | {
      readonly kind: 'event';
      readonly object: KubeObject;
      readonly type: EventType;
      readonly reason: string;
      readonly message: string;
    };

export interface ObjectReference {
  readonly resource: ResourceName;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly uid: string;
}

export interface Plan {
  readonly actions: Action[];
  /** Look at this object again after this long even if nothing changes (deadlines, minReadySeconds). */
  readonly requeueAfterMs?: number;
}

export function deletePod(pod: Pod): Action {
  return {
    kind: 'delete',
    resource: 'pods',
    namespace: pod.metadata.namespace,
    name: pod.metadata.name ?? '',
    ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
  };
}
