/**
 * The one layer between the registry and a datastore that encrypts at rest: a Storage that
 * encrypts values of the configured resources on every write and decrypts them on every read,
 * list and watch event. Everything above it (registry, object cache, watch hub) sees plain JSON,
 * in memory only; everything below it (sqlite rows, etcd keys) sees the encrypted envelope.
 */
import { ApiError } from '../../kube/errors.ts';
import type {
  Change,
  KeyValue,
  ListOptions,
  ListResult,
  Storage,
  WatchCallbacks,
  WatchHandle,
} from '../storage/store.ts';
import type { ReadValue, ValueTransformer } from './value-transformer.ts';

/** Which transformer applies to a storage key; undefined: the value is stored as it is. */
export type TransformerForKey = (key: string) => ValueTransformer | undefined;

export class EncryptingStorage implements Storage {
  readonly #inner: Storage;
  readonly #transformerFor: TransformerForKey;

  constructor(inner: Storage, transformerFor: TransformerForKey) {
    this.#inner = inner;
    this.#transformerFor = transformerFor;
  }

  get backend(): Storage['backend'] {
    return this.#inner.backend;
  }

  #write(key: string, value: string): string {
    return this.#transformerFor(key)?.toStorage(value, key) ?? value;
  }

  #read(key: string, stored: string): ReadValue {
    const transformer = this.#transformerFor(key);
    if (transformer === undefined) return { value: stored, stale: false };
    try {
      return transformer.fromStorage(stored, key);
    } catch (err) {
      throw new ApiError(
        'InternalError',
        `Internal error occurred: unable to transform key "${key}": ${(err as Error).message}`,
      );
    }
  }

  #readKv(kv: KeyValue): KeyValue {
    const { value, stale } = this.#read(kv.key, kv.value);
    return { ...kv, value, ...(stale ? { stale } : {}) };
  }

  /** The caller's value back, not a decryption of what was stored. */
  #written(kv: KeyValue, value: string): KeyValue {
    return { ...kv, value };
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const kv = await this.#inner.get(key);
    return kv === undefined ? undefined : this.#readKv(kv);
  }

  async list(prefix: string, options?: ListOptions): Promise<ListResult> {
    const result = await this.#inner.list(prefix, options);
    return { ...result, items: result.items.map((kv) => this.#readKv(kv)) };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    return this.#written(await this.#inner.create(key, this.#write(key, value)), value);
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.#written(await this.#inner.update(key, this.#write(key, value), expectedModRevision), value);
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.#readKv(await this.#inner.delete(key, expectedModRevision));
  }

  watch(prefix: string, fromRevision: number, callbacks: WatchCallbacks): Promise<WatchHandle> {
    return this.#inner.watch(prefix, fromRevision, {
      onChange: (change) => {
        let plain: Change;
        try {
          plain = {
            ...change,
            value: change.value === '' ? '' : this.#read(change.key, change.value).value,
            ...(change.prevValue !== undefined ? { prevValue: this.#read(change.key, change.prevValue).value } : {}),
          };
        } catch (err) {
          callbacks.onError(err as Error);
          return;
        }
        callbacks.onChange(plain);
      },
      onError: (err) => callbacks.onError(err),
    });
  }

  compact(revision: number): Promise<void> {
    return this.#inner.compact(revision);
  }

  currentRevision(): Promise<number> {
    return this.#inner.currentRevision();
  }

  compactedRevision(): Promise<number> {
    return this.#inner.compactedRevision();
  }

  get deliveredRevision(): (() => number) | undefined {
    const inner = this.#inner;
    return inner.deliveredRevision ? () => inner.deliveredRevision!() : undefined;
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
