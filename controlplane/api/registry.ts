/**
 * API objects on top of the datastore: keys, resourceVersion, uid/creationTimestamp/generation,
 * optimistic concurrency, finalizers and graceful deletion, selectors and watches. It knows the
 * API's conventions but nothing of HTTP; admission runs through the hook it is given.
 */
import { randomUUID } from 'node:crypto';
import { ApiError } from '../../kube/errors.ts';
import { fieldValue, matchesFields, type FieldSelector } from '../../kube/fields.ts';
import { matchesLabels, type LabelSelector } from '../../kube/labels.ts';
import { apiVersionOf, type KubeList, type KubeObject, type WatchEvent } from '../../kube/types.ts';
import { isStorageError, StorageError } from '../errors.ts';
import type { Change, KeyValue, Storage } from '../storage/store.ts';
import { servedForm, storedForm } from './stored-forms.ts';
import { finalizersAfterDelete, type PropagationRequest } from './delete-propagation.ts';
import { isDryRun } from './request-context.ts';
import { SerialSections } from './serial.ts';
import type { ResourceInfo } from './resources.ts';
import { WatchHub, type HubWatchHandle, type WatchTrigger } from './watch-hub.ts';
import {
  prepareForCreate,
  prepareForUpdate,
  withEphemeralContainersOf,
  type StoredSubresource,
} from './write-strategy.ts';
import { continueAtNewest, decodeContinue, encodeContinue, encodeStart } from './continue-token.ts';
import { staleContinue, tooLargeResourceVersion, tooOldResourceVersion } from './list-errors.ts';
import { maxObjectBytes, objectTooLarge } from './limits.ts';
import { apiTime } from '../../kube/api-time.ts';
import { systemClock, type Clock } from '../../kube/clock.ts';

type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface AdmissionRequest {
  readonly operation: Operation;
  readonly info: ResourceInfo;
  readonly subresource: string | undefined;
  /** The object to be written; admission may change it. */
  readonly object: KubeObject;
  readonly old: KubeObject | undefined;
}

/** Mutates then validates; throws ApiError to refuse. */
export type Admit = (request: AdmissionRequest) => Promise<void>;

/** Judges a delete of the stored object (the request's DELETE admission); throws ApiError to refuse. */
export type AdmitDelete = (info: ResourceInfo, stored: KubeObject) => Promise<void>;

/** Learns of an update (after: the object written) or a removal (after: undefined) that was stored. */
type StoredChangeListener = (info: ResourceInfo, before: KubeObject, after: KubeObject | undefined) => Promise<void>;

interface Selectors {
  labels?: LabelSelector;
  fields?: FieldSelector;
}

interface ListRequest extends Selectors {
  limit?: number;
  continueToken?: string;
  /**
   * The list may be served from memory when it is at least this new (a list's resourceVersion=N;
   * "0" is 0: any). Absent: read the datastore, the newest state.
   */
  notOlderThan?: number;
  /** Read the state exactly at this revision (resourceVersionMatch=Exact; 410 once compacted). */
  exact?: number;
}

/**
 * Answers a list from memory when it can (pods of one node from the pods-by-node index), with the
 * revision the answer is current at; undefined when it cannot.
 */
type ListFromMemory = (
  info: ResourceInfo,
  selectors: Selectors,
) => { items: KubeObject[]; revision: number } | undefined;

export interface DeleteOptions extends PropagationRequest {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

interface DeleteResult {
  object: KubeObject;
  /** false when the object stays, marked for deletion (finalizers or graceful pod deletion). */
  removed: boolean;
}

/** Turns datastore failures into API errors; everything else passes through. */
function apiErrorFromStorage(err: unknown, info: ResourceInfo, name: string): unknown {
  if (!(err instanceof StorageError)) return err;
  const qualified = info.group === '' ? info.resource : `${info.resource}.${info.group}`;
  switch (err.code) {
    case 'BOSUN_STORAGE_NOT_FOUND':
      return new ApiError('NotFound', `${qualified} "${name}" not found`, {
        name,
        group: info.group,
        kind: info.resource,
      });
    case 'BOSUN_STORAGE_KEY_EXISTS':
      return new ApiError('AlreadyExists', `${qualified} "${name}" already exists`, {
        name,
        group: info.group,
        kind: info.resource,
      });
    case 'BOSUN_STORAGE_CONFLICT':
      return new ApiError(
        'Conflict',
        `Operation cannot be fulfilled on ${qualified} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: info.group, kind: info.resource },
      );
    case 'BOSUN_STORAGE_COMPACTED':
      return new ApiError('Expired', `too old resource version: ${err.message}`);
    case 'BOSUN_STORAGE_FUTURE_REVISION':
      return new ApiError('Timeout', `Timeout: Too large resource version: ${err.message}`, { retryAfterSeconds: 1 });
    case 'BOSUN_STORAGE_UNAVAILABLE':
      return new ApiError('ServiceUnavailable', `the datastore is not available: ${err.message}`, {
        retryAfterSeconds: 1,
      });
  }
}

/** How long a list of the newest state waits for memory to catch up before reading the datastore (upstream: 3 s). */
const freshListWaitMs = 3_000;

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Whether two objects differ outside metadata and status (what bumps generation). */
function specChanged(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { metadata: _m, status: _s, ...rest } = o;
    return JSON.stringify(rest);
  };
  return strip(a) !== strip(b);
}

interface DecodedChange {
  readonly info: ResourceInfo;
  readonly object: KubeObject;
  /** The object before the change, for an update (selectors compare both). */
  readonly previous: KubeObject | undefined;
}

export class Registry {
  readonly #decodedChanges = new WeakMap<Change, DecodedChange>();
  readonly #convertedChanges = new WeakMap<Change, Map<ResourceInfo, Promise<DecodedChange>>>();
  readonly storage: Storage;
  readonly #admit: Admit;
  readonly #now: () => Date;
  readonly #sections = new SerialSections();
  readonly #watches: WatchHub;
  #listFromMemory: ListFromMemory = () => undefined;
  #admitDelete: AdmitDelete = async () => undefined;
  #afterStoredChange: StoredChangeListener | undefined;

  constructor(storage: Storage, admit: Admit, clock: Pick<Clock, 'now'> = systemClock) {
    this.storage = storage;
    this.#watches = new WatchHub(storage);
    this.#admit = admit;
    this.#now = () => new Date(clock.now());
  }

  prefix(info: ResourceInfo, namespace: string | undefined): string {
    const base = `/registry/${info.storageName}/`;
    return info.namespaced && namespace !== undefined && namespace !== '' ? `${base}${namespace}/` : base;
  }

  key(info: ResourceInfo, namespace: string | undefined, name: string): string {
    return info.namespaced
      ? `/registry/${info.storageName}/${namespace ?? ''}/${name}`
      : `/registry/${info.storageName}/${name}`;
  }

  decode(info: ResourceInfo, kv: KeyValue | { value: string; modRevision: number }): KubeObject {
    const stored = JSON.parse(kv.value) as KubeObject;
    const object = servedForm(info, stored);
    object.apiVersion = apiVersionOf(info.group, info.version);
    object.kind = info.kind;
    object.metadata.resourceVersion = String(kv.modRevision);
    // a default added to a custom resource's schema shows on objects stored before it
    info.custom?.defaultOnRead(object as Record<string, unknown>);
    return object;
  }

  /**
   * Objects read from the datastore, in the version `info` serves. Built-in kinds, and custom
   * resources whose versions differ only in their apiVersion, are decoded at once (decode); a
   * custom resource stored in another version than the one asked for goes to its definition's
   * conversion webhook, every such object of one read in one review. A failed conversion fails
   * the whole read.
   */
  async #decodeAll(info: ResourceInfo, kvs: readonly { value: string; modRevision: number }[]): Promise<KubeObject[]> {
    const conversion = info.custom?.conversion;
    if (conversion === undefined) return kvs.map((kv) => this.decode(info, kv));
    const wanted = apiVersionOf(info.group, info.version);
    const stored = kvs.map((kv) => {
      const object = JSON.parse(kv.value) as KubeObject;
      object.apiVersion ||= conversion.storageApiVersion;
      object.kind = info.kind;
      object.metadata.resourceVersion = String(kv.modRevision);
      return object;
    });
    const elsewhere = stored.filter((o) => o.apiVersion !== wanted);
    const converted = elsewhere.length === 0 ? [] : await conversion.convert(elsewhere, wanted);
    let next = 0;
    return stored.map((original) => {
      const object = original.apiVersion === wanted ? original : (converted[next++] as KubeObject);
      info.custom?.defaultOnRead(object as Record<string, unknown>);
      return object;
    });
  }

  async #decodeOne(info: ResourceInfo, kv: { value: string; modRevision: number }): Promise<KubeObject> {
    return (await this.#decodeAll(info, [kv]))[0]!;
  }

  /** The object in the version it is stored in: converted by the definition's webhook when written in another. */
  async #inStorageVersion(info: ResourceInfo, object: KubeObject): Promise<KubeObject> {
    const conversion = info.custom?.conversion;
    if (conversion === undefined || object.apiVersion === conversion.storageApiVersion) return object;
    const [stored] = await conversion.convert([object as Record<string, unknown>], conversion.storageApiVersion);
    return stored as KubeObject;
  }

  #encode(info: ResourceInfo, object: KubeObject): string {
    const stored = storedForm(info, object);
    const { resourceVersion: _rv, ...metadata } = stored.metadata;
    return JSON.stringify({ ...stored, metadata });
  }

  /**
   * The stored form of an object that a client wrote, refused with 422 when it is larger than etcd
   * would take; the same limit holds on SQLite, so what one datastore stores the other does too.
   */
  #encodeWrite(info: ResourceInfo, object: KubeObject): string {
    const value = this.#encode(info, object);
    const bytes = Buffer.byteLength(value);
    if (bytes > maxObjectBytes) throw objectTooLarge(info.kind, info.group, object.metadata.name ?? '', bytes);
    return value;
  }

  async #call<T>(info: ResourceInfo, name: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      throw apiErrorFromStorage(err, info, name);
    }
  }

  /**
   * A revision every open watch has already been told about, for bookmarks: the backend's own
   * promise when it can make one (see Storage.deliveredRevision), else undefined.
   */
  deliveredRevision(info?: ResourceInfo): number | undefined {
    // a watch that converts its events may still be converting what the datastore delivered
    if (info?.custom?.conversion !== undefined) return undefined;
    return this.storage.deliveredRevision?.();
  }

  /** The datastore's newest revision (where a watch that wants no history starts). */
  currentRevision(info: ResourceInfo): Promise<number> {
    return this.#call(info, '', () => this.storage.currentRevision());
  }

  async get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject> {
    const kv = await this.#call(info, name, () => this.storage.get(this.key(info, namespace, name)));
    if (kv === undefined) throw apiErrorFromStorage(new StorageError('BOSUN_STORAGE_NOT_FOUND', name), info, name);
    return this.#decodeOne(info, kv);
  }

  /**
   * The list from memory when memory can answer it: at least as new as `notOlderThan`, or, for a
   * list of the newest state (no resourceVersion), once memory has seen the datastore's current
   * revision, as upstream's consistent reads from its watch cache (every agent relisting its pods
   * after a 410 would otherwise decode every pod of the cluster). The latter waits up to
   * freshListWaitMs for memory's watch (a few milliseconds normally), and only where the datastore
   * says what has reached every watch (sqlite): memory follows one resource, so its own revision
   * trails the datastore's while other resources are written. undefined: read the datastore.
   */
  async #fromMemory(
    info: ResourceInfo,
    request: ListRequest,
  ): Promise<{ items: KubeObject[]; revision: number } | undefined> {
    let remembered = this.#listFromMemory(info, request);
    if (remembered === undefined) return undefined;
    const fresh =
      request.notOlderThan === undefined && request.limit === undefined && this.storage.deliveredRevision !== undefined;
    const wanted =
      request.notOlderThan ?? (fresh ? await this.#call(info, '', () => this.storage.currentRevision()) : undefined);
    if (wanted === undefined) return undefined;
    const until = performance.now() + (fresh ? freshListWaitMs : 0);
    for (;;) {
      if (remembered.revision >= wanted) return remembered;
      // every change up to the delivered revision, read in a timer callback, has reached memory's
      // watch: memory is current at that revision even when none of those changes was its resource's
      const delivered = await new Promise<number>((resolve) =>
        setTimeout(() => resolve(this.deliveredRevision() ?? 0), 0),
      );
      const now = this.#listFromMemory(info, request);
      if (now === undefined) return undefined;
      remembered = { items: now.items, revision: Math.max(now.revision, delivered) };
      if (remembered.revision >= wanted) return remembered;
      if (performance.now() >= until) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /**
   * Sets what learns of each update or removal that reached the datastore, with the object before
   * and after (undefined: removed); a Service's dropped ClusterIP and NodePorts are freed this way
   * at once. Its failures never fail the write (a repair loop catches up).
   */
  afterStoredChange(listener: StoredChangeListener): void {
    this.#afterStoredChange = listener;
  }

  async #storedChange(info: ResourceInfo, before: KubeObject, after: KubeObject | undefined): Promise<void> {
    await this.#afterStoredChange?.(info, before, after).catch(() => undefined);
  }

  /** Sets what judges a delete before it is carried out (validating webhooks and policies). */
  admitDeletesWith(admit: AdmitDelete): void {
    this.#admitDelete = admit;
  }

  /** Lets lists that allow an older answer be served from memory (see ListRequest.notOlderThan). */
  serveListsFrom(source: ListFromMemory): void {
    this.#listFromMemory = source;
  }

  async list(info: ResourceInfo, namespace: string | undefined, request: ListRequest = {}): Promise<KubeList> {
    if (request.continueToken === undefined && request.exact === undefined) {
      const remembered = await this.#fromMemory(info, request);
      if (remembered !== undefined) {
        const items = remembered.items.filter(
          (o) =>
            (namespace === undefined || namespace === '' || o.metadata.namespace === namespace) &&
            this.matches(o, request),
        );
        // served as upstream's watch cache serves resourceVersion=0: the whole answer, limit ignored
        return {
          apiVersion: apiVersionOf(info.group, info.version),
          kind: `${info.kind}List`,
          metadata: { resourceVersion: String(remembered.revision) },
          items,
        };
      }
    }
    // One object asked for by name (an agent's informer on its own Node): read that key, not the
    // whole collection. The revision is read first: a write in between can only make the answer
    // newer than it says, and a watch from it then repeats that write rather than missing it.
    const byName = request.fields?.find((r) => r.equal && r.field === 'metadata.name');
    if (
      byName !== undefined &&
      request.continueToken === undefined &&
      request.exact === undefined &&
      (!info.namespaced || (namespace !== undefined && namespace !== ''))
    ) {
      const revision = await this.#call(info, '', () => this.storage.currentRevision());
      const kv = await this.#call(info, byName.value, () => this.storage.get(this.key(info, namespace, byName.value)));
      const object = kv === undefined ? undefined : await this.#decodeOne(info, kv);
      const items = object !== undefined && this.matches(object, request) ? [object] : [];
      return {
        apiVersion: apiVersionOf(info.group, info.version),
        kind: `${info.kind}List`,
        metadata: { resourceVersion: String(revision) },
        items,
      };
    }
    return this.#listFromStore(info, namespace, request);
  }

  /**
   * A list read from the datastore, paged as upstream's: every page of one list is read at the
   * first page's revision (the continue token carries it), so objects written between pages neither
   * show up nor go missing. A token older than compaction is 410 with a token to go on at the
   * newest state; an exact revision that is compacted is 410; one not reached yet is 504.
   */
  async #listFromStore(info: ResourceInfo, namespace: string | undefined, request: ListRequest): Promise<KubeList> {
    const prefix = this.prefix(info, namespace);
    const point = request.continueToken ? decodeContinue(request.continueToken, prefix) : undefined;
    const limit = request.limit !== undefined && request.limit > 0 ? request.limit : undefined;
    const items: KubeObject[] = [];
    let start: { afterKey: string } | { fromKey: string } | object =
      point === undefined
        ? {}
        : point.startKey.endsWith('\0')
          ? { afterKey: point.startKey.slice(0, -1) }
          : { fromKey: point.startKey };
    let atRevision = point !== undefined && point.revision !== continueAtNewest ? point.revision : request.exact;
    let more = false;
    let remaining = 0;
    let lastKey: string | undefined;
    // Selectors filter after reading, so keep reading pages (of the same snapshot) until the limit is filled.
    for (;;) {
      const at = atRevision;
      const page = await this.#call(info, '', async () => {
        try {
          return await this.storage.list(prefix, {
            ...start,
            ...(limit ? { limit: limit - items.length } : {}),
            ...(at !== undefined ? { atRevision: at } : {}),
          });
        } catch (err) {
          if (isStorageError(err, 'BOSUN_STORAGE_COMPACTED') && point !== undefined)
            throw staleContinue(encodeStart(point.startKey, prefix, continueAtNewest));
          if (isStorageError(err, 'BOSUN_STORAGE_COMPACTED')) throw tooOldResourceVersion();
          if (isStorageError(err, 'BOSUN_STORAGE_FUTURE_REVISION'))
            throw tooLargeResourceVersion(at ?? 0, await this.storage.currentRevision());
          throw err;
        }
      });
      atRevision ??= page.revision;
      const objects = await this.#decodeAll(info, page.items);
      for (const [i, kv] of page.items.entries()) {
        lastKey = kv.key;
        const object = objects[i]!;
        if (this.matches(object, request)) items.push(object);
      }
      more = page.more;
      remaining = page.remaining;
      if (!more || limit === undefined || items.length >= limit || lastKey === undefined) break;
      start = { afterKey: lastKey };
    }
    if (request.notOlderThan !== undefined && atRevision < request.notOlderThan) {
      throw tooLargeResourceVersion(request.notOlderThan, atRevision);
    }
    const metadata: KubeList['metadata'] = { resourceVersion: String(atRevision) };
    if (more && lastKey !== undefined) {
      metadata.continue = encodeContinue(lastKey, prefix, atRevision);
      // as upstream: a count only when every key is an item (no selector filters them)
      if (request.labels === undefined && request.fields === undefined) metadata.remainingItemCount = remaining;
    }
    return { apiVersion: apiVersionOf(info.group, info.version), kind: `${info.kind}List`, metadata, items };
  }

  matches(object: KubeObject, selectors: Selectors): boolean {
    if (selectors.labels && !matchesLabels(selectors.labels, object.metadata.labels)) return false;
    if (selectors.fields && !matchesFields(selectors.fields, object)) return false;
    return true;
  }

  /**
   * Writes whose admission allocates from what other objects hold (Service ClusterIPs and
   * NodePorts) run one at a time in this server, so two of them cannot pick the same value.
   */
  #serialized<T>(info: ResourceInfo, body: () => Promise<T>): Promise<T> {
    return info.group === '' && info.resource === 'services' ? this.#sections.run('services', body) : body();
  }

  create(info: ResourceInfo, namespace: string | undefined, input: KubeObject): Promise<KubeObject> {
    return this.#serialized(info, () => this.#create(info, namespace, input));
  }

  async #create(info: ResourceInfo, namespace: string | undefined, input: KubeObject): Promise<KubeObject> {
    const object = clone(input);
    object.apiVersion = apiVersionOf(info.group, info.version);
    object.kind = info.kind;
    const metadata = (object.metadata ??= {});
    if (info.namespaced) metadata.namespace = namespace;
    else delete metadata.namespace;
    if (!metadata.name && metadata.generateName) {
      metadata.name = `${metadata.generateName}${randomSuffix()}`;
    }
    metadata.uid = randomUUID();
    metadata.creationTimestamp = apiTime(this.#now());
    delete metadata.resourceVersion;
    delete metadata.deletionTimestamp;
    delete metadata.deletionGracePeriodSeconds;
    if (info.tracksGeneration) metadata.generation = 1;
    else delete metadata.generation;
    prepareForCreate(info, object);
    await this.#admit({ operation: 'CREATE', info, subresource: undefined, object, old: undefined });
    const name = metadata.name ?? '';
    if (isDryRun()) {
      if (await this.#call(info, name, () => this.storage.get(this.key(info, namespace, name)))) {
        throw apiErrorFromStorage(new StorageError('BOSUN_STORAGE_KEY_EXISTS', name), info, name);
      }
      return object;
    }
    const value = this.#encodeWrite(info, await this.#inStorageVersion(info, object));
    const kv = await this.#call(info, name, () => this.storage.create(this.key(info, namespace, name), value));
    return this.#decodeOne(info, kv);
  }

  /**
   * Replaces an object. With metadata.resourceVersion set, a stale version is a 409; without it the
   * write applies to whatever is current. For the main resource, the kind's write strategy applies
   * (write-strategy.ts: the stored status is kept); for 'status', only status is taken, and so for a
   * CSR's 'approval' (whose admission then keeps all of status but the conditions).
   */
  async update(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    input: KubeObject,
    subresource?: StoredSubresource,
    record?: (current: KubeObject, next: KubeObject) => KubeObject,
  ): Promise<KubeObject> {
    const wanted = input.metadata?.resourceVersion;
    return this.guaranteedUpdate(info, namespace, name, subresource, (current) => {
      if (wanted !== undefined && wanted !== '' && wanted !== current.metadata.resourceVersion) {
        throw apiErrorFromStorage(new StorageError('BOSUN_STORAGE_CONFLICT', name), info, name);
      }
      return record ? record(current, clone(input)) : clone(input);
    });
  }

  /**
   * Reads the current object, lets `mutate` compute the next one, and writes it on the exact version
   * read; on a concurrent write, reads again and retries. Errors thrown by `mutate` stop the loop.
   */
  guaranteedUpdate(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    subresource: string | undefined,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
  ): Promise<KubeObject> {
    return this.#serialized(info, () => this.#guaranteedUpdate(info, namespace, name, subresource, mutate));
  }

  async #guaranteedUpdate(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    subresource: string | undefined,
    mutate: (current: KubeObject) => KubeObject | Promise<KubeObject>,
  ): Promise<KubeObject> {
    const key = this.key(info, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.#call(info, name, () => this.storage.get(key));
      if (kv === undefined) throw apiErrorFromStorage(new StorageError('BOSUN_STORAGE_NOT_FOUND', name), info, name);
      const current = await this.#decodeOne(info, kv);
      // the caller's own copy: decoding the stored text again costs a third of a structured clone
      // (a conversion webhook's answer is cloned instead of asked for twice)
      const proposed = await mutate(info.custom?.conversion === undefined ? this.decode(info, kv) : clone(current));
      const next = this.#carryOver(info, current, proposed, subresource);
      if (kv.stale !== true && JSON.stringify(next) === JSON.stringify(current)) return current;
      await this.#admit({ operation: 'UPDATE', info, subresource, object: next, old: current });
      if (isDryRun()) return next;
      if (
        next.metadata.deletionTimestamp &&
        (next.metadata.finalizers ?? []).length === 0 &&
        !this.#gracefulPending(info, next) &&
        !this.#namespaceFinalizing(info, next)
      ) {
        try {
          const deleted = await this.storage.delete(key, kv.modRevision);
          await this.#storedChange(info, current, undefined);
          return this.decode(info, { value: this.#encode(info, next), modRevision: deleted.modRevision });
        } catch (err) {
          if (isStorageError(err, 'BOSUN_STORAGE_CONFLICT') && attempt < 20) continue;
          throw apiErrorFromStorage(err, info, name);
        }
      }
      try {
        const value = this.#encodeWrite(info, await this.#inStorageVersion(info, next));
        const written = await this.#decodeOne(info, await this.storage.update(key, value, kv.modRevision));
        await this.#storedChange(info, current, written);
        return written;
      } catch (err) {
        if (isStorageError(err, 'BOSUN_STORAGE_CONFLICT') && attempt < 20) continue;
        throw apiErrorFromStorage(err, info, name);
      }
    }
  }

  /** Applies the API's rules about which fields a write may change. */
  #carryOver(
    info: ResourceInfo,
    current: KubeObject,
    proposed: KubeObject,
    subresource: string | undefined,
  ): KubeObject {
    let next: KubeObject;
    if (subresource === 'status' || subresource === 'approval') {
      next = clone(current);
      if (proposed.status !== undefined) next.status = proposed.status;
      else delete next.status;
      // The status writer's ownership entry (update-ownership.ts) comes with the status.
      if (proposed.metadata?.managedFields !== undefined) next.metadata.managedFields = proposed.metadata.managedFields;
    } else if (subresource === 'ephemeralcontainers') {
      next = withEphemeralContainersOf(current, proposed);
    } else {
      next = proposed;
      next.metadata ??= {};
      if (subresource === undefined) prepareForUpdate(info, next, current);
    }
    const m = next.metadata;
    const c = current.metadata;
    next.apiVersion = current.apiVersion;
    next.kind = current.kind;
    m.name = c.name;
    if (info.namespaced) m.namespace = c.namespace;
    m.uid = c.uid;
    m.creationTimestamp = c.creationTimestamp;
    if (c.deletionTimestamp !== undefined) {
      m.deletionTimestamp = c.deletionTimestamp;
      if (c.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = c.deletionGracePeriodSeconds;
    } else {
      delete m.deletionTimestamp;
      delete m.deletionGracePeriodSeconds;
    }
    m.resourceVersion = c.resourceVersion;
    if (info.tracksGeneration) {
      m.generation = (c.generation ?? 1) + (specChanged(current, next) ? 1 : 0);
    } else if (c.generation !== undefined) m.generation = c.generation;
    else delete m.generation;
    if (m.finalizers !== undefined && m.finalizers.length === 0) delete m.finalizers;
    return next;
  }

  /** A namespace with spec.finalizers stays, Terminating, until the namespace controller has emptied it. */
  #namespaceFinalizing(info: ResourceInfo, object: KubeObject): boolean {
    return (
      info.group === '' &&
      info.resource === 'namespaces' &&
      ((object.spec as { finalizers?: unknown[] } | undefined)?.finalizers ?? []).length > 0
    );
  }

  /** A pod on a node is removed only when its node's agent confirms (or the grace is forced to 0). */
  #gracefulPending(info: ResourceInfo, object: KubeObject): boolean {
    return info.group === '' && info.resource === 'pods' && (object.metadata.deletionGracePeriodSeconds ?? 0) > 0;
  }

  async delete(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): Promise<DeleteResult> {
    const key = this.key(info, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.#call(info, name, () => this.storage.get(key));
      if (kv === undefined) throw apiErrorFromStorage(new StorageError('BOSUN_STORAGE_NOT_FOUND', name), info, name);
      const current = await this.#decodeOne(info, kv);
      const pre = options.preconditions;
      if (pre?.uid && pre.uid !== current.metadata.uid) {
        throw new ApiError(
          'Conflict',
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
        );
      }
      if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
        throw new ApiError(
          'Conflict',
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
        );
      }
      if (attempt === 0) await this.#admitDelete(info, current);
      const grace = this.#graceFor(info, current, options);
      // The propagation policy becomes a finalizer the garbage collector acts on (delete-propagation.ts).
      const finalizers = finalizersAfterDelete(info, current.metadata.finalizers ?? [], options);
      if (finalizers.length > 0 || grace > 0 || this.#namespaceFinalizing(info, current)) {
        const next = clone(current);
        if (finalizers.length > 0) next.metadata.finalizers = finalizers;
        else delete next.metadata.finalizers;
        if (this.#namespaceFinalizing(info, current))
          next.status = { ...(next.status as object), phase: 'Terminating' };
        const now = this.#now();
        if (grace > 0) {
          const deadline = new Date(now.getTime() + grace * 1000);
          // A second delete may shorten the grace period, never lengthen it.
          const existing = current.metadata.deletionTimestamp
            ? Date.parse(current.metadata.deletionTimestamp)
            : Infinity;
          if (deadline.getTime() < existing) {
            next.metadata.deletionTimestamp = apiTime(deadline);
            next.metadata.deletionGracePeriodSeconds = grace;
          }
        } else {
          next.metadata.deletionTimestamp ??= apiTime(now);
          next.metadata.deletionGracePeriodSeconds = 0;
        }
        if (JSON.stringify(next) === JSON.stringify(current)) return { object: current, removed: false };
        if (isDryRun()) return { object: next, removed: false };
        try {
          const value = this.#encode(info, await this.#inStorageVersion(info, next));
          const written = await this.storage.update(key, value, kv.modRevision);
          return { object: await this.#decodeOne(info, written), removed: false };
        } catch (err) {
          if (isStorageError(err, 'BOSUN_STORAGE_CONFLICT') && attempt < 20) continue;
          throw apiErrorFromStorage(err, info, name);
        }
      }
      if (isDryRun()) return { object: current, removed: true };
      try {
        const deleted = await this.storage.delete(key, kv.modRevision);
        await this.#storedChange(info, current, undefined);
        // the object as read above: a converted one is not sent to the webhook again once it is gone
        const gone =
          info.custom?.conversion === undefined
            ? this.decode(info, { value: kv.value, modRevision: deleted.modRevision })
            : { ...current, metadata: { ...current.metadata, resourceVersion: String(deleted.modRevision) } };
        return { object: gone, removed: true };
      } catch (err) {
        if (isStorageError(err, 'BOSUN_STORAGE_CONFLICT') && attempt < 20) continue;
        throw apiErrorFromStorage(err, info, name);
      }
    }
  }

  /** Grace period for a delete: only pods bound to a node wait for their agent. */
  #graceFor(info: ResourceInfo, object: KubeObject, options: DeleteOptions): number {
    if (!(info.group === '' && info.resource === 'pods')) return 0;
    const spec = object.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
    if (!spec?.nodeName) return 0;
    const phase = (object.status as { phase?: string } | undefined)?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return 0;
    return Math.max(0, options.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30);
  }

  /**
   * A change's objects, decoded once for all the watchers it reaches. A backend that delivers one
   * Change object to every watcher of a prefix (sqlite's in-process fan-out) makes this one parse
   * per change instead of one per watcher: with a pod watch per node, 1,000 parses of every pod
   * write. The objects are shared, so watchers treat them as read-only (they only serialise them
   * or keep them in a cache).
   */
  #decodeChange(info: ResourceInfo, change: Change): DecodedChange {
    const cached = this.#decodedChanges.get(change);
    if (cached !== undefined && cached.info === info) return cached;
    const decoded: DecodedChange = {
      info,
      object: this.decode(info, { value: change.value, modRevision: change.revision }),
      previous:
        change.prevValue === undefined || change.created || change.type === 'delete'
          ? undefined
          : this.decode(info, { value: change.prevValue, modRevision: change.revision }),
    };
    this.#decodedChanges.set(change, decoded);
    return decoded;
  }

  /**
   * A change's objects converted by the definition's webhook (a custom resource watched in another
   * version than it is stored in): one review for the object and its previous state, shared by
   * every watcher of the same version, as decoded changes are.
   */
  #convertedChange(info: ResourceInfo, change: Change): Promise<DecodedChange> {
    let byInfo = this.#convertedChanges.get(change);
    if (byInfo === undefined) this.#convertedChanges.set(change, (byInfo = new Map()));
    let converted = byInfo.get(info);
    if (converted === undefined) {
      const withPrevious = !(change.prevValue === undefined || change.created || change.type === 'delete');
      const kvs = [{ value: change.value, modRevision: change.revision }];
      if (withPrevious) kvs.push({ value: change.prevValue!, modRevision: change.revision });
      converted = this.#decodeAll(info, kvs).then(([object, previous]) => ({ info, object: object!, previous }));
      byInfo.set(info, converted);
    }
    return converted;
  }

  /**
   * Streams changes after `fromRevision` as watch events (ADDED/MODIFIED/DELETED), filtered by the
   * selectors: an object that starts matching arrives as ADDED, one that stops matching as DELETED.
   */
  async watch(
    info: ResourceInfo,
    namespace: string | undefined,
    fromRevision: number,
    selectors: Selectors,
    onEvent: (event: WatchEvent) => void,
    onError: (err: unknown) => void,
    /** Every change this watch was offered, matching or not: the watch has caught up to this revision. */
    onProgress: (revision: number) => void = () => undefined,
  ): Promise<HubWatchHandle> {
    const toEvent = (change: Change, decoded: DecodedChange): WatchEvent | undefined => {
      const object = decoded.object;
      const matches = this.matches(object, selectors);
      if (change.type === 'delete') return matches ? { type: 'DELETED', object } : undefined;
      if (change.created || change.prevValue === undefined)
        return matches ? { type: change.created ? 'ADDED' : 'MODIFIED', object } : undefined;
      const previous = decoded.previous!;
      const matched = this.matches(previous, selectors);
      if (matches) return { type: matched ? 'MODIFIED' : 'ADDED', object };
      // Left the selection: to this watcher it is gone (the last state it could see, at this revision).
      return matched ? { type: 'DELETED', object: previous } : undefined;
    };
    // Converted changes go out in the order they came, each once its webhook call has answered; a
    // failed conversion ends the watch with the error (the client watches again or lists).
    const converting = info.custom?.conversion !== undefined;
    let inTurn: Promise<void> = Promise.resolve();
    /** A conversion failed, or the watch was cancelled: nothing more is converted or sent. */
    let stopped = false;
    let converted = fromRevision;
    let waiting = 0;
    const convertInTurn = (change: Change): void => {
      waiting++;
      inTurn = inTurn.then(async () => {
        waiting--;
        if (stopped) return;
        let event: WatchEvent | undefined;
        try {
          event = toEvent(change, await this.#convertedChange(info, change));
        } catch (err) {
          stopped = true;
          onError(err);
          return;
        }
        if (event) onEvent(event);
        converted = change.revision;
        onProgress(change.revision);
      });
    };
    const root = this.prefix(info, undefined);
    const triggerValues = (change: Change, field: string): string[] => {
      const decoded = this.#decodeChange(info, change);
      return decoded.previous === undefined
        ? [fieldValue(decoded.object, field)]
        : [fieldValue(decoded.object, field), fieldValue(decoded.previous, field)];
    };
    const handle = await this.#call(info, '', () =>
      this.#watches.watch(
        `${root}|${info.group}/${info.version}`,
        root,
        this.prefix(info, namespace),
        fromRevision,
        watchTrigger(info, selectors),
        triggerValues,
        {
          onChange: (change) => {
            if (converting) return convertInTurn(change);
            let event: WatchEvent | undefined;
            try {
              event = toEvent(change, this.#decodeChange(info, change));
            } catch (err) {
              onError(err);
              return;
            }
            if (event) onEvent(event);
            onProgress(change.revision);
          },
          onError: (err) => onError(apiErrorFromStorage(err, info, '')),
        },
      ),
    );
    if (!converting) return handle;
    // a bookmark may not claim a revision whose change is still being converted
    return {
      cancel: () => {
        // what is still queued is not converted for a watcher that left
        stopped = true;
        handle.cancel();
      },
      caughtUp: () => (waiting === 0 ? Math.max(converted, handle.caughtUp()) : converted),
    };
  }

  /** Stops the shared datastore watches (the server is closing). */
  close(): Promise<void> {
    return this.#watches.close();
  }
}

/**
 * Fields a watch can be indexed by: the one every resource has, and the one a watch per node asks
 * for. A selector that asks for one value of either reaches only changes that have or had it.
 */
const triggerFields: Record<string, readonly string[]> = { pods: ['spec.nodeName', 'metadata.name'] };

function watchTrigger(info: ResourceInfo, selectors: Selectors): WatchTrigger | undefined {
  const indexed = triggerFields[info.resource] ?? ['metadata.name'];
  for (const field of indexed) {
    const requirement = selectors.fields?.find((r) => r.equal && r.field === field);
    if (requirement !== undefined) return { field, value: requirement.value };
  }
  return undefined;
}

const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
function randomSuffix(): string {
  let out = '';
  for (let i = 0; i < 5; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}
