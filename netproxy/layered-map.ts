/**
 * A map that a render can change without changing the one it came from: each version keeps its
 * own changes over a read-only parent, so a partial render that touches a few ports of 10,000
 * copies a few entries instead of 10,000. After `maxDepth` versions the chain is folded into one
 * plain map, which bounds a lookup to `maxDepth` map reads and lets old versions be collected.
 */
const removed: unique symbol = Symbol('removed');

export class LayeredMap<K, V> {
  readonly #parent: LayeredMap<K, V> | undefined;
  readonly #own: Map<K, V | typeof removed>;
  readonly #depth: number;

  private constructor(parent: LayeredMap<K, V> | undefined, own: Map<K, V | typeof removed>, depth: number) {
    this.#parent = parent;
    this.#own = own;
    this.#depth = depth;
  }

  static empty<K, V>(): LayeredMap<K, V> {
    return new LayeredMap<K, V>(undefined, new Map(), 0);
  }

  /** A new version over this one; changes to it never show in this one. */
  next(maxDepth = 32): LayeredMap<K, V> {
    if (this.#depth < maxDepth) return new LayeredMap(this, new Map(), this.#depth + 1);
    const flat = new Map<K, V | typeof removed>();
    for (const [key, value] of this.entries()) flat.set(key, value);
    return new LayeredMap<K, V>(undefined, flat, 0);
  }

  get(key: K): V | undefined {
    for (let layer: LayeredMap<K, V> | undefined = this; layer !== undefined; layer = layer.#parent) {
      const value = layer.#own.get(key);
      if (value === removed) return undefined;
      if (value !== undefined) return value;
    }
    return undefined;
  }

  set(key: K, value: V): void {
    this.#own.set(key, value);
  }

  delete(key: K): void {
    if (this.#parent === undefined) this.#own.delete(key);
    else this.#own.set(key, removed);
  }

  /** Every live entry, newest version winning (used when folding). */
  *entries(): Generator<[K, V]> {
    const seen = new Set<K>();
    for (let layer: LayeredMap<K, V> | undefined = this; layer !== undefined; layer = layer.#parent) {
      for (const [key, value] of layer.#own) {
        if (seen.has(key)) continue;
        seen.add(key);
        if (value !== removed) yield [key, value];
      }
    }
  }
}
