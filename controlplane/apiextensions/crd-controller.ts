/**
 * The CustomResourceDefinition controller that every API server runs for itself (as upstream's
 * apiextensions server runs its naming, establishing and finalizing controllers in-process): it
 * follows the definitions through the registry, writes their status (names accepted,
 * Established, storedVersions), serves the versions of the established ones at once (routing,
 * discovery and OpenAPI read the served table), and empties a definition being deleted of its
 * objects before letting the deletion finish.
 */
import type { Logger } from 'pino';
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Registry } from '../api/registry.ts';
import { findResource, type ResourceInfo, serveCustomResources } from '../api/resources.ts';
import { type Crd, cleanupFinalizer, crdGroup, crdResource, namesWithDefaults, storageVersion } from './crd.ts';
import { desiredStatuses } from './crd-status.ts';
import { CustomResourceLifecycle } from './custom-resource-lifecycle.ts';
import { servedVersions } from './served-resources.ts';
import type { ServiceLookups } from '../admission/webhooks/client.ts';

/** How often a definition being deleted looks again at what is left of its objects. */
const cleanupRetryMs = 500;

export class CrdController {
  readonly #registry: Registry;
  readonly #logger: Logger;
  readonly #info: ResourceInfo;
  readonly #crds = new Map<string, Crd>();
  #watch: { cancel(): void } | undefined;
  #syncing = false;
  #again = false;
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #lifecycle: CustomResourceLifecycle;
  /** Where conversion webhooks behind a Service are found. */
  readonly #lookups: ServiceLookups | undefined;

  constructor(registry: Registry, logger: Logger, lookups?: ServiceLookups) {
    this.#registry = registry;
    this.#logger = logger;
    this.#lookups = lookups;
    this.#info = findResource(crdGroup, 'v1', crdResource)!;
    this.#lifecycle = new CustomResourceLifecycle(registry, logger);
  }

  /** Reads every definition, serves the established ones, then follows changes. */
  async start(): Promise<void> {
    await this.#lifecycle.start();
    const list = await this.#registry.list(this.#info, undefined);
    for (const item of list.items) this.#crds.set(item.metadata.name ?? '', item as Crd);
    this.#serve();
    this.#watch = await this.#registry.watch(
      this.#info,
      undefined,
      Number(list.metadata.resourceVersion ?? '0'),
      {},
      (event) => {
        const name = event.object.metadata.name ?? '';
        if (event.type === 'DELETED') this.#crds.delete(name);
        else this.#crds.set(name, event.object as Crd);
        this.#kick();
      },
      (err) => this.#logger.warn({ err }, 'CustomResourceDefinition watch failed'),
    );
    this.#kick();
  }

  stop(): void {
    this.#stopped = true;
    this.#watch?.cancel();
    this.#lifecycle.stop();
    clearTimeout(this.#retry);
    serveCustomResources([]);
  }

  /** One sync at a time; changes during a sync make it run again (the latest state wins). */
  #kick(): void {
    if (this.#stopped) return;
    if (this.#syncing) {
      this.#again = true;
      return;
    }
    this.#syncing = true;
    void this.#sync()
      .catch((err: unknown) => this.#logger.warn({ err }, 'CustomResourceDefinition sync failed'))
      .finally(() => {
        this.#syncing = false;
        if (this.#again) {
          this.#again = false;
          this.#kick();
        }
      });
  }

  #serve(): void {
    const served = [...this.#crds.values()].flatMap((crd) => servedVersions(crd, this.#lookups));
    serveCustomResources(served);
    this.#lifecycle
      .follow(served)
      .catch((err: unknown) => this.#logger.warn({ err }, 'following custom resources failed'));
  }

  async #sync(): Promise<void> {
    this.#serve();
    const wanted = desiredStatuses([...this.#crds.values()], new Date());
    for (const [name, status] of wanted) {
      const crd = this.#crds.get(name);
      if (crd === undefined || JSON.stringify(crd.status ?? {}) === JSON.stringify(status)) continue;
      await this.#write(name, 'status', (current) => ({ ...current, status }));
    }
    let pending = false;
    for (const crd of this.#crds.values()) {
      if (crd.metadata.deletionTimestamp === undefined || !(crd.metadata.finalizers ?? []).includes(cleanupFinalizer))
        continue;
      if (!(await this.#cleanUp(crd))) pending = true;
    }
    if (pending && !this.#stopped) {
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => this.#kick(), cleanupRetryMs);
    }
  }

  async #write(
    name: string,
    subresource: 'status' | undefined,
    change: (current: KubeObject) => KubeObject,
  ): Promise<void> {
    try {
      await this.#registry.guaranteedUpdate(this.#info, undefined, name, subresource, change);
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
    }
  }

  /** Deletes the definition's objects; true once none is left and the finalizer is gone. */
  async #cleanUp(crd: Crd): Promise<boolean> {
    const info = storageResource(crd, this.#lookups);
    if (info !== undefined) {
      const left = (await this.#registry.list(info, undefined)).items;
      for (const object of left) {
        if (object.metadata.deletionTimestamp !== undefined) continue;
        await this.#registry
          .delete(info, object.metadata.namespace, object.metadata.name ?? '')
          .catch((err: unknown) => {
            if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
          });
      }
      if (left.length > 0) return false;
    }
    await this.#write(crd.metadata.name ?? '', undefined, (current) => ({
      ...current,
      metadata: {
        ...current.metadata,
        finalizers: (current.metadata.finalizers ?? []).filter((f) => f !== cleanupFinalizer),
      },
    }));
    return true;
  }
}

/** The storage version's resource, served or not (a definition being deleted may no longer be established). */
function storageResource(crd: Crd, lookups: ServiceLookups | undefined): ResourceInfo | undefined {
  const storage = storageVersion(crd);
  if (storage === undefined) return undefined;
  const established: Crd = {
    ...crd,
    spec: { ...crd.spec, versions: [{ ...storage, served: true }] },
    status: {
      ...crd.status,
      acceptedNames: namesWithDefaults(crd.spec.names),
      conditions: [{ type: 'Established', status: 'True' }],
    },
  };
  return servedVersions(established, lookups)[0];
}
