/**
 * One datastore key per allocated ClusterIP and per allocated NodePort, created with the store's
 * create-if-absent (a compare-and-swap on "no key"): of two servers that pick the same value at the
 * same moment, exactly one create succeeds and the other picks again. This is upstream's
 * one-object-per-IP allocator (IPAddress objects, KEP-1880) applied to ports as well; each claim
 * names the Service that holds it, so a claim whose Service is gone can be found and freed.
 *
 * Keys: /registry/bosun.io/serviceips/<ip> and /registry/bosun.io/servicenodeports/<port>.
 */
import { isStorageError } from '../errors.ts';
import type { Storage } from '../storage/store.ts';

export type ClaimKind = 'ip' | 'nodePort';

export interface ClaimOwner {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export interface Claim {
  readonly kind: ClaimKind;
  readonly value: string;
  readonly owner: ClaimOwner;
  readonly modRevision: number;
}

const prefixes: Record<ClaimKind, string> = {
  ip: '/registry/bosun.io/serviceips/',
  nodePort: '/registry/bosun.io/servicenodeports/',
};

function encode(owner: ClaimOwner): string {
  return JSON.stringify({ owner: { namespace: owner.namespace, name: owner.name, uid: owner.uid } });
}

function decode(kind: ClaimKind, key: string, value: string, modRevision: number): Claim | undefined {
  try {
    const owner = (JSON.parse(value) as { owner?: ClaimOwner }).owner;
    if (typeof owner?.uid !== 'string') return undefined;
    return { kind, value: key.slice(prefixes[kind].length), owner, modRevision };
  } catch {
    return undefined;
  }
}

export class ClaimStore {
  readonly #storage: Storage;

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  /**
   * Claims `value` for `owner`: 'created' when this call took it, 'held' when the owner already
   * had it, 'taken' when another Service holds it.
   */
  async claim(kind: ClaimKind, value: string, owner: ClaimOwner): Promise<'created' | 'held' | 'taken'> {
    const key = prefixes[kind] + value;
    for (;;) {
      try {
        await this.#storage.create(key, encode(owner));
        return 'created';
      } catch (err) {
        if (!isStorageError(err, 'BOSUN_STORAGE_KEY_EXISTS')) throw err;
      }
      const current = await this.#storage.get(key);
      // released between the create and the read: try again
      if (current !== undefined)
        return decode(kind, key, current.value, current.modRevision)?.owner.uid === owner.uid ? 'held' : 'taken';
    }
  }

  /** Frees `value` when `ownerUid` still holds it (never another Service's claim). */
  async release(kind: ClaimKind, value: string, ownerUid: string): Promise<void> {
    const key = prefixes[kind] + value;
    const current = await this.#storage.get(key);
    if (current === undefined) return;
    if (decode(kind, key, current.value, current.modRevision)?.owner.uid !== ownerUid) return;
    try {
      await this.#storage.delete(key, current.modRevision);
    } catch (err) {
      // changed or gone since it was read: then it is not this owner's to free any more
      if (!isStorageError(err, 'BOSUN_STORAGE_CONFLICT') && !isStorageError(err, 'BOSUN_STORAGE_NOT_FOUND')) throw err;
    }
  }

  /** Frees a claim found leaked, only if it is still exactly as it was seen (its revision). */
  async releaseSeen(claim: Claim): Promise<void> {
    try {
      await this.#storage.delete(prefixes[claim.kind] + claim.value, claim.modRevision);
    } catch (err) {
      if (!isStorageError(err, 'BOSUN_STORAGE_CONFLICT') && !isStorageError(err, 'BOSUN_STORAGE_NOT_FOUND')) throw err;
    }
  }

  async list(kind: ClaimKind): Promise<Claim[]> {
    const claims: Claim[] = [];
    let afterKey: string | undefined;
    for (;;) {
      const page = await this.#storage.list(prefixes[kind], { limit: 1000, ...(afterKey ? { afterKey } : {}) });
      for (const kv of page.items) {
        const claim = decode(kind, kv.key, kv.value, kv.modRevision);
        if (claim !== undefined) claims.push(claim);
      }
      if (!page.more || page.items.length === 0) return claims;
      afterKey = page.items.at(-1)!.key;
    }
  }
}
