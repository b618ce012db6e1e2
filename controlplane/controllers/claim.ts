/**
 * Which dependents belong to a controller, by upstream's claiming rules: its own dependents that
 * still match its selector; matching orphans, which it adopts (a controller ownerReference is
 * added); owned dependents that stopped matching are released. Dependents controlled by someone
 * else are never touched, and a controller being deleted adopts and releases nothing.
 */
import type { Pod } from '../../kube/corev1.ts';
import { matchesLabels, selectorFromObject, type LabelSelectorObject } from '../../kube/labels.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Action } from './actions.ts';
import type { ResourceName } from './client.ts';
import { controllerOf, controllerReference } from './pods.ts';

/** Any controller that selects pods by labels. */
type SelectingOwner = KubeObject & { spec: { selector?: LabelSelectorObject } };

interface ClaimResult<T> {
  readonly owned: T[];
  readonly actions: Action[];
}

export function claimPods(owner: SelectingOwner, pods: readonly Pod[]): ClaimResult<Pod> {
  return claim(owner, pods, 'pods');
}

/** The same claiming rules for any kind of dependent (Deployments claim ReplicaSets). */
export function claim<T extends KubeObject>(
  owner: SelectingOwner,
  candidates: readonly T[],
  resource: ResourceName,
): ClaimResult<T> {
  const selector = selectorFromObject(owner.spec.selector);
  // An empty selector would match everything; the API refuses it, and so do we.
  const selects = (pod: T) => selector.length > 0 && matchesLabels(selector, pod.metadata.labels);
  const deleting = owner.metadata.deletionTimestamp !== undefined;
  const owned: T[] = [];
  const actions: Action[] = [];
  for (const candidate of candidates) {
    if (candidate.metadata.namespace !== owner.metadata.namespace) continue;
    const ref = controllerOf(candidate);
    if (ref !== undefined) {
      if (ref.uid !== owner.metadata.uid) continue;
      if (selects(candidate) || deleting) owned.push(candidate);
      else {
        const released = structuredClone(candidate);
        released.metadata.ownerReferences = (candidate.metadata.ownerReferences ?? []).filter(
          (r) => r.uid !== owner.metadata.uid,
        );
        actions.push({ kind: 'update', resource, object: released });
      }
      continue;
    }
    if (deleting || candidate.metadata.deletionTimestamp !== undefined || !selects(candidate)) continue;
    const adopted = structuredClone(candidate);
    adopted.metadata.ownerReferences = [...(candidate.metadata.ownerReferences ?? []), controllerReference(owner)];
    actions.push({ kind: 'update', resource, object: adopted });
    owned.push(adopted);
  }
  return { owned, actions };
}
