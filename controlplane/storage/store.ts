/**
 * The datastore seam of the API server. Both backends (embedded SQLite, etcd) implement this
 * contract and pass the same test suite (test/controlplane/storage-suite.ts, run by
 * test/controlplane/storage/sqlite.test.ts and etcd.test.ts).
 *
 * Contract:
 *  - Every successful write takes the next value of one global, strictly increasing revision.
 *    An object's resourceVersion is the revision of its last write (its modRevision).
 *  - A write resolves only once it is durable: a crash right after the promise resolves loses nothing.
 *  - watch(prefix, from) delivers every change to keys under prefix with revision > from, in
 *    revision order, without gaps; if the history back to `from` was compacted it fails with
 *    StorageError code 'BOSUN_STORAGE_COMPACTED'.
 *  - Values are opaque strings (the API server stores JSON).
 */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** Revision of the write that created this key (its current life). */
  readonly createRevision: number;
  /** Revision of the last write to this key. */
  readonly modRevision: number;
  /**
   * Set by encryption at rest when the value was read with a key other than the one that writes:
   * an update that changes nothing still rewrites it, so a rotation can re-encrypt everything.
   */
  readonly stale?: boolean;
}

export interface ListOptions {
  /** Only keys strictly greater than this one (for paging). */
  readonly afterKey?: string;
  /** Only keys at or after this one (a continue token's start key). */
  readonly fromKey?: string;
  /** At most this many items; `more` says whether there were others. 0 or absent: no limit. */
  readonly limit?: number;
  /**
   * Read the keys as they were at this revision (a snapshot, for paging through one consistent
   * state). Fails with 'BOSUN_STORAGE_COMPACTED' when the history back to it is gone, 'BOSUN_STORAGE_FUTURE_REVISION' when the
   * store has not reached it. Absent: the newest state.
   */
  readonly atRevision?: number;
}

export interface ListResult {
  readonly items: readonly KeyValue[];
  /** The revision the list shows: `atRevision` when given, else the store's revision when read. */
  readonly revision: number;
  readonly more: boolean;
  /** How many keys under the prefix follow the returned ones (at the same revision). */
  readonly remaining: number;
}

type ChangeType = 'put' | 'delete';

export interface Change {
  readonly type: ChangeType;
  readonly key: string;
  /** For 'put' the new value; for 'delete' the value the key had before it was deleted. */
  readonly value: string;
  readonly revision: number;
  /** For 'put': whether this write created the key. */
  readonly created: boolean;
  /** For a 'put' that updated the key: the value it had before (so watchers can tell what changed). */
  readonly prevValue?: string;
}

export interface WatchHandle {
  /** Stops delivery; safe to call twice. */
  cancel(): void;
}

export interface WatchCallbacks {
  onChange(change: Change): void;
  /** The watch ended without being cancelled (backend lost, history compacted under it). */
  onError(err: Error): void;
}

export interface Storage {
  /** Which backend this is, for logs and benchmarks. */
  readonly backend: 'sqlite' | 'etcd';
  get(key: string): Promise<KeyValue | undefined>;
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /** Fails with 'BOSUN_STORAGE_KEY_EXISTS' when the key is there. */
  create(key: string, value: string): Promise<KeyValue>;
  /** Fails with 'BOSUN_STORAGE_NOT_FOUND', or 'BOSUN_STORAGE_CONFLICT' when modRevision no longer equals expectedModRevision. */
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;
  /**
   * Removes the key. With expectedModRevision it fails with 'BOSUN_STORAGE_CONFLICT' when the key changed since.
   * Resolves to the deleted value, with modRevision set to the revision of the deletion.
   */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
  /** Starts delivering changes after `fromRevision`; resolves once the watch is in place. */
  watch(prefix: string, fromRevision: number, callbacks: WatchCallbacks): Promise<WatchHandle>;
  /** Drops history at and below `revision`; watches from there get 'BOSUN_STORAGE_COMPACTED'. */
  compact(revision: number): Promise<void>;
  currentRevision(): Promise<number>;
  /** Oldest revision a watch may still start from. */
  compactedRevision(): Promise<number>;
  /**
   * Optional: a revision such that every change at or below it has already been handed to every
   * watch's onChange, when asked from a timer callback. Lets quiet watches get bookmarks that keep
   * up with the store, so they can resume after compaction instead of relisting. A layer over
   * another store holds `undefined` here when the store below has none.
   */
  readonly deliveredRevision?: (() => number) | undefined;
  close(): Promise<void>;
}
