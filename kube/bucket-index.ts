/**
 * Objects grouped by a value computed from each (its namespace, its controller, its node), kept
 * current as objects are stored, changed and removed, so that one group is read without a scan
 * of them all. An object whose value is undefined is in no group.
 */
export class BucketIndex<T> {
  readonly #bucketOf: (object: T) => string | undefined;
  /** bucket -> key -> object */
  readonly #buckets = new Map<string, Map<string, T>>();

  constructor(bucketOf: (object: T) => string | undefined) {
    this.#bucketOf = bucketOf;
  }

  /** Records that the object under `key` went from `before` to `after` (undefined: absent). */
  update(key: string, before: T | undefined, after: T | undefined): void {
    const from = before === undefined ? undefined : this.#bucketOf(before);
    const to = after === undefined ? undefined : this.#bucketOf(after);
    if (from !== undefined && from !== to) {
      const bucket = this.#buckets.get(from);
      bucket?.delete(key);
      if (bucket?.size === 0) this.#buckets.delete(from);
    }
    if (to === undefined) return;
    let bucket = this.#buckets.get(to);
    if (bucket === undefined) this.#buckets.set(to, (bucket = new Map()));
    bucket.set(key, after!);
  }

  /** The objects in `bucket`. */
  get(bucket: string): T[] {
    return [...(this.#buckets.get(bucket)?.values() ?? [])];
  }

  clear(): void {
    this.#buckets.clear();
  }
}
