/**
 * Namespace lifecycle. A namespace being deleted (or already gone, when the API removed it at
 * once) has every object in it deleted; once nothing is left, the `kubernetes` finalizer that holds
 * a terminating namespace is removed so the API can let it go. While objects remain, the
 * namespace reports phase Terminating.
 */
import type { KubeObject } from '../../kube/types.ts';
import type { Action, Plan } from './actions.ts';
import type { ResourceName } from './client.ts';
import type { Caches, ControllerSpec } from './manager.ts';

export const namespaceFinalizer = 'kubernetes';

/** Namespaced resources whose objects go with their namespace (events included). */
export const namespacedResources: readonly ResourceName[] = [
  'pods',
  'services',
  'endpoints',
  'endpointslices',
  'serviceaccounts',
  'configmaps',
  'secrets',
  'events',
  'leases',
  'replicasets',
  'deployments',
  'daemonsets',
  'statefulsets',
  'controllerrevisions',
  'jobs',
  'cronjobs',
];

function contentDeletions(namespace: string, caches: Caches): Action[] {
  const actions: Action[] = [];
  for (const resource of namespacedResources) {
    for (const object of caches.list(resource, namespace)) {
      if (object.metadata.deletionTimestamp) continue;
      // Pods get no grace: their namespace is going and nothing will serve them anyway.
      // Background, as upstream's namespace controller: a Job's own default would orphan its pods.
      actions.push({ kind: 'delete', resource, namespace, name: object.metadata.name ?? '', propagationPolicy: 'Background', ...(object.metadata.uid ? { uid: object.metadata.uid } : {}) });
    }
  }
  return actions;
}

function remaining(namespace: string, caches: Caches): number {
  return namespacedResources.reduce((n, resource) => n + caches.list(resource, namespace).length, 0);
}

export function planNamespace(ns: KubeObject, caches: Caches): Plan {
  if (!ns.metadata.deletionTimestamp) return { actions: [] };
  const name = ns.metadata.name ?? '';
  const actions = contentDeletions(name, caches);
  const status = (ns.status ?? {}) as { phase?: string };
  if (status.phase !== 'Terminating') actions.push({ kind: 'updateStatus', resource: 'namespaces', object: { ...ns, status: { ...status, phase: 'Terminating' } } });
  if (remaining(name, caches) === 0) {
    const spec = (ns.spec ?? {}) as { finalizers?: string[] };
    const specFinalizers = (spec.finalizers ?? []).filter((f) => f !== namespaceFinalizer);
    const metaFinalizers = (ns.metadata.finalizers ?? []).filter((f) => f !== namespaceFinalizer);
    if (specFinalizers.length !== (spec.finalizers ?? []).length || metaFinalizers.length !== (ns.metadata.finalizers ?? []).length) {
      actions.push({ kind: 'update', resource: 'namespaces', object: { ...ns, metadata: { ...ns.metadata, finalizers: metaFinalizers }, spec: { ...spec, finalizers: specFinalizers } } });
    }
    return { actions };
  }
  // Some objects linger (pods finishing, finalizers): look again shortly.
  return { actions, requeueAfterMs: 2000 };
}

export const namespaceController: ControllerSpec = {
  name: 'namespace',
  primary: 'namespaces',
  triggers: [],
  reads: namespacedResources,
  plan: (ns, caches) => planNamespace(ns, caches),
  planMissing: (name, caches) => {
    const actions = contentDeletions(name, caches);
    return actions.length > 0 ? { actions, requeueAfterMs: 2000 } : { actions };
  },
};
