/**
 * Moving from client-side to server-side apply without conflicts, as upstream's API server allows:
 * `kubectl apply` records what it applied in the last-applied-configuration annotation, and its
 * fields are owned by the `kubectl-client-side-apply` Update entry. When kubectl's server-side apply
 * (manager `kubectl`) conflicts only on fields that annotation names with the value the object still
 * has, the apply takes them as if forced. Any other conflict is still refused.
 */
import { isPlainObject, type KubeObject } from '../../../kube/types.ts';
import { fieldSet, keyPath, valueAt } from './field-set.ts';

const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

/** Only kubectl's own server-side apply takes over; any other manager opts out by its name. */
export const takesOverClientSideApply = (manager: string): boolean => manager === 'kubectl';

/** Fields (path keys) the annotation sets to the value the live object has now. */
export function fieldsFromLastApplied(live: KubeObject): Set<string> {
  const text = live.metadata.annotations?.[lastAppliedAnnotation];
  if (!text) return new Set();
  let lastApplied: unknown;
  try {
    lastApplied = JSON.parse(text);
  } catch {
    return new Set();
  }
  if (!isPlainObject(lastApplied)) return new Set();
  return new Set(
    [...fieldSet(lastApplied)].filter((key) => {
      const path = keyPath(key);
      return path.at(-1) === '.' || JSON.stringify(valueAt(lastApplied, path)) === JSON.stringify(valueAt(live, path));
    }),
  );
}
