/**
 * One shared instance per text for the strings of decoded objects that a cache keeps. JSON.parse
 * makes a new string for every value it reads, so 30,000 cached pods hold 30,000 copies of
 * "Running", "True", their image name, their node's name and their timestamps: about a sixth of a
 * decoded pod. Replacing each value by the pool's instance of the same text changes nothing a
 * reader can see (strings are immutable and compare by content) and lets the copies go.
 *
 * The pool is bounded: once it holds `capacity` texts it starts over empty, so texts that occur
 * once (names, UIDs) cannot make it grow without end. Values pooled before a restart stay shared
 * among the objects that got them.
 */

/** Longer texts (certificates, scripts, serialised JSON) are rarely repeated and are left alone. */
const longestPooled = 128;

/** Keys whose values are unique to one object (or one version of it): pooling them only fills the pool. */
const uniqueKeys = new Set(['uid', 'resourceVersion']);

export class TextPool {
  readonly #texts = new Map<string, string>();
  readonly #capacity: number;

  constructor(capacity = 65_536) {
    this.#capacity = capacity;
  }

  /** The pool's instance of `text` (which becomes it when the pool has none). */
  text(text: string): string {
    if (text.length > longestPooled) return text;
    const pooled = this.#texts.get(text);
    if (pooled !== undefined) return pooled;
    if (this.#texts.size >= this.#capacity) this.#texts.clear();
    this.#texts.set(text, text);
    return text;
  }

  /**
   * Replaces, in place, every string value held in `value` (JSON data: no cycles) by the pool's
   * instance. Frozen objects and arrays are left as they are (they may be shared, and cannot change).
   */
  shareTexts<T>(value: T): T {
    if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item === 'string') value[i] = this.text(item);
        else this.shareTexts(item);
      }
      return value;
    }
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const field = record[key];
      if (typeof field === 'string') {
        if (!uniqueKeys.has(key)) record[key] = this.text(field);
      } else this.shareTexts(field);
    }
    return value;
  }

  /** How many texts the pool holds (for tests). */
  get size(): number {
    return this.#texts.size;
  }
}
