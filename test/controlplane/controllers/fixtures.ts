/**
 * Builders for controller planner tests. Conventions: namespace "default"; the clock reads
 * 2026-01-01T00:10:00Z unless a test moves it; pods are created at minute 0 plus their index in
 * seconds, so "newer" is the higher index.
 */
import { apiTime } from '../../../kube/api-time.ts';
import type { Pod, PodCondition } from '../../../kube/corev1.ts';
import type { OwnerReference } from '../../../kube/types.ts';
import type { Action } from '../../../controlplane/controllers/actions.ts';
import type { ReplicaSet } from '../../../controlplane/controllers/workload-types.ts';

export const now = new Date('2026-01-01T00:10:00Z');
export const at = (seconds: number) => apiTime(Date.parse('2026-01-01T00:00:00Z') + seconds * 1000);

export function ownerRef(kind: string, name: string, apiVersion = 'apps/v1'): OwnerReference {
  return { apiVersion, kind, name, uid: `uid-${name}`, controller: true, blockOwnerDeletion: true };
}

interface PodState {
  index?: number;
  labels?: Record<string, string>;
  owner?: OwnerReference | null;
  node?: string;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  ready?: boolean;
  readySince?: number;
  deleting?: boolean;
  restarts?: number;
  ip?: string;
  namespace?: string;
}

export function pod(name: string, state: PodState = {}): Pod {
  const conditions: PodCondition[] = [];
  if (state.ready !== undefined)
    conditions.push({
      type: 'Ready',
      status: state.ready ? 'True' : 'False',
      lastTransitionTime: at(state.readySince ?? 0),
    });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: state.namespace ?? 'default',
      uid: `uid-${name}`,
      resourceVersion: '1',
      creationTimestamp: at(state.index ?? 0),
      labels: state.labels ?? { app: 'web' },
      ...(state.owner ? { ownerReferences: [state.owner] } : {}),
      ...(state.deleting ? { deletionTimestamp: at(500) } : {}),
    },
    spec: { containers: [{ name: 'app', image: 'busybox' }], ...(state.node ? { nodeName: state.node } : {}) },
    status: {
      phase: state.phase ?? (state.node ? 'Running' : 'Pending'),
      conditions,
      ...(state.ip ? { podIP: state.ip } : {}),
      ...(state.restarts
        ? {
            containerStatuses: [
              { name: 'app', ready: false, restartCount: state.restarts, image: 'busybox', imageID: '' },
            ],
          }
        : {}),
    },
  };
}

export function replicaSet(name: string, replicas: number, extra: Partial<ReplicaSet['spec']> = {}): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, generation: 1, resourceVersion: '1' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } },
      ...extra,
    },
  };
}

/** Short, stable descriptions of actions for table assertions. */
export function describe(actions: readonly Action[]): string[] {
  return actions.map((a) => {
    switch (a.kind) {
      case 'createPods':
        return `create ${a.pods.length} pod(s)`;
      case 'create':
        return `create ${a.resource} ${a.object.metadata.name ?? a.object.metadata.generateName + '*'}`;
      case 'update':
        return `update ${a.resource} ${a.object.metadata.name}`;
      case 'updateStatus':
        return `status ${a.resource} ${a.object.metadata.name}`;
      case 'delete':
        return `delete ${a.resource} ${a.name}${a.propagationPolicy ? ` (${a.propagationPolicy})` : ''}`;
      case 'event':
        return `event ${a.reason}`;
    }
  });
}
