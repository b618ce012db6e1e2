/**
 * StatefulSet volume claim templates, as upstream's StatefulSet controller handles them (pure):
 *  - each pod <set>-<n> gets one claim per template, named <template>-<set>-<n>, made from the
 *    template with the set's selector labels, created before the pod; the pod's volume of the
 *    template's name mounts that claim (a template volume of the same name is replaced);
 *  - claims outlive their pods: a pod that comes back (deleted, rescheduled, scaled up again) finds
 *    its claim, and so its data;
 *  - `persistentVolumeClaimRetentionPolicy`: whenDeleted: Delete makes the set an owner of its claims
 *    (the garbage collector removes them with the set); whenScaled: Delete makes a condemned pod
 *    (ordinal at or above replicas) the owner of its claims, so they go with it; Retain (the
 *    default for both) leaves claims alone. A claim that comes back in range loses the pod owner.
 */
import type { Pod, Volume } from '../../kube/corev1.ts';
import type { PersistentVolumeClaim } from '../../kube/storagev1.ts';
import type { KubeObject, OwnerReference } from '../../kube/types.ts';
import type { Action } from './actions.ts';
import type { StatefulSet } from './workload-types.ts';

interface ClaimTemplate {
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: PersistentVolumeClaim['spec'];
}

interface RetentionPolicy {
  whenDeleted?: 'Retain' | 'Delete';
  whenScaled?: 'Retain' | 'Delete';
}

export function claimTemplates(set: StatefulSet): ClaimTemplate[] {
  return ((set.spec as { volumeClaimTemplates?: ClaimTemplate[] }).volumeClaimTemplates ?? []).filter(
    (t) => t.metadata?.name,
  );
}

function retentionOf(set: StatefulSet): RetentionPolicy {
  return (
    (set.spec as { persistentVolumeClaimRetentionPolicy?: RetentionPolicy }).persistentVolumeClaimRetentionPolicy ?? {}
  );
}

function claimName(template: ClaimTemplate, set: StatefulSet, ordinal: number): string {
  return `${template.metadata?.name}-${set.metadata.name}-${ordinal}`;
}

function reference(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '' };
}

/** The claim a pod of the set needs for one template, as it is created. */
function claimFor(set: StatefulSet, template: ClaimTemplate, ordinal: number): PersistentVolumeClaim {
  const labels = { ...template.metadata?.labels, ...set.spec.selector.matchLabels };
  const owners = retentionOf(set).whenDeleted === 'Delete' ? [reference(set, 'apps/v1', 'StatefulSet')] : [];
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: claimName(template, set, ordinal),
      namespace: set.metadata.namespace,
      labels,
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ...(owners.length > 0 ? { ownerReferences: owners } : {}),
    },
    spec: structuredClone(template.spec ?? {}),
  };
}

/** The pod's volumes with one claim volume per template in front (same-named template volumes dropped). */
export function withClaimVolumes(pod: Pod, set: StatefulSet, ordinal: number): Pod {
  const templates = claimTemplates(set);
  if (templates.length === 0) return pod;
  const names = new Set(templates.map((t) => t.metadata!.name!));
  const volumes: Volume[] = [
    ...templates.map((t) => ({
      name: t.metadata!.name!,
      persistentVolumeClaim: { claimName: claimName(t, set, ordinal) },
    })),
    ...(pod.spec.volumes ?? []).filter((v) => !names.has(v.name)),
  ];
  return { ...pod, spec: { ...pod.spec, volumes } };
}

/**
 * Claims to create before the pod of `ordinal`, or `blocked` when one is being deleted (the pod
 * waits for it to go, then a fresh claim is made, as upstream does).
 */
export function missingClaims(
  set: StatefulSet,
  ordinal: number,
  claims: readonly PersistentVolumeClaim[],
): { create: PersistentVolumeClaim[]; blocked: boolean } {
  const create: PersistentVolumeClaim[] = [];
  let blocked = false;
  for (const template of claimTemplates(set)) {
    const name = claimName(template, set, ordinal);
    const existing = claims.find((c) => c.metadata.name === name);
    if (existing === undefined) create.push(claimFor(set, template, ordinal));
    else if (existing.metadata.deletionTimestamp) blocked = true;
  }
  return { create, blocked };
}

/** Owner reference changes the retention policy asks for, on the claims of the set's pods. */
export function planClaimOwners(
  set: StatefulSet,
  claims: readonly PersistentVolumeClaim[],
  podsByOrdinal: ReadonlyMap<number, Pod>,
  replicas: number,
): Action[] {
  const policy = retentionOf(set);
  const actions: Action[] = [];
  for (const [ordinal, pod] of podsByOrdinal) {
    const condemned = ordinal >= replicas;
    for (const template of claimTemplates(set)) {
      const claim = claims.find((c) => c.metadata.name === claimName(template, set, ordinal));
      if (claim === undefined || claim.metadata.deletionTimestamp) continue;
      const refs = claim.metadata.ownerReferences ?? [];
      const podRef = refs.find((r) => r.kind === 'Pod' && r.uid === pod.metadata.uid);
      const setRef = refs.find((r) => r.kind === 'StatefulSet' && r.uid === set.metadata.uid);
      const others = refs.filter(
        (r) =>
          !(r.kind === 'Pod' && r.name === pod.metadata.name) &&
          !(r.kind === 'StatefulSet' && r.uid === set.metadata.uid),
      );
      // A condemned pod's claims go with the pod alone; otherwise the set owns them when it says so.
      const next =
        condemned && policy.whenScaled === 'Delete'
          ? [...others, podRef ?? reference(pod, 'v1', 'Pod')]
          : [
              ...others,
              ...(policy.whenDeleted === 'Delete' ? [setRef ?? reference(set, 'apps/v1', 'StatefulSet')] : []),
            ];
      if (JSON.stringify(next) === JSON.stringify(refs)) continue;
      const { ownerReferences: _old, ...metadata } = claim.metadata;
      actions.push({
        kind: 'update',
        resource: 'persistentvolumeclaims',
        object: {
          ...(claim as unknown as KubeObject),
          metadata: next.length > 0 ? { ...metadata, ownerReferences: next } : metadata,
        },
      });
    }
  }
  return actions;
}
