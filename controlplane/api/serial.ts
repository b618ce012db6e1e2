/**
 * Runs async sections one after another per key: what admission decides from a read (a free
 * ClusterIP or NodePort) stays true until the write that uses it has landed.
 */
export class SerialSections {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, body: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(body, body);
    const tail = result.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}
