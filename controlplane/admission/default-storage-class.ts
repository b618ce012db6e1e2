/**
 * The DefaultStorageClass admission plugin: a claim created without `storageClassName` gets the
 * cluster's default class, the StorageClass annotated `storageclass.kubernetes.io/is-default-class:
 * "true"` (or its beta form). With several defaults the newest wins, as upstream chooses since 1.28;
 * with none the claim stays without a class. A claim that says `storageClassName: ""` asked for no
 * class and keeps it, as does one still carrying the beta class annotation.
 */
import type { KubeObject } from '../../kube/types.ts';

type Any = Record<string, any>;

const defaultClassAnnotation = 'storageclass.kubernetes.io/is-default-class';
const betaDefaultClassAnnotation = 'storageclass.beta.kubernetes.io/is-default-class';
const betaClaimClassAnnotation = 'volume.beta.kubernetes.io/storage-class';

export function isDefaultClass(storageClass: KubeObject): boolean {
  const annotations = storageClass.metadata.annotations ?? {};
  return annotations[defaultClassAnnotation] === 'true' || annotations[betaDefaultClassAnnotation] === 'true';
}

/** The default class among `classes`: the newest, then by name; undefined when none is marked. */
export function defaultClassOf(classes: readonly KubeObject[]): KubeObject | undefined {
  return classes
    .filter(isDefaultClass)
    .sort(
      (a, b) =>
        (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') ||
        (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
    )[0];
}

/** Fills the claim's class in place when it has none. */
export function setDefaultStorageClass(claim: Any, classes: readonly KubeObject[]): void {
  if (claim.spec?.storageClassName !== undefined && claim.spec?.storageClassName !== null) return;
  if (claim.metadata?.annotations?.[betaClaimClassAnnotation] !== undefined) return;
  const chosen = defaultClassOf(classes);
  if (chosen === undefined) return;
  claim.spec ??= {};
  claim.spec.storageClassName = chosen.metadata.name;
}
