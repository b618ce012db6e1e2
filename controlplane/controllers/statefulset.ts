/**
 * StatefulSet planner: pods with stable names <set>-<ordinal> and stable DNS names
 * (hostname = pod name, subdomain = serviceName).
 *  - OrderedReady (default): pods are created one at a time in ordinal order, each only after the
 *    ones before it are Running and Ready; surplus pods go one at a time from the highest ordinal,
 *    and only while every other pod is healthy.
 *  - Parallel: all missing pods are created and all surplus pods deleted at once.
 *  - RollingUpdate: pods whose revision differs from the template's are replaced one at a time from
 *    the highest ordinal down to `partition` (ordinals below it keep the old revision), once all
 *    pods are healthy; OnDelete replaces nothing by itself.
 * Failed pods are deleted so they come back. Volume claim templates give each pod its own claims,
 * created before it and kept after it (statefulset-claims.ts).
 */
import type { Pod } from '../../kube/corev1.ts';
import type { PersistentVolumeClaim } from '../../kube/storagev1.ts';
import { deletePod, type Plan } from './actions.ts';
import type { KubeObject } from '../../kube/types.ts';
import { claimPods } from './claim.ts';
import { planRevisions, revisionName, type ControllerRevision } from './controller-revisions.ts';
import { revisionHashLabel } from './daemonset.ts';
import { isActive, isAvailable, isReady, podFromTemplate } from './pods.ts';
import { templateHash } from './template-hash.ts';
import { missingClaims, planClaimOwners, withClaimVolumes } from './statefulset-claims.ts';
import type { StatefulSet } from './workload-types.ts';

const podNameLabel = 'statefulset.kubernetes.io/pod-name';
const podIndexLabel = 'apps.kubernetes.io/pod-index';

function ordinalOf(set: StatefulSet, pod: Pod): number | undefined {
  const name = pod.metadata.name ?? '';
  const prefix = `${set.metadata.name}-`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

export function updateRevision(set: StatefulSet): string {
  return revisionName(set, templateHash(set.spec.template));
}

function newPod(set: StatefulSet, ordinal: number, revision: string): Pod {
  const name = `${set.metadata.name}-${ordinal}`;
  const pod = podFromTemplate(
    set.spec.template,
    set,
    { [podNameLabel]: name, [podIndexLabel]: String(ordinal), [revisionHashLabel]: revision },
    name,
  );
  pod.spec.hostname = name;
  if (set.spec.serviceName) pod.spec.subdomain = set.spec.serviceName;
  return withClaimVolumes(pod, set, ordinal);
}

const healthy = (pod: Pod) => pod.status?.phase === 'Running' && isReady(pod) && !pod.metadata.deletionTimestamp;

export function planStatefulSet(
  set: StatefulSet,
  pods: readonly Pod[],
  now: Date,
  revisions: readonly ControllerRevision[] = [],
  claims: readonly PersistentVolumeClaim[] = [],
): Plan {
  const { owned, actions } = claimPods(set, pods);
  if (set.metadata.deletionTimestamp) return { actions };
  const replicas = set.spec.replicas ?? 1;
  const ordered = (set.spec.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
  const revision = updateRevision(set);
  const byOrdinal = new Map<number, Pod>();
  for (const pod of owned) {
    const ordinal = ordinalOf(set, pod);
    if (ordinal !== undefined) byOrdinal.set(ordinal, pod);
  }

  // Failed pods are removed first; they are recreated in a later pass under the same name.
  const failed = [...byOrdinal.values()].filter((p) => p.status?.phase === 'Failed' && !p.metadata.deletionTimestamp);
  for (const pod of failed) actions.push(deletePod(pod));

  // Claims follow the retention policy before any pod goes, so a condemned pod's claims go with it.
  const claimOwners = planClaimOwners(set, claims, byOrdinal, replicas);
  actions.push(...claimOwners);

  const wanted: number[] = Array.from({ length: replicas }, (_, i) => i);
  const condemned = [...byOrdinal.keys()].filter((o) => o >= replicas).sort((a, b) => b - a);
  let blocked = failed.length > 0 && ordered;
  const toCreate: Pod[] = [];
  for (const ordinal of wanted) {
    if (blocked) break;
    const pod = byOrdinal.get(ordinal);
    if (pod === undefined) {
      const needed = missingClaims(set, ordinal, claims);
      for (const claim of needed.create)
        actions.push({ kind: 'create', resource: 'persistentvolumeclaims', object: claim as unknown as KubeObject });
      if (!needed.blocked) toCreate.push(newPod(set, ordinal, revision));
      if (ordered) blocked = true;
      continue;
    }
    // A pod being replaced (deleted) comes back under the same name once it is gone.
    if (ordered && !healthy(pod)) blocked = true;
  }
  if (toCreate.length > 0) actions.push({ kind: 'createPods', pods: toCreate });

  const live = [...byOrdinal.values()].filter(isActive);
  const allHealthy = live.every(healthy) && toCreate.length === 0 && failed.length === 0;
  if (condemned.length > 0 && (!ordered || allHealthy) && claimOwners.length === 0) {
    for (const ordinal of ordered ? condemned.slice(0, 1) : condemned) {
      const pod = byOrdinal.get(ordinal)!;
      if (!pod.metadata.deletionTimestamp) actions.push(deletePod(pod));
    }
  }

  // Rolling update: highest ordinal first, down to the partition, one pod at a time.
  const strategy = set.spec.updateStrategy?.type ?? 'RollingUpdate';
  if (strategy === 'RollingUpdate' && condemned.length === 0 && allHealthy) {
    const partition = set.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
    for (let ordinal = replicas - 1; ordinal >= partition; ordinal--) {
      const pod = byOrdinal.get(ordinal);
      if (pod && pod.metadata.labels?.[revisionHashLabel] !== revision) {
        actions.push(deletePod(pod));
        break;
      }
    }
  }

  const inUse = new Set(owned.map((p) => p.metadata.labels?.[revisionHashLabel] ?? ''));
  actions.push(...planRevisions({ owner: set, hash: templateHash(set.spec.template), revisions, inUse }));

  const counted = live;
  const updated = counted.filter((p) => p.metadata.labels?.[revisionHashLabel] === revision).length;
  const previous = set.status?.currentRevision ?? revision;
  const currentRevision = updated === replicas && counted.length === replicas ? revision : previous;
  const status = {
    observedGeneration: set.metadata.generation ?? 1,
    replicas: counted.length,
    readyReplicas: counted.filter(isReady).length,
    availableReplicas: counted.filter((p) => isAvailable(p, set.spec.minReadySeconds ?? 0, now)).length,
    currentReplicas: counted.filter((p) => p.metadata.labels?.[revisionHashLabel] === currentRevision).length,
    updatedReplicas: updated,
    currentRevision,
    updateRevision: revision,
  };
  if (JSON.stringify(status) !== JSON.stringify(set.status ?? {}))
    actions.push({ kind: 'updateStatus', resource: 'statefulsets', object: { ...set, status } });
  return { actions };
}
