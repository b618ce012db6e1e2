/**
 * Roles and bindings for RBAC, held in memory and reloaded after any change to them: a watch on
 * their keys marks the cache stale, and the next decision reloads it. Requests never wait on the
 * datastore for policy unless policy just changed. While the datastore is unreachable the last
 * loaded policy keeps answering (health checks and cached decisions keep working).
 */
import type { KubeObject } from '../../kube/types.ts';
import type { Registry } from '../api/registry.ts';
import { findResource } from '../api/resources.ts';
import { keepTrying } from '../api/keep-trying.ts';
import type { WatchHandle } from '../storage/store.ts';
import type { Binding, PolicySource, Role } from './rbac.ts';

const kinds = ['clusterroles', 'roles', 'clusterrolebindings', 'rolebindings'] as const;
type Kind = (typeof kinds)[number];

export class PolicyCache implements PolicySource {
  readonly #registry: Registry;
  #snapshot: Record<Kind, KubeObject[]> | undefined;
  #stale = true;
  #reloadTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #loading: Promise<Record<Kind, KubeObject[]>> | undefined;
  #handles: WatchHandle[] = [];

  constructor(registry: Registry) {
    this.#registry = registry;
  }

  /** Loads the policy and starts watching for changes to it; call once before use. */
  async start(): Promise<void> {
    try {
      await this.#watchAll();
    } catch (err) {
      this.#detach(); // no half-started set of watches left behind for the next try
      throw err;
    }
  }

  async #watchAll(): Promise<void> {
    const revision = await this.#registry.storage.currentRevision();
    await this.#load();
    for (const kind of kinds) {
      const info = findResource('rbac.authorization.k8s.io', 'v1', kind)!;
      this.#handles.push(
        await this.#registry.storage.watch(this.#registry.prefix(info, undefined), revision, {
          onChange: () => this.#changed(),
          onError: () => {
            this.#stale = true;
            // The watch ended (datastore restart or compaction): stop caching until restarted.
            void this.#restart();
          },
        }),
      );
    }
  }

  /** Marks the policy stale and reloads it soon, so that it is fresh before anyone needs it. */
  #changed(): void {
    this.#stale = true;
    if (this.#reloadTimer) return;
    this.#reloadTimer = setTimeout(() => {
      this.#reloadTimer = undefined;
      this.#load().catch(() => undefined);
    }, 10);
    this.#reloadTimer.unref();
  }

  async #restart(): Promise<void> {
    this.#detach();
    await keepTrying(
      () => this.start(),
      () => this.#stopped,
    );
  }

  /** Ends the cache for good (server shutdown); a pending restart gives up. */
  stop(): void {
    this.#stopped = true;
    this.#detach();
  }

  #detach(): void {
    if (this.#reloadTimer) clearTimeout(this.#reloadTimer);
    this.#reloadTimer = undefined;
    for (const h of this.#handles) h.cancel();
    this.#handles = [];
    this.#stale = true;
  }

  async #load(): Promise<Record<Kind, KubeObject[]>> {
    if (this.#snapshot && !this.#stale && this.#handles.length > 0) return this.#snapshot;
    this.#loading ??= (async () => {
      try {
        this.#stale = false;
        const entries = await Promise.all(
          kinds.map(
            async (kind) =>
              [
                kind,
                (await this.#registry.list(findResource('rbac.authorization.k8s.io', 'v1', kind)!, undefined)).items,
              ] as const,
          ),
        );
        const snapshot = Object.fromEntries(entries) as Record<Kind, KubeObject[]>;
        this.#snapshot = snapshot;
        return snapshot;
      } catch (err) {
        this.#stale = true;
        if (this.#snapshot) return this.#snapshot;
        throw err;
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }

  async clusterRoles(): Promise<readonly Role[]> {
    return (await this.#load()).clusterroles as unknown as Role[];
  }
  async roles(): Promise<readonly Role[]> {
    return (await this.#load()).roles as unknown as Role[];
  }
  async clusterRoleBindings(): Promise<readonly Binding[]> {
    return (await this.#load()).clusterrolebindings as unknown as Binding[];
  }
  async roleBindings(): Promise<readonly Binding[]> {
    return (await this.#load()).rolebindings as unknown as Binding[];
  }
}
