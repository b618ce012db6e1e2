/**
 * An in-memory API with the conventions the controllers rely on (resourceVersion and conflicts,
 * uid, generation, status kept apart, finalizers and deletionTimestamp, ordered watches with
 * replay, binding), for unit tests and benchmarks. It runs no admission and no kubelet: pods are
 * removed at once on delete, and nothing sets their status unless a test does.
 */
import { bindPod } from '../api/binding.ts';
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject, WatchEvent } from '../../kube/types.ts';
import { apiTime } from '../../kube/api-time.ts';
import { systemClock, type Clock } from '../../kube/clock.ts';
import {
  clusterScoped,
  generationTracked,
  objectKey,
  type ClusterClient,
  type DeleteRequest,
  type ListResult,
  type ResourceName,
  type WatchSubscription,
} from './client.ts';

interface Watcher {
  readonly onEvent: (event: WatchEvent) => void;
  stopped: boolean;
}

interface Recorded {
  readonly revision: number;
  readonly event: WatchEvent;
}

interface MemoryClusterOptions {
  readonly clock?: Clock;
  /** Informers over clusters of the same scope share objects per version (ClusterClient.versionScope). */
  readonly versionScope?: string;
}

type Method = 'create' | 'update' | 'updateStatus' | 'delete' | 'bind';

function clone<T>(value: T): T {
  return structuredClone(value);
}

function withoutStatus(object: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = object;
  return JSON.stringify(rest);
}

export class MemoryCluster implements ClusterClient {
  readonly #objects = new Map<ResourceName, Map<string, KubeObject>>();
  readonly #history = new Map<ResourceName, Recorded[]>();
  readonly #watchers = new Map<ResourceName, Set<Watcher>>();
  readonly #failures: { method: Method; resource: ResourceName; error: Error }[] = [];
  readonly #now: () => Date;
  #revision = 1;
  #uid = 0;
  #names = 0;
  /** Every write, for tests that assert on what a loop did. */
  readonly writes: { method: Method; resource: ResourceName; key: string }[] = [];

  readonly versionScope: string | undefined;

  constructor(options: MemoryClusterOptions = {}) {
    this.versionScope = options.versionScope;
    const clock = options.clock ?? systemClock;
    this.#now = () => new Date(clock.now());
  }

  /** The next call of `method` on `resource` fails with `error` (queued, in order). */
  failNext(method: Method, resource: ResourceName, error: Error): void {
    this.#failures.push({ method, resource, error });
  }

  #maybeFail(method: Method, resource: ResourceName): void {
    const index = this.#failures.findIndex((f) => f.method === method && f.resource === resource);
    if (index < 0) return;
    const [failure] = this.#failures.splice(index, 1);
    throw failure!.error;
  }

  #table(resource: ResourceName): Map<string, KubeObject> {
    let table = this.#objects.get(resource);
    if (table === undefined) this.#objects.set(resource, (table = new Map()));
    return table;
  }

  #key(resource: ResourceName, namespace: string | undefined, name: string): string {
    return clusterScoped.has(resource) ? name : `${namespace ?? ''}/${name}`;
  }

  #notFound(resource: ResourceName, name: string): ApiError {
    return new ApiError('NotFound', `${resource} "${name}" not found`, { name, kind: resource });
  }

  #emit(resource: ResourceName, type: WatchEvent['type'], object: KubeObject): void {
    const revision = Number(object.metadata.resourceVersion);
    const event: WatchEvent = { type, object: clone(object) };
    let history = this.#history.get(resource);
    if (history === undefined) this.#history.set(resource, (history = []));
    history.push({ revision, event });
    // Watchers share one copy of the event (cloning per watcher dominated benchmarks); it is
    // never the stored object, and the loops treat what they observe as read-only.
    for (const watcher of this.#watchers.get(resource) ?? []) {
      queueMicrotask(() => {
        if (!watcher.stopped) watcher.onEvent(event);
      });
    }
  }

  #timestamp(): string {
    return apiTime(this.#now());
  }

  async list(resource: ResourceName): Promise<ListResult> {
    return { items: [...this.#table(resource).values()].map(clone), resourceVersion: String(this.#revision) };
  }

  async watch(
    resource: ResourceName,
    resourceVersion: string,
    onEvent: (event: WatchEvent) => void,
    _onError: (err: unknown) => void,
  ): Promise<WatchSubscription> {
    const watcher: Watcher = { onEvent, stopped: false };
    const from = Number(resourceVersion);
    const backlog = (this.#history.get(resource) ?? []).filter((r) => r.revision > from).map((r) => r.event);
    let watchers = this.#watchers.get(resource);
    if (watchers === undefined) this.#watchers.set(resource, (watchers = new Set()));
    watchers.add(watcher);
    queueMicrotask(() => {
      for (const event of backlog) if (!watcher.stopped) onEvent(event);
    });
    return {
      stop: () => {
        watcher.stopped = true;
        watchers.delete(watcher);
      },
    };
  }

  async get(resource: ResourceName, namespace: string | undefined, name: string): Promise<KubeObject> {
    const found = this.#table(resource).get(this.#key(resource, namespace, name));
    if (found === undefined) throw this.#notFound(resource, name);
    return clone(found);
  }

  /** Synchronous read for test assertions. */
  peek(resource: ResourceName, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.#table(resource).get(this.#key(resource, namespace, name));
    return found === undefined ? undefined : clone(found);
  }

  /** Synchronous list for test assertions. */
  all(resource: ResourceName): KubeObject[] {
    return [...this.#table(resource).values()].map(clone);
  }

  async create(resource: ResourceName, input: KubeObject): Promise<KubeObject> {
    this.#maybeFail('create', resource);
    const object = clone(input);
    const metadata = object.metadata;
    if (!metadata.name && metadata.generateName)
      metadata.name = `${metadata.generateName}${(++this.#names).toString(36).padStart(5, '0')}`;
    if (!metadata.name) throw new ApiError('Invalid', 'name or generateName is required');
    if (clusterScoped.has(resource)) delete metadata.namespace;
    else metadata.namespace ??= 'default';
    const key = this.#key(resource, metadata.namespace, metadata.name);
    const table = this.#table(resource);
    if (table.has(key))
      throw new ApiError('AlreadyExists', `${resource} "${metadata.name}" already exists`, {
        name: metadata.name,
        kind: resource,
      });
    metadata.uid = `uid-${++this.#uid}`;
    metadata.creationTimestamp = this.#timestamp();
    metadata.resourceVersion = String(++this.#revision);
    delete metadata.deletionTimestamp;
    if (generationTracked.has(resource)) metadata.generation = 1;
    table.set(key, object);
    this.writes.push({ method: 'create', resource, key });
    this.#emit(resource, 'ADDED', object);
    return clone(object);
  }

  #write(resource: ResourceName, key: string, next: KubeObject, method: Method): KubeObject {
    const table = this.#table(resource);
    next.metadata.resourceVersion = String(++this.#revision);
    this.writes.push({ method, resource, key });
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      table.delete(key);
      this.#emit(resource, 'DELETED', next);
    } else {
      table.set(key, next);
      this.#emit(resource, 'MODIFIED', next);
    }
    return clone(next);
  }

  #current(resource: ResourceName, object: KubeObject): { key: string; current: KubeObject } {
    const key = this.#key(resource, object.metadata.namespace, object.metadata.name ?? '');
    const current = this.#table(resource).get(key);
    if (current === undefined) throw this.#notFound(resource, object.metadata.name ?? '');
    const wanted = object.metadata.resourceVersion;
    if (wanted && wanted !== current.metadata.resourceVersion) {
      throw new ApiError(
        'Conflict',
        `Operation cannot be fulfilled on ${resource} "${object.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    return { key, current };
  }

  async update(resource: ResourceName, input: KubeObject): Promise<KubeObject> {
    this.#maybeFail('update', resource);
    const { key, current } = this.#current(resource, input);
    const next = clone(input);
    const m = next.metadata;
    const c = current.metadata;
    m.uid = c.uid;
    m.creationTimestamp = c.creationTimestamp;
    if (c.namespace !== undefined) m.namespace = c.namespace;
    if (c.deletionTimestamp) m.deletionTimestamp = c.deletionTimestamp;
    else delete m.deletionTimestamp;
    if (current.status !== undefined) next.status = clone(current.status);
    else delete next.status;
    if (generationTracked.has(resource))
      m.generation = (c.generation ?? 1) + (withoutStatus(current) !== withoutStatus(next) ? 1 : 0);
    if (
      JSON.stringify({ ...next, metadata: { ...m, resourceVersion: '' } }) ===
      JSON.stringify({ ...current, metadata: { ...c, resourceVersion: '' } })
    )
      return clone(current);
    return this.#write(resource, key, next, 'update');
  }

  async updateStatus(resource: ResourceName, input: KubeObject): Promise<KubeObject> {
    this.#maybeFail('updateStatus', resource);
    const { key, current } = this.#current(resource, input);
    const next = clone(current);
    if (input.status !== undefined) next.status = clone(input.status);
    else delete next.status;
    if (JSON.stringify(next.status) === JSON.stringify(current.status)) return clone(current);
    return this.#write(resource, key, next, 'updateStatus');
  }

  async delete(
    resource: ResourceName,
    namespace: string | undefined,
    name: string,
    request: DeleteRequest = {},
  ): Promise<void> {
    this.#maybeFail('delete', resource);
    const key = this.#key(resource, namespace, name);
    const current = this.#table(resource).get(key);
    if (current === undefined) throw this.#notFound(resource, name);
    if (request.preconditions?.uid && request.preconditions.uid !== current.metadata.uid) {
      throw new ApiError(
        'Conflict',
        `Precondition failed: UID in precondition: ${request.preconditions.uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    const next = clone(current);
    const finalizers = new Set(next.metadata.finalizers ?? []);
    // The API server turns the propagation policy into a finalizer that the garbage collector acts on.
    if (request.propagationPolicy === 'Foreground') finalizers.add('foregroundDeletion');
    if (request.propagationPolicy === 'Orphan') finalizers.add('orphan');
    if (finalizers.size > 0) next.metadata.finalizers = [...finalizers];
    next.metadata.deletionTimestamp ??= this.#timestamp();
    if (current.metadata.deletionTimestamp && JSON.stringify(next) === JSON.stringify(current)) return;
    this.#write(resource, key, next, 'delete');
  }

  async bind(namespace: string, name: string, nodeName: string): Promise<void> {
    this.#maybeFail('bind', 'pods');
    const key = this.#key('pods', namespace, name);
    const current = this.#table('pods').get(key);
    if (current === undefined) throw this.#notFound('pods', name);
    const spec = (current.spec ?? {}) as { nodeName?: string };
    if (current.metadata.deletionTimestamp)
      throw new ApiError('Conflict', `pod ${name} is being deleted, cannot be assigned to a host`);
    if (spec.nodeName) throw new ApiError('Conflict', `pod ${name} is already assigned to node "${spec.nodeName}"`);
    this.#write('pods', key, bindPod(clone(current), nodeName, undefined, this.#now()), 'bind');
  }

  /** Test helper: replaces an object's status directly, as an agent would report it. */
  async setStatus(
    resource: ResourceName,
    namespace: string | undefined,
    name: string,
    status: unknown,
  ): Promise<KubeObject> {
    const current = await this.get(resource, namespace, name);
    return this.updateStatus(resource, { ...current, status });
  }

  keyOf(object: KubeObject): string {
    return objectKey(object);
  }
}
