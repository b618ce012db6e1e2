/**
 * Turns one resource's values into what is stored and back, with that resource's providers: the
 * first provider (its first key) writes; a stored value is read by the provider whose prefix it
 * starts with, so values written with an older key stay readable while a rotation is under way.
 * A value without the `k8s:enc:` marker is plain, and readable only if `identity` is listed.
 *
 * Encrypted values travel through the Storage contract as binary strings (one char per byte,
 * latin1); the backends store them as raw bytes (storage/binary-values.ts).
 */
import { ciphersOf, encryptedValueMarker, type Cipher } from './ciphers.ts';
import type { ProviderConfig } from './config.ts';

export interface ReadValue {
  readonly value: string;
  /** Read with a provider or key other than the one that writes: rewriting it moves it to the current one. */
  readonly stale: boolean;
}

export class ValueTransformer {
  readonly #ciphers: readonly Cipher[];
  readonly #readsPlain: boolean;

  constructor(providers: readonly ProviderConfig[]) {
    this.#ciphers = providers.flatMap(ciphersOf);
    this.#readsPlain = providers.some((p) => p.kind === 'identity');
  }

  toStorage(value: string, storageKey: string): string {
    const writer = this.#ciphers[0]!;
    if (writer.prefix.length === 0) return value;
    return Buffer.concat([writer.prefix, writer.seal(Buffer.from(value, 'utf8'), storageKey)]).toString('latin1');
  }

  /** Throws (with a message that names no secret) when no provider can read the value. */
  fromStorage(stored: string, storageKey: string): ReadValue {
    const writer = this.#ciphers[0]!;
    if (!stored.startsWith(encryptedValueMarker)) {
      if (this.#readsPlain) return { value: stored, stale: writer.prefix.length !== 0 };
      throw new Error('no matching prefix found');
    }
    const bytes = Buffer.from(stored, 'latin1');
    for (const cipher of this.#ciphers) {
      if (cipher.prefix.length === 0 || !bytes.subarray(0, cipher.prefix.length).equals(cipher.prefix)) continue;
      try {
        return {
          value: cipher.open(bytes.subarray(cipher.prefix.length), storageKey).toString('utf8'),
          stale: cipher !== writer,
        };
      } catch (err) {
        throw new Error(`${cipher.prefix.toString()} could not decrypt the value: ${(err as Error).message}`);
      }
    }
    throw new Error('no matching prefix found');
  }
}
