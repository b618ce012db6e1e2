/**
 * Garbage collector, dependent side: an object whose owners (by ownerReferences uid) are all gone
 * is deleted; one that lost some owners drops the dangling references. An owner that is being
 * deleted with the `orphan` finalizer lets its dependents go (their reference to it is removed);
 * with `foregroundDeletion` its dependents are deleted first. A cache can lag behind the API, so
 * deleting a dependent is checked against the API: it only happens if the owners are really gone.
 * Owners of kinds this controller does not watch are assumed to exist.
 */
import type { KubeObject, OwnerReference } from '../../kube/types.ts';
import type { Action, ObjectReference, Plan } from './actions.ts';
import { clusterScoped, objectKey, type ResourceName } from './client.ts';
import type { Caches, ControllerSpec } from './manager.ts';

const orphanFinalizer = 'orphan';
const foregroundFinalizer = 'foregroundDeletion';

/** Owner kinds whose objects the collector can look up. */
const ownerResources: Readonly<Record<string, ResourceName>> = {
  'v1/Pod': 'pods',
  'v1/Node': 'nodes',
  'v1/Namespace': 'namespaces',
  'v1/Service': 'services',
  'v1/ServiceAccount': 'serviceaccounts',
  'v1/ConfigMap': 'configmaps',
  'v1/Secret': 'secrets',
  'v1/ReplicationController': 'replicationcontrollers',
  'apps/v1/Deployment': 'deployments',
  'apps/v1/ReplicaSet': 'replicasets',
  'apps/v1/DaemonSet': 'daemonsets',
  'apps/v1/StatefulSet': 'statefulsets',
  'batch/v1/Job': 'jobs',
  'batch/v1/CronJob': 'cronjobs',
};

type OwnerState = { kind: 'unknown' } | { kind: 'gone'; ref: ObjectReference } | { kind: 'present'; owner: KubeObject };

function ownerState(dependent: KubeObject, ref: OwnerReference, caches: Caches): OwnerState {
  const resource = ownerResources[`${ref.apiVersion}/${ref.kind}`];
  if (resource === undefined) return { kind: 'unknown' };
  const namespace = clusterScoped.has(resource) ? undefined : dependent.metadata.namespace;
  const owner = caches.get(resource, namespace ? `${namespace}/${ref.name}` : ref.name);
  if (owner !== undefined && owner.metadata.uid === ref.uid) return { kind: 'present', owner };
  return { kind: 'gone', ref: { resource, namespace, name: ref.name, uid: ref.uid } };
}

export function planGarbage(dependent: KubeObject, resource: ResourceName): (caches: Caches) => Plan {
  return (caches) => {
    const refs = dependent.metadata.ownerReferences ?? [];
    if (refs.length === 0 || dependent.metadata.deletionTimestamp) return { actions: [] };
    const states = refs.map((ref) => ({ ref, state: ownerState(dependent, ref, caches) }));
    const gone = states.filter((s) => s.state.kind === 'gone');
    const remove = (keep: (s: (typeof states)[number]) => boolean): Action => ({
      kind: 'update',
      resource,
      object: {
        ...dependent,
        metadata: { ...dependent.metadata, ownerReferences: states.filter(keep).map((s) => s.ref) },
      },
    });
    const deleteDependent = (ifAbsent: ObjectReference[]): Action => ({
      kind: 'delete',
      resource,
      namespace: dependent.metadata.namespace,
      name: dependent.metadata.name ?? '',
      ...(dependent.metadata.uid ? { uid: dependent.metadata.uid } : {}),
      ...(ifAbsent.length > 0 ? { ifAbsent } : {}),
    });
    if (gone.length === refs.length)
      return { actions: [deleteDependent(gone.map((s) => (s.state as { ref: ObjectReference }).ref))] };
    const finalizersOf = (s: (typeof states)[number]) =>
      s.state.kind === 'present' && s.state.owner.metadata.deletionTimestamp
        ? (s.state.owner.metadata.finalizers ?? [])
        : [];
    const orphaning = states.filter((s) => finalizersOf(s).includes(orphanFinalizer));
    if (orphaning.length > 0 || gone.length > 0)
      return { actions: [remove((s) => !orphaning.includes(s) && s.state.kind !== 'gone')] };
    if (states.some((s) => finalizersOf(s).includes(foregroundFinalizer))) {
      // A dependent that owns things itself goes in the foreground too, so the whole chain blocks.
      return {
        actions: [
          {
            ...deleteDependent([]),
            ...(collectedOwners.has(resource) ? { propagationPolicy: 'Foreground' as const } : {}),
          },
        ],
      };
    }
    return { actions: [] };
  };
}

/** Which dependents the collector follows, and the owner resources they may point at. */
const collection: readonly { readonly dependent: ResourceName; readonly owners: readonly ResourceName[] }[] = [
  { dependent: 'pods', owners: ['replicasets', 'replicationcontrollers', 'jobs', 'daemonsets', 'statefulsets'] },
  { dependent: 'replicasets', owners: ['deployments'] },
  { dependent: 'jobs', owners: ['cronjobs'] },
  { dependent: 'endpointslices', owners: ['services'] },
  { dependent: 'controllerrevisions', owners: ['daemonsets', 'statefulsets'] },
  { dependent: 'leases', owners: ['nodes'] },
  // an upload sealed for joining servers, owned by the token whose expiry ends it
  { dependent: 'secrets', owners: ['secrets'] },
  // StatefulSet claims under a Delete retention policy: owned by the set, or by a condemned pod.
  { dependent: 'persistentvolumeclaims', owners: ['statefulsets', 'pods'] },
];

/** Owners whose `orphan` / `foregroundDeletion` finalizers the collector removes. */
// Pods own only claims that go with them; a pod's own deletion never waits for its dependents.
const collectedOwners: ReadonlySet<ResourceName> = new Set(
  collection.flatMap((c) => c.owners).filter((owner) => owner !== 'pods'),
);

function referencesTo(owner: KubeObject, dependent: KubeObject): OwnerReference[] {
  return (dependent.metadata.ownerReferences ?? []).filter((r) => r.uid === owner.metadata.uid);
}

/**
 * Owner side: an owner deleting with `orphan` keeps it until no dependent points at it any more;
 * with `foregroundDeletion`, until no dependent that blocks its deletion (blockOwnerDeletion) is
 * left. Then the finalizer goes, and with the last finalizer the API removes the owner.
 */
export function planOwnerFinalizers(
  owner: KubeObject,
  resource: ResourceName,
  dependents: readonly KubeObject[],
): Plan {
  const finalizers = owner.metadata.finalizers ?? [];
  if (!owner.metadata.deletionTimestamp) return { actions: [] };
  const pointing = dependents.filter((d) => referencesTo(owner, d).length > 0);
  const done = new Set<string>();
  if (finalizers.includes(orphanFinalizer) && pointing.length === 0) done.add(orphanFinalizer);
  if (
    finalizers.includes(foregroundFinalizer) &&
    !pointing.some((d) => referencesTo(owner, d).some((r) => r.blockOwnerDeletion === true))
  ) {
    done.add(foregroundFinalizer);
  }
  if (done.size === 0) return { actions: [] };
  return {
    actions: [
      {
        kind: 'update',
        resource,
        object: { ...owner, metadata: { ...owner.metadata, finalizers: finalizers.filter((f) => !done.has(f)) } },
      },
    ],
  };
}

/** One owner-side collector per owner resource, woken by its own changes and its dependents'. */
function ownerFinalizerController(owner: ResourceName): ControllerSpec {
  const dependentResources = collection.filter((c) => c.owners.includes(owner)).map((c) => c.dependent);
  const ownerKind = Object.entries(ownerResources)
    .find(([, r]) => r === owner)?.[0]
    .split('/')
    .at(-1);
  return {
    name: `garbagecollector-owner-${owner}`,
    primary: owner,
    triggers: dependentResources.map((resource) => ({
      resource,
      keysFor: (dependent: KubeObject) =>
        (dependent.metadata.ownerReferences ?? [])
          .filter((r) => r.kind === ownerKind)
          .map((r) =>
            clusterScoped.has(owner) || !dependent.metadata.namespace
              ? r.name
              : `${dependent.metadata.namespace}/${r.name}`,
          ),
    })),
    plan: (object, caches) => {
      // every dependent's change wakes its owner: the dependents are read only for an owner that is going
      if (!object.metadata.deletionTimestamp) return { actions: [] };
      const namespace = clusterScoped.has(owner) ? undefined : object.metadata.namespace;
      const dependents = dependentResources.flatMap((resource) =>
        caches.list(resource, clusterScoped.has(resource) ? undefined : namespace),
      );
      return planOwnerFinalizers(object, owner, dependents);
    },
  };
}

/** Every collector: dependent side and owner side. */
export function garbageCollectors(): ControllerSpec[] {
  return [
    ...collection.map((c) => garbageCollectorFor(c.dependent, c.owners)),
    ...[...collectedOwners].map(ownerFinalizerController),
  ];
}

/** One collector per dependent resource; woken by its own objects and by any owner going away. */
function garbageCollectorFor(resource: ResourceName, ownerKinds: readonly ResourceName[]): ControllerSpec {
  const dependentsOf = (owner: KubeObject, caches: Caches) =>
    caches
      .list(resource, clusterScoped.has(resource) ? undefined : owner.metadata.namespace)
      .filter((d) => d.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid))
      .map(objectKey);
  return {
    name: `garbagecollector-${resource}`,
    primary: resource,
    triggers: ownerKinds.map((owner) => ({
      resource: owner,
      // Every change of an owner wakes its dependents only when it matters: deletion or its finalizers.
      keysFor: (o: KubeObject, caches: Caches) =>
        o.metadata.deletionTimestamp !== undefined || !caches.get(owner, objectKey(o)) ? dependentsOf(o, caches) : [],
    })),
    plan: (dependent, caches) => planGarbage(dependent, resource)(caches),
  };
}
