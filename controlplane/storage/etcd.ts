/**
 * The etcd datastore, through the `etcd3` client. Objects live under the same keys as the embedded
 * store (`/registry/<resource>/<namespace>/<name>`), so `etcdctl get /registry --prefix --keys-only`
 * shows what a real cluster would. etcd's own revision is the resourceVersion; every conditional
 * write is one etcd transaction on the key's mod/create revision.
 */
import { dropLateWatchResponses } from './etcd-late-watch-responses.ts';
import { Etcd3, type IKeyValue, type Watcher } from 'etcd3';
import { valueFromBytes, valueToBytes } from './binary-values.ts';
import { StorageError } from '../errors.ts';
import { prefixEnd } from './prefix.ts';
import type { KeyValue, ListOptions, ListResult, Storage, WatchCallbacks, WatchHandle } from './store.ts';

/** etcd keeps no record of the last compaction that a client can read, so we keep one. */
const compactedKey = '/bosun/compacted-revision';
/** Unary calls give up after this long, so that a dead etcd turns into a quick 503. */
const callTimeoutMs = 5_000;

function toKeyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString(),
    value: valueFromBytes(kv.value),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
  };
}

function unavailable(err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  // grpc-js appends a second line (a timestamp and an empty resolution note): keep the cause only
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
  if (/compacted/i.test(message)) return new StorageError('BOSUN_STORAGE_COMPACTED', message, { cause: err });
  if (/future revision/i.test(message))
    return new StorageError('BOSUN_STORAGE_FUTURE_REVISION', message, { cause: err });
  return new StorageError('BOSUN_STORAGE_UNAVAILABLE', `etcd: ${message}`, { cause: err });
}

/** grpc-js' words for a call refused by a channel that closed before the call went out. */
function neverStarted(err: unknown): boolean {
  return err instanceof Error && err.message.includes('Channel closed before call started');
}

/** PEM contents for a TLS connection to etcd; a client certificate when etcd runs with --client-cert-auth. */
export interface EtcdClientTls {
  /** The CA that signed etcd's serving certificate (--etcd-cafile). */
  readonly ca: Buffer;
  /** The client certificate and its key (--etcd-certfile, --etcd-keyfile). */
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** The etcd3 client's `credentials` option for these files. */
export function etcdCredentials(tls: EtcdClientTls): {
  rootCertificate: Buffer;
  certChain?: Buffer;
  privateKey?: Buffer;
} {
  return {
    rootCertificate: tls.ca,
    ...(tls.cert ? { certChain: tls.cert } : {}),
    ...(tls.key ? { privateKey: tls.key } : {}),
  };
}

export class EtcdStorage implements Storage {
  readonly backend = 'etcd' as const;
  readonly #client: Etcd3;
  #closed = false;

  constructor(endpoints: readonly string[], tls?: EtcdClientTls) {
    this.#client = new Etcd3({
      hosts: [...endpoints],
      ...(tls ? { credentials: etcdCredentials(tls) } : {}),
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
      // gRPC refuses answers over 4 MiB by default, so a list of more than that (12,000 small
      // ConfigMaps) failed for good; etcd's Go client, which upstream's API server uses, takes any
      grpcOptions: { 'grpc.max_receive_message_length': -1 },
    });
    dropLateWatchResponses(this.#client);
  }

  async #call<T>(body: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) throw new StorageError('BOSUN_STORAGE_UNAVAILABLE', 'the etcd datastore is closed');
      try {
        return await body();
      } catch (err) {
        // the client replaced a connection it gave up on while this call waited for it: the call
        // never reached etcd, so sending it again is safe, writes included
        if (attempt < 3 && neverStarted(err)) continue;
        throw unavailable(err);
      }
    }
  }

  async get(key: string): Promise<KeyValue | undefined> {
    return this.#call(async () => {
      const response = await this.#client.get(key).exec();
      const kv = response.kvs[0];
      return kv === undefined ? undefined : toKeyValue(kv);
    });
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    return this.#call(async () => {
      const start =
        options.afterKey !== undefined && options.afterKey >= prefix
          ? `${options.afterKey}\0`
          : options.fromKey !== undefined && options.fromKey > prefix
            ? options.fromKey
            : prefix;
      let query = this.#client
        .getAll()
        .inRange({ start, end: prefixEnd(prefix) })
        .sort('Key', 'Ascend');
      if (options.limit !== undefined && options.limit > 0) query = query.limit(options.limit);
      // etcd keeps every revision since its compaction: a snapshot is one read at that revision
      if (options.atRevision !== undefined) query = query.revision(options.atRevision);
      const response = await query.exec();
      return {
        items: response.kvs.map(toKeyValue),
        revision: options.atRevision ?? Number(response.header.revision),
        more: response.more,
        // count is every key in the range at that revision, the returned ones included
        remaining: Math.max(0, Number(response.count) - response.kvs.length),
      };
    });
  }

  async create(key: string, value: string): Promise<KeyValue> {
    return this.#call(async () => {
      const response = await this.#client
        .if(key, 'Create', '==', 0)
        .then(this.#client.put(key).value(valueToBytes(value)))
        .commit();
      if (!response.succeeded) throw new StorageError('BOSUN_STORAGE_KEY_EXISTS', `${key} already exists`);
      const revision = Number(response.header.revision);
      return { key, value, createRevision: revision, modRevision: revision };
    });
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.#call(async () => {
      const response = await this.#client
        .if(key, 'Mod', '==', expectedModRevision)
        .then(this.#client.put(key).value(valueToBytes(value)), this.#client.get(key))
        .else(this.#client.get(key))
        .commit();
      if (!response.succeeded) {
        const current = response.responses[0]?.response_range?.kvs[0];
        if (current === undefined) throw new StorageError('BOSUN_STORAGE_NOT_FOUND', `${key} not found`);
        throw new StorageError(
          'BOSUN_STORAGE_CONFLICT',
          `${key} is at revision ${current.mod_revision}, not ${expectedModRevision}`,
        );
      }
      const written = response.responses[1]?.response_range?.kvs[0];
      const createRevision = Number(written?.create_revision ?? response.header.revision);
      return { key, value, createRevision, modRevision: Number(response.header.revision) };
    });
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.#call(async () => {
      for (;;) {
        const current = (await this.#client.get(key).exec()).kvs[0];
        if (current === undefined) throw new StorageError('BOSUN_STORAGE_NOT_FOUND', `${key} not found`);
        const seen = Number(current.mod_revision);
        if (expectedModRevision !== undefined && seen !== expectedModRevision) {
          throw new StorageError('BOSUN_STORAGE_CONFLICT', `${key} is at revision ${seen}, not ${expectedModRevision}`);
        }
        const response = await this.#client.if(key, 'Mod', '==', seen).then(this.#client.delete().key(key)).commit();
        if (response.succeeded) {
          return { ...toKeyValue(current), modRevision: Number(response.header.revision) };
        }
        // Changed between our read and the delete: read again (and fail if a revision was demanded).
      }
    });
  }

  async watch(prefix: string, fromRevision: number, callbacks: WatchCallbacks): Promise<WatchHandle> {
    const compacted = await this.compactedRevision();
    if (fromRevision < compacted) {
      throw new StorageError('BOSUN_STORAGE_COMPACTED', `revision ${fromRevision} is compacted (oldest ${compacted})`);
    }
    const watcher: Watcher = await this.#call(() =>
      this.#client
        .watch()
        .prefix(prefix)
        .withPreviousKV()
        .startRevision(String(fromRevision + 1))
        .create(),
    );
    let cancelled = false;
    watcher.on('put', (kv, previous) => {
      const change = toKeyValue(kv);
      const created = change.createRevision === change.modRevision;
      callbacks.onChange({
        type: 'put',
        key: change.key,
        value: change.value,
        revision: change.modRevision,
        created,
        ...(!created && previous ? { prevValue: valueFromBytes(previous.value) } : {}),
      });
    });
    watcher.on('delete', (kv, previous) => {
      callbacks.onChange({
        type: 'delete',
        key: kv.key.toString(),
        value: previous ? valueFromBytes(previous.value) : '',
        revision: Number(kv.mod_revision),
        created: false,
      });
    });
    watcher.on('error', (err) => {
      if (cancelled) return;
      cancelled = true;
      void watcher.cancel().catch(() => undefined);
      callbacks.onError(unavailable(err));
    });
    return {
      cancel: () => {
        if (cancelled) return;
        cancelled = true;
        void watcher.cancel().catch(() => undefined);
      },
    };
  }

  async compact(revision: number): Promise<void> {
    await this.#call(async () => {
      const current = await this.currentRevision();
      const target = Math.min(revision, current);
      if (target <= (await this.compactedRevision())) return;
      await this.#client.put(compactedKey).value(String(target)).exec();
      await this.#client.kv.compact({ revision: String(target), physical: false });
    });
  }

  async currentRevision(): Promise<number> {
    return this.#call(async () => Number((await this.#client.get(compactedKey).exec()).header.revision));
  }

  async compactedRevision(): Promise<number> {
    return this.#call(async () => Number((await this.#client.get(compactedKey).string()) ?? '0'));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close();
  }
}
