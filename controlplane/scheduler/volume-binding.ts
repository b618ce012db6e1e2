/**
 * kube-scheduler's VolumeBinding plugin, pure: where a pod's claims let it run.
 *  - before any node is looked at, a claim that is missing or being deleted, or an unbound claim
 *    that binds at once (Immediate), makes the pod unschedulable everywhere, in upstream's words;
 *  - a bound claim whose volume has a node affinity admits only the nodes it selects
 *    ("volume node affinity conflict"): a pod whose data lives on node-1 never lands elsewhere;
 *  - as the VolumeZone plugin: a bound volume labelled with a zone or region (topology.kubernetes.io/
 *    or the older failure-domain.beta.kubernetes.io/ keys; several values joined by "__") admits only
 *    nodes labelled with one of them ("no available volume zone");
 *  - an unbound WaitForFirstConsumer claim admits a node where a free volume would fit it, or where
 *    its class can provision one: the class's allowed topologies hold, and for the built-in
 *    local-path provisioner the node's ephemeral storage still has room for the claim next to the
 *    local-path volumes already on it.
 * The claims the pod waits on are returned, so the scheduler can name the chosen node on them.
 */
import type { Node, Pod } from '../../kube/corev1.ts';
import {
  hostnameLabel,
  localPathProvisioner,
  provisionedByAnnotation,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type StorageClass,
} from '../../kube/storagev1.ts';
import {
  claimClassName,
  requestedBytes,
  storageBytes,
  volumeFitsNode,
  volumeForClaim,
} from '../controllers/volume-matching.ts';
import type { Amounts } from './resources.ts';

const volumeReasons = {
  conflict: 'node(s) had volume node affinity conflict',
  zone: 'node(s) had no available volume zone',
  noVolume: "node(s) didn't find available persistent volumes to bind",
  noRoom: 'node(s) did not have enough free storage',
  unboundImmediate: 'pod has unbound immediate PersistentVolumeClaims',
  notFound: (claim: string) => `persistentvolumeclaim "${claim}" not found`,
  deleting: (claim: string) => `persistentvolumeclaim "${claim}" is being deleted`,
  volumeNotFound: (volume: string) => `persistentvolume "${volume}" not found`,
} as const;

/** What the scheduler knows about storage (from its informers). */
export interface StorageView {
  claim(namespace: string, name: string): PersistentVolumeClaim | undefined;
  volume(name: string): PersistentVolume | undefined;
  volumes(): readonly PersistentVolume[];
  classes(): readonly StorageClass[];
}

export type PodVolumes =
  /** The pod can run nowhere until something changes (the message says what). */
  | { readonly kind: 'unresolvable'; readonly message: string }
  | {
      readonly kind: 'check';
      /** Volumes of the pod's bound claims that are pinned to nodes or zones. */
      readonly pinned: readonly PersistentVolume[];
      /** Unbound claims waiting for this pod to pick their node. */
      readonly delayed: readonly PersistentVolumeClaim[];
    };

const noVolumes: PodVolumes = { kind: 'check', pinned: [], delayed: [] };

export function podVolumes(pod: Pod, storage: StorageView | undefined): PodVolumes {
  const names = (pod.spec.volumes ?? []).flatMap((v) =>
    v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : [],
  );
  if (names.length === 0 || storage === undefined) return noVolumes;
  const pinned: PersistentVolume[] = [];
  const delayed: PersistentVolumeClaim[] = [];
  const namespace = pod.metadata.namespace ?? 'default';
  for (const name of names) {
    const claim = storage.claim(namespace, name);
    if (claim === undefined) return { kind: 'unresolvable', message: volumeReasons.notFound(name) };
    if (claim.metadata.deletionTimestamp) return { kind: 'unresolvable', message: volumeReasons.deleting(name) };
    if (claim.spec.volumeName) {
      const pv = storage.volume(claim.spec.volumeName);
      if (pv === undefined)
        return { kind: 'unresolvable', message: volumeReasons.volumeNotFound(claim.spec.volumeName) };
      if (pv.spec.nodeAffinity !== undefined || zoneLabelsOf(pv).length > 0) pinned.push(pv);
      continue;
    }
    const storageClass = storage.classes().find((c) => c.metadata.name === claimClassName(claim));
    if (storageClass?.volumeBindingMode !== 'WaitForFirstConsumer')
      return { kind: 'unresolvable', message: volumeReasons.unboundImmediate };
    delayed.push(claim);
  }
  return { kind: 'check', pinned, delayed };
}

const zoneKeys = [
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
];

/** The zone and region labels of a volume, each with the values it allows. */
function zoneLabelsOf(pv: PersistentVolume): [string, string[]][] {
  const labels = pv.metadata.labels ?? {};
  return zoneKeys.filter((key) => labels[key] !== undefined).map((key) => [key, labels[key]!.split('__')]);
}

function zoneAdmits(pv: PersistentVolume, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  return zoneLabelsOf(pv).every(([key, values]) => labels[key] !== undefined && values.includes(labels[key]));
}

/** Bytes of local-path volumes pinned to the node (what its folders may take). */
function localPathBytesOn(node: Node, volumes: readonly PersistentVolume[]): number {
  const name = node.metadata.name;
  let sum = 0;
  for (const pv of volumes) {
    if (pv.metadata.annotations?.[provisionedByAnnotation] !== localPathProvisioner) continue;
    const pinnedHere = pv.spec.nodeAffinity?.required?.nodeSelectorTerms?.some((term) =>
      term.matchExpressions?.some(
        (r) => r.key === hostnameLabel && r.operator === 'In' && r.values?.includes(name ?? ''),
      ),
    );
    if (pinnedHere) sum += storageBytes(pv.spec.capacity?.storage);
  }
  return sum;
}

function classAdmitsNode(storageClass: StorageClass, node: Node): boolean {
  const topologies = storageClass.allowedTopologies ?? [];
  if (topologies.length === 0) return true;
  const labels = node.metadata.labels ?? {};
  return topologies.some((t) =>
    (t.matchLabelExpressions ?? []).every((e) => e.values.includes(labels[e.key] ?? '\u0000')),
  );
}

/** The reasons the node cannot hold the pod's volumes; empty when it can. */
export function volumeRefusal(
  volumes: PodVolumes,
  node: Node,
  storage: StorageView | undefined,
  allocatable: Amounts,
): string[] {
  if (volumes.kind !== 'check') return [];
  if (volumes.pinned.some((pv) => !volumeFitsNode(pv, node))) return [volumeReasons.conflict];
  if (volumes.pinned.some((pv) => !zoneAdmits(pv, node))) return [volumeReasons.zone];
  if (volumes.delayed.length === 0 || storage === undefined) return [];
  let provisionedBytes = 0;
  for (const claim of volumes.delayed) {
    if (volumeForClaim(claim, storage.volumes(), node) !== undefined) continue;
    const storageClass = storage.classes().find((c) => c.metadata.name === claimClassName(claim));
    if (storageClass === undefined || storageClass.provisioner === 'kubernetes.io/no-provisioner')
      return [volumeReasons.noVolume];
    if (!classAdmitsNode(storageClass, node)) return [volumeReasons.noVolume];
    if (storageClass.provisioner === localPathProvisioner) provisionedBytes += requestedBytes(claim);
  }
  if (provisionedBytes > 0) {
    const room = allocatable.get('ephemeral-storage');
    if (room !== undefined && room > 0 && localPathBytesOn(node, storage.volumes()) + provisionedBytes > room)
      return [volumeReasons.noRoom];
  }
  return [];
}
