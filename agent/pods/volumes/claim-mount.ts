/**
 * Where a pod's persistentVolumeClaim volume lives on this node, as the kubelet resolves it: the
 * claim must exist, not be going away and be Bound; its PersistentVolume must exist, admit this
 * node, and be a `local` or `hostPath` volume (the kinds a node can mount by itself). The folder:
 *  - of a volume the built-in local-path provisioner made: exactly `<--local-path-root>/<pv name>`,
 *    the PV's name checked as one folder name (nothing leads outside the root, whatever the names);
 *  - of any other PV: the path it names, if it lies in --local-path-root or is allowed as a
 *    hostPath on this node (the operator's --allowed-host-paths), never the agent's own state.
 * Pure; a refusal carries the kubelet's words (FailedMount events show them).
 */
import { isAbsolute, join, sep } from 'node:path';
import type { Node, Pod, Volume } from '../../../kube/corev1.ts';
import {
  hostnameLabel,
  localPathProvisioner,
  provisionedByAnnotation,
  type PersistentVolume,
  type PersistentVolumeClaim,
} from '../../../kube/storagev1.ts';
import { requirePathPart } from '../path-parts.ts';
import { parseQuantity } from '../../../kube/quantity.ts';

export interface ClaimMount {
  readonly volume: string;
  readonly claim: string;
  readonly pvName: string;
  /** The folder on this node. */
  readonly path: string;
  /** The claim volume says readOnly, or the PV offers only ReadOnlyMany. */
  readonly readOnly: boolean;
  /** The folder was made by the local-path provisioner (it lies in --local-path-root). */
  readonly localPath: boolean;
  /** The PV's volume source. */
  readonly kind: 'local' | 'hostPath';
  /** The PV's capacity in bytes (what the claim was given). */
  readonly capacityBytes: number;
  readonly namespace: string;
}

class ClaimMountError extends Error {}

export interface ClaimMountSettings {
  readonly nodeName: string;
  readonly localPathRoot: string;
  /** Whether a path outside --local-path-root may be mounted (the hostPath policy of the node). */
  readonly hostPathAllowed: (path: string) => string | undefined;
}

function within(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Where the provisioner keeps the volume `pvName` (the name checked as one folder name). */
export function localPathFolder(localPathRoot: string, pvName: string): string {
  return join(localPathRoot, requirePathPart('persistent volume name', pvName));
}

/** Whether the PV's node affinity admits the node called `nodeName` (with only its hostname label known). */
function admitsNode(pv: PersistentVolume, node: Pick<Node, 'metadata'>): boolean {
  const terms = pv.spec.nodeAffinity?.required?.nodeSelectorTerms;
  if (terms === undefined) return true;
  const labels = node.metadata.labels ?? {};
  return terms.some((term) =>
    (term.matchExpressions ?? []).every((r) => {
      const value = labels[r.key];
      if (r.operator === 'In') return value !== undefined && (r.values ?? []).includes(value);
      if (r.operator === 'NotIn') return value === undefined || !(r.values ?? []).includes(value);
      if (r.operator === 'Exists') return value !== undefined;
      if (r.operator === 'DoesNotExist') return value === undefined;
      return false;
    }),
  );
}

function capacityOf(pv: PersistentVolume): number {
  try {
    return parseQuantity(pv.spec.capacity?.storage ?? 0);
  } catch {
    return 0;
  }
}

/** The claims the pod's volumes name, in order. */
export function claimVolumes(pod: Pod): Volume[] {
  return (pod.spec.volumes ?? []).filter((v) => v.persistentVolumeClaim !== undefined);
}

export function resolveClaimMount(
  pod: Pod,
  volume: Volume,
  claim: PersistentVolumeClaim | undefined,
  pv: PersistentVolume | undefined,
  settings: ClaimMountSettings,
  nodeLabels: Record<string, string> = { [hostnameLabel]: settings.nodeName },
): ClaimMount {
  const namespace = pod.metadata.namespace ?? 'default';
  const claimName = volume.persistentVolumeClaim!.claimName;
  const fail = (why: string): never => {
    throw new ClaimMountError(`error processing PVC ${namespace}/${claimName}: ${why}`);
  };
  if (claim === undefined)
    return fail(`failed to fetch PVC from API server: persistentvolumeclaims "${claimName}" not found`);
  if (claim.metadata.deletionTimestamp)
    return fail(`can't start pod because PVC ${namespace}/${claimName} is being deleted`);
  const pvName = claim.spec.volumeName ?? '';
  if (claim.status?.phase !== 'Bound' || pvName === '') return fail('PVC is not bound');
  if (pv === undefined)
    return fail(`failed to fetch PV "${pvName}" from API server: persistentvolumes "${pvName}" not found`);
  if (pv.spec.claimRef?.uid && pv.spec.claimRef.uid !== claim.metadata.uid)
    return fail(`PV "${pvName}" is bound to another claim`);
  if (!admitsNode(pv, { metadata: { name: settings.nodeName, labels: nodeLabels } }))
    return fail(`PV "${pvName}" has a node affinity that does not admit node "${settings.nodeName}"`);
  const readOnly =
    volume.persistentVolumeClaim!.readOnly === true ||
    ((pv.spec.accessModes ?? []).length > 0 && (pv.spec.accessModes ?? []).every((m) => m === 'ReadOnlyMany'));
  const source = pv.spec.local?.path ?? pv.spec.hostPath?.path;
  const kind = pv.spec.local !== undefined ? 'local' : 'hostPath';
  const facts = { kind, namespace, capacityBytes: capacityOf(pv) } as const;
  if (source === undefined)
    return fail(`PV "${pvName}" is neither a local nor a hostPath volume, which this node cannot mount`);
  if (pv.metadata.annotations?.[provisionedByAnnotation] === localPathProvisioner) {
    let folder: string;
    try {
      folder = localPathFolder(settings.localPathRoot, pvName);
    } catch (err) {
      return fail((err as Error).message);
    }
    if (source !== folder)
      return fail(`PV "${pvName}" names ${source}, not its folder ${folder} under --local-path-root`);
    return { volume: volume.name, claim: claimName, pvName, path: folder, readOnly, localPath: true, ...facts };
  }
  if (!isAbsolute(source) || source.split('/').includes('..'))
    return fail(`PV "${pvName}" path ${source} must be absolute without '..'`);
  if (within(settings.localPathRoot, source) && source !== settings.localPathRoot)
    return { volume: volume.name, claim: claimName, pvName, path: source, readOnly, localPath: true, ...facts };
  const problem = settings.hostPathAllowed(source);
  if (problem !== undefined) return fail(`PV "${pvName}": ${problem}`);
  return { volume: volume.name, claim: claimName, pvName, path: source, readOnly, localPath: false, ...facts };
}
