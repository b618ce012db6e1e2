/**
 * NodeRestriction: what an agent (user system:node:<name> in system:nodes) may write, beyond what
 * the node authorizer lets through by name, as upstream's admission plugin of that name:
 * - its own Node only: no configSource, no taint changes after registration, and no labels it
 *   could use to steer workloads to itself (node-restriction.kubernetes.io/, and any other
 *   kubernetes.io or k8s.io label outside the kubelet's own list) or load-balancer traffic
 *   (bosun.io/lb-pool);
 * - pods: only mirror pods bound to itself, owned by its Node and referring to nothing else in the
 *   API (no service account, secrets, configmaps, claims); status only of pods bound to it, without
 *   touching their labels;
 * - its own Lease in kube-node-lease only;
 * - persistent volumes only as its local-path provisioner makes them: provisioned by
 *   bosun.io/local-path and pinned to itself alone, before and after the write.
 * Refusals are 403 in upstream's words: `nodes "x" is forbidden: node "n" is not allowed to ...`.
 */
import { ApiError } from '../../kube/errors.ts';
import { isKubeletLabel, isKubernetesLabel, labelNamespace, withinNamespace } from '../../kube/node-labels.ts';
import { loadBalancerNames } from '../../kube/load-balancer-names.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { UserInfo } from '../auth/types.ts';
import type { AdmissionRequest } from '../api/registry.ts';
import { referencedNames } from '../auth/node-authorizer.ts';
import { localPathNodeOf, type PersistentVolume } from '../../kube/storagev1.ts';

type Any = Record<string, any>;
const mirrorAnnotation = 'kubernetes.io/config.mirror';
const nodeLeaseNamespace = 'kube-node-lease';

/** Keys added, removed or changed between two label maps. */
export function modifiedLabels(
  next: Record<string, string> | undefined,
  old: Record<string, string> | undefined,
): string[] {
  const a = next ?? {};
  const b = old ?? {};
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]);
}

/** Of the modified keys, those a node may not touch, sorted. */
export function forbiddenNodeLabels(modified: readonly string[]): string[] {
  return modified
    .filter((key) => {
      if (withinNamespace(labelNamespace(key), 'node-restriction.kubernetes.io')) return true;
      // stricter than upstream: a node that put itself into a load-balancer pool would draw the
      // traffic of the pool's Services (and the pool addresses) to itself
      if (key === loadBalancerNames.pool) return true;
      return isKubernetesLabel(key) && !isKubeletLabel(key);
    })
    .sort();
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const sameList = (a: unknown, b: unknown) => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);

/**
 * The pod subnet is the control plane's to hand out (the node IPAM controller), and every node routes
 * each peer's subnet to that peer: a node that could pick its own (or another's) subnet could draw
 * another node's pod traffic to itself. bosun's nodes never set it, so a node may not set or change
 * it; this is stricter than upstream's NodeRestriction, whose kubelets may register with one.
 */
function podCIDRWrite(node: string, o: Any, old: Any | undefined): string | undefined {
  const changed =
    !same(o.spec?.podCIDR || undefined, old?.spec?.podCIDR || undefined) ||
    !sameList(o.spec?.podCIDRs, old?.spec?.podCIDRs);
  return changed ? `node "${node}" is not allowed to set podCIDR: the control plane assigns it` : undefined;
}

/** Why a node may not write this Node (create or update), or undefined. */
function nodeWriteViolation(
  node: string,
  request: Pick<AdmissionRequest, 'operation' | 'subresource' | 'object' | 'old'>,
): string | undefined {
  const o = request.object as Any;
  const name = o.metadata?.name ?? '';
  if (name !== node) return `node "${node}" is not allowed to modify node "${name}"`;
  const podCIDRViolation = podCIDRWrite(node, o, request.operation === 'CREATE' ? undefined : (request.old as Any));
  if (podCIDRViolation !== undefined) return podCIDRViolation;
  if (request.operation === 'CREATE') {
    if (o.spec?.configSource != null) return `node "${node}" is not allowed to create pods with a non-nil configSource`;
    const forbidden = forbiddenNodeLabels(modifiedLabels(o.metadata?.labels, undefined));
    if (forbidden.length > 0)
      return `node "${node}" is not allowed to set the following labels: ${forbidden.join(', ')}`;
    return undefined;
  }
  const old = (request.old ?? { metadata: {} }) as Any;
  if (o.spec?.configSource != null && !same(o.spec.configSource, old.spec?.configSource))
    return `node "${node}" is not allowed to update configSource to a new non-nil configSource`;
  if (!sameList(o.spec?.taints, old.spec?.taints)) return `node "${node}" is not allowed to modify taints`;
  const forbidden = forbiddenNodeLabels(modifiedLabels(o.metadata?.labels, old.metadata?.labels));
  if (forbidden.length > 0) return `is not allowed to modify labels: ${forbidden.join(', ')}`;
  return undefined;
}

/** Why a node may not create this pod, or undefined; `nodeUid` is its Node's uid (undefined: not checked). */
export function mirrorPodViolation(node: string, pod: Any, nodeUid: string | undefined): string | undefined {
  if (pod.metadata?.annotations?.[mirrorAnnotation] === undefined)
    return `pod does not have "${mirrorAnnotation}" annotation, node "${node}" can only create mirror pods`;
  if (pod.spec?.nodeName !== node) return `node "${node}" can only create pods with spec.nodeName set to itself`;
  const owners = (pod.metadata?.ownerReferences ?? []) as Any[];
  if (owners.length > 1) return `node "${node}" can only create pods with a single owner reference set to itself`;
  const owner = owners[0];
  if (owner === undefined || owner.apiVersion !== 'v1' || owner.kind !== 'Node' || owner.name !== node)
    return `node "${node}" can only create pods with an owner reference set to itself`;
  if (owner.controller !== true)
    return `node "${node}" can only create pods with a controller owner reference set to itself`;
  if (owner.blockOwnerDeletion === true) return `node "${node}" must not set blockOwnerDeletion on an owner reference`;
  if (nodeUid !== undefined && owner.uid !== nodeUid)
    return `node ${node} UID mismatch: expected ${owner.uid} got ${nodeUid}`;
  const spec = (pod.spec ?? {}) as Any;
  if (spec.serviceAccountName || spec.serviceAccount)
    return `node "${node}" can not create pods that reference a service account`;
  const asPod = pod as KubeObject;
  if (referencedNames(asPod, 'secrets').size > 0) return `node "${node}" can not create pods that reference secrets`;
  if (referencedNames(asPod, 'configmaps').size > 0)
    return `node "${node}" can not create pods that reference configmaps`;
  const volumes = (spec.volumes ?? []) as Any[];
  if (volumes.some((v) => ((v.projected?.sources ?? []) as Any[]).some((s) => s.clusterTrustBundle != null)))
    return `node "${node}" can not create pods that reference clustertrustbundles`;
  if (volumes.some((v) => v.persistentVolumeClaim != null))
    return `node "${node}" can not create pods that reference persistentvolumeclaims`;
  return undefined;
}

/** Why a node may not write this pod status, or undefined. */
function podStatusViolation(node: string, pod: Any, old: Any | undefined): string | undefined {
  if (old?.spec?.nodeName !== node)
    return `node "${node}" can only update pod status for pods with spec.nodeName set to itself`;
  if (!same(pod.metadata?.labels ?? {}, old.metadata?.labels ?? {}))
    return `node "${node}" cannot update labels through pod status`;
  return undefined;
}

/** Why a node may not write this Lease, or undefined. */
function leaseViolation(node: string, lease: Any): string | undefined {
  if (lease.metadata?.namespace !== nodeLeaseNamespace)
    return `can only access leases in the "${nodeLeaseNamespace}" system namespace`;
  if (lease.metadata?.name !== node) return 'can only access node lease with the same name as the requesting node';
  return undefined;
}

/** Why a node may not write this PersistentVolume, or undefined. */
function volumeWriteViolation(node: string, pv: Any, old: Any | undefined): string | undefined {
  const mine = (o: Any) => localPathNodeOf(o as PersistentVolume) === node;
  if (!mine(pv) || (old !== undefined && !mine(old)))
    return `node "${node}" may only write local-path persistent volumes pinned to itself`;
  return undefined;
}

/** The node a user acts for, or undefined when it is not a node. */
function nodeOf(user: UserInfo | undefined): string | undefined {
  if (!user || !user.groups.includes('system:nodes') || !user.name.startsWith('system:node:')) return undefined;
  return user.name.slice('system:node:'.length);
}

interface NodeRestrictionLookups {
  /** The uid of Node `name`, undefined when it does not exist. */
  nodeUid(name: string): Promise<string | undefined>;
}

export async function nodeRestriction(
  request: AdmissionRequest,
  user: UserInfo | undefined,
  lookups: NodeRestrictionLookups,
): Promise<void> {
  const node = nodeOf(user);
  if (node === undefined) return;
  const { info, object, operation, subresource } = request;
  const o = object as Any;
  const name = o.metadata?.name ?? '';
  const resource = info.group === '' ? info.resource : `${info.resource}.${info.group}`;
  const refuse = (why: string | undefined) => {
    if (why !== undefined)
      throw new ApiError('Forbidden', `${resource} "${name}" is forbidden: ${why}`, {
        name,
        group: info.group,
        kind: info.resource,
      });
  };
  if (node === '') return refuse(`could not determine node from user "${user!.name}"`);
  if (info.group === 'coordination.k8s.io' && info.resource === 'leases') return refuse(leaseViolation(node, o));
  if (info.group !== '') return;
  // the status subresource too: it cannot change labels or taints, but the name must be its own
  if (info.resource === 'nodes') return refuse(nodeWriteViolation(node, request));
  if (info.resource === 'persistentvolumes')
    return refuse(volumeWriteViolation(node, o, request.old as Any | undefined));
  if (info.resource !== 'pods') return;
  if (subresource === 'status') return refuse(podStatusViolation(node, o, request.old as Any | undefined));
  if (subresource !== undefined)
    return refuse(`unexpected pod subresource "${subresource}", only 'status' and 'eviction' are allowed`);
  if (operation !== 'CREATE')
    return refuse(`unexpected operation "${operation}", node "${node}" can only create and delete mirror pods`);
  const uid = await lookups.nodeUid(node);
  let why: string | undefined;
  try {
    why = mirrorPodViolation(node, o, undefined);
  } catch (err) {
    // a pod whose fields have the wrong JSON types (validation refuses it too): never a 500
    if (err instanceof TypeError)
      throw new ApiError('BadRequest', `Pod has a field of an unexpected type: ${err.message}`);
    throw err;
  }
  refuse(why);
  if (uid === undefined) throw new ApiError('NotFound', `nodes "${node}" not found`, { name: node, kind: 'nodes' });
  refuse(mirrorPodViolation(node, o, uid));
}
