/**
 * Validation ratcheting (upstream's CRDValidationRatcheting, on by default since 1.30): an update
 * may keep a value that the schema no longer allows, as long as it does not change it, so that
 * tightening a schema does not lock every old object against unrelated edits. Errors at paths whose
 * value is the same as in the stored object are dropped; CEL rules are skipped where the value
 * they judge is unchanged (transition rules, which compare with oldSelf, always run).
 */
import type { StatusCause } from '../../kube/types.ts';
import { isPlainRecord } from './schema-types.ts';

export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  if (isPlainRecord(a) && isPlainRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && sameValue(a[k], b[k]));
  }
  return false;
}

/** The value at a field path as errors name it (`spec.copies[0].keep`, `spec.labels[key]`). */
function valueAtFieldPath(root: unknown, path: string): unknown {
  let at: unknown = root;
  for (const [, field, index] of path.matchAll(/([^.[\]]+)|\[([^\]]*)\]/g)) {
    const step = field ?? index ?? '';
    if (Array.isArray(at) && /^\d+$/.test(step)) at = at[Number(step)];
    else if (isPlainRecord(at)) at = at[step];
    else return undefined;
  }
  return at;
}

/** The causes an update must still answer for: those whose value it changed. */
export function ratchet(causes: readonly StatusCause[], object: unknown, old: unknown): StatusCause[] {
  return causes.filter((cause) => {
    const field = cause.field ?? '';
    return !sameValue(valueAtFieldPath(object, field), valueAtFieldPath(old, field));
  });
}
