/**
 * How a frozen cache keeps its objects small: the field sets of metadata.managedFields (about half
 * of a decoded pod, and the same for every replica of a template written by the same manager) are
 * held once, as one frozen object shared by every object that has them, and every string value
 * is the one instance of its text that a pool keeps (text-pool.ts). Both replace values by equal
 * ones, so a reader sees exactly what was decoded; the object and everything in it are then
 * frozen, so that no reader can change what the others (and the objects sharing a field set) read.
 */
import { TextPool } from '../../kube/text-pool.ts';
import type { KubeObject } from '../../kube/types.ts';

/** Distinct field sets kept before the pool starts over (templates × managers × subresources). */
const fieldSetCapacity = 4096;

/** Freezes `value` and everything it holds (JSON data: no cycles). */
function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const inner of Object.values(value)) deepFreeze(inner);
}

export class FrozenForms {
  readonly #texts = new TextPool();
  /** A field set's JSON -> the frozen field set every object with that JSON holds. */
  readonly #fieldSets = new Map<string, unknown>();

  /** Shares what `object` has in common with the objects frozen before it, then freezes it through and through. */
  freeze(object: KubeObject): void {
    if (Object.isFrozen(object)) return;
    const managedFields = object.metadata?.managedFields;
    if (Array.isArray(managedFields))
      for (const entry of managedFields) {
        if (entry === null || typeof entry !== 'object' || Object.isFrozen(entry)) continue;
        const fieldSet = (entry as { fieldsV1?: unknown }).fieldsV1;
        if (fieldSet !== null && typeof fieldSet === 'object')
          (entry as { fieldsV1?: unknown }).fieldsV1 = this.#sharedFieldSet(fieldSet);
      }
    this.#texts.shareTexts(object);
    deepFreeze(object);
  }

  #sharedFieldSet(fieldSet: object): unknown {
    const json = JSON.stringify(fieldSet);
    const shared = this.#fieldSets.get(json);
    if (shared !== undefined) return shared;
    if (this.#fieldSets.size >= fieldSetCapacity) this.#fieldSets.clear();
    // field sets are keys and empty objects: nothing in them is worth pooling as text
    deepFreeze(fieldSet);
    this.#fieldSets.set(json, fieldSet);
    return fieldSet;
  }
}
