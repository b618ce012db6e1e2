/**
 * Namespace lifecycle. A namespace being deleted (or already gone, when the API removed it at
 * once) has every object in it deleted; once nothing is left, the `kubernetes` finalizer that holds
 * a terminating namespace is removed so the API can let it go. While objects remain, the
 * namespace reports phase Terminating.
 */
import type { KubeObject } from '../../kube/types.ts';
import type { Action, Plan } from './actions.ts';
import type { ResourceName } from './client.ts';
import { refFor } from './kube-cluster-client.ts';
import type { Caches, ControllerSpec } from './manager.ts';
import { apiTime } from '../../kube/api-time.ts';

const namespaceFinalizer = 'kubernetes';

/** Namespaced resources whose objects go with their namespace (events included). */
const namespacedResources: readonly ResourceName[] = [
  'pods',
  'services',
  'endpoints',
  'endpointslices',
  'networkpolicies',
  'ingresses',
  'serviceaccounts',
  'configmaps',
  'secrets',
  'persistentvolumeclaims',
  'events',
  'leases',
  'replicasets',
  'replicationcontrollers',
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
      actions.push({
        kind: 'delete',
        resource,
        namespace,
        name: object.metadata.name ?? '',
        propagationPolicy: 'Background',
        ...(object.metadata.uid ? { uid: object.metadata.uid } : {}),
      });
    }
  }
  return actions;
}

interface NamespaceCondition {
  type: string;
  status: 'True' | 'False';
  lastTransitionTime?: string;
  reason: string;
  message: string;
}

/**
 * What is left in a terminating namespace, as upstream's namespace controller reports it: each
 * resource with objects left, and each finalizer that still holds some of them.
 */
function leftovers(
  namespace: string,
  caches: Caches,
): { resources: Map<string, number>; finalizers: Map<string, number> } {
  const resources = new Map<string, number>();
  const finalizers = new Map<string, number>();
  for (const resource of namespacedResources) {
    for (const object of caches.list(resource, namespace)) {
      const name = `${resource}.${refFor(resource).group}`;
      resources.set(name, (resources.get(name) ?? 0) + 1);
      for (const f of object.metadata.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
    }
  }
  return { resources, finalizers };
}

function describeCounts(counts: Map<string, number>, unit: (n: number) => string): string {
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name} ${unit(n)}`)
    .join(', ');
}

/** The five conditions upstream's namespace controller keeps on a terminating namespace. */
function terminationConditions(left: ReturnType<typeof leftovers>): NamespaceCondition[] {
  const conditions: NamespaceCondition[] = [
    {
      type: 'NamespaceDeletionDiscoveryFailure',
      status: 'False',
      reason: 'ResourcesDiscovered',
      message: 'All resources successfully discovered',
    },
    {
      type: 'NamespaceDeletionGroupVersionParsingFailure',
      status: 'False',
      reason: 'ParsedGroupVersions',
      message: 'All legacy kube types successfully parsed',
    },
    {
      type: 'NamespaceDeletionContentFailure',
      status: 'False',
      reason: 'ContentDeleted',
      message: 'All content successfully deleted, may be waiting on finalization',
    },
  ];
  conditions.push(
    left.resources.size > 0
      ? {
          type: 'NamespaceContentRemaining',
          status: 'True',
          reason: 'SomeResourcesRemain',
          message: `Some resources are remaining: ${describeCounts(left.resources, (n) => `has ${n} resource instances`)}`,
        }
      : {
          type: 'NamespaceContentRemaining',
          status: 'False',
          reason: 'ContentRemoved',
          message: 'All content successfully removed',
        },
  );
  conditions.push(
    left.finalizers.size > 0
      ? {
          type: 'NamespaceFinalizersRemaining',
          status: 'True',
          reason: 'SomeFinalizersRemain',
          message: `Some content in the namespace has finalizers remaining: ${describeCounts(left.finalizers, (n) => `in ${n} resource instances`)}`,
        }
      : {
          type: 'NamespaceFinalizersRemaining',
          status: 'False',
          reason: 'ContentHasNoFinalizers',
          message: 'All content-preserving finalizers finished',
        },
  );
  return conditions;
}

/** New conditions keep the old lastTransitionTime when their status did not change. */
function mergeConditions(
  old: readonly NamespaceCondition[],
  next: NamespaceCondition[],
  now: string,
): NamespaceCondition[] {
  return next.map((c) => {
    const before = old.find((o) => o.type === c.type);
    return {
      ...c,
      lastTransitionTime:
        before && before.status === c.status && before.lastTransitionTime ? before.lastTransitionTime : now,
    };
  });
}

function sameConditions(a: readonly NamespaceCondition[], b: readonly NamespaceCondition[]): boolean {
  const strip = (list: readonly NamespaceCondition[]) =>
    JSON.stringify(list.map(({ lastTransitionTime: _t, ...rest }) => rest));
  return strip(a) === strip(b);
}

export function planNamespace(ns: KubeObject, caches: Caches, now: Date = new Date()): Plan {
  if (!ns.metadata.deletionTimestamp) return { actions: [] };
  const name = ns.metadata.name ?? '';
  const actions = contentDeletions(name, caches);
  const status = (ns.status ?? {}) as { phase?: string; conditions?: NamespaceCondition[] };
  const left = leftovers(name, caches);
  const oldConditions = status.conditions ?? [];
  const conditions = terminationConditions(left);
  const emptied = left.resources.size === 0;
  // Once empty, the finalizer goes and the namespace with it: a last status write would only conflict.
  if (!emptied && (status.phase !== 'Terminating' || !sameConditions(oldConditions, conditions))) {
    const stamp = apiTime(now);
    actions.push({
      kind: 'updateStatus',
      resource: 'namespaces',
      object: {
        ...ns,
        status: { ...status, phase: 'Terminating', conditions: mergeConditions(oldConditions, conditions, stamp) },
      },
    });
  }
  if (emptied) {
    const spec = (ns.spec ?? {}) as { finalizers?: string[] };
    const specFinalizers = (spec.finalizers ?? []).filter((f) => f !== namespaceFinalizer);
    const metaFinalizers = (ns.metadata.finalizers ?? []).filter((f) => f !== namespaceFinalizer);
    if (
      specFinalizers.length !== (spec.finalizers ?? []).length ||
      metaFinalizers.length !== (ns.metadata.finalizers ?? []).length
    ) {
      actions.push({
        kind: 'update',
        resource: 'namespaces',
        object: {
          ...ns,
          metadata: { ...ns.metadata, finalizers: metaFinalizers },
          spec: { ...spec, finalizers: specFinalizers },
        },
      });
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
  ownsWhatItTouches: false,
  plan: (ns, caches, now) => planNamespace(ns, caches, now),
  planMissing: (name, caches) => {
    const actions = contentDeletions(name, caches);
    return actions.length > 0 ? { actions, requeueAfterMs: 2000 } : { actions };
  },
};
