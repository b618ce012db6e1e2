/**
 * Checks on a pod's volumes: baseline refuses hostPath (the node's files), restricted allows only
 * the volume types that carry no node or network storage of their own.
 */
import { joinQuote, pluralize, sortedSet, type PodMetaView, type PodSpecView, type Violation } from './pod-view.ts';

export function hostPathVolumes(_meta: PodMetaView, spec: PodSpecView): Violation | undefined {
  const names = (spec.volumes ?? [])
    .filter((v) => v.hostPath !== undefined && v.hostPath !== null)
    .map((v) => v.name ?? '');
  if (names.length === 0) return undefined;
  return { reason: 'hostPath volumes', detail: `${pluralize('volume', 'volumes', names.length)} ${joinQuote(names)}` };
}

/** The volume sources the restricted level allows. */
const restrictedAllowed = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** Other volume sources of the core API, named in messages; anything else is `unknown`. */
const knownSources = new Set([
  'hostPath',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'nfs',
  'iscsi',
  'glusterfs',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'fc',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'image',
]);

export function restrictedVolumes(_meta: PodMetaView, spec: PodSpecView): Violation | undefined {
  const names: string[] = [];
  const types: string[] = [];
  for (const volume of spec.volumes ?? []) {
    const sources = Object.keys(volume).filter(
      (key) => key !== 'name' && volume[key] !== undefined && volume[key] !== null,
    );
    if (sources.some((source) => restrictedAllowed.has(source))) continue;
    names.push(volume.name ?? '');
    types.push(sources.find((source) => knownSources.has(source)) ?? 'unknown');
  }
  if (names.length === 0) return undefined;
  const listed = sortedSet(types);
  return {
    reason: 'restricted volume types',
    detail: `${pluralize('volume', 'volumes', names.length)} ${joinQuote(names)} ${pluralize('uses', 'use', names.length)} ${pluralize('restricted volume type', 'restricted volume types', listed.length)} ${joinQuote(listed)}`,
  };
}
