/**
 * Roles and bindings for RBAC, held in memory and reloaded after any change to them: a watch on
 * their keys marks the cache stale, and the next decision reloads it. Requests never wait on the
 * datastore for policy unless policy just changed.
 */
import type { KubeObject } from '../../kube/types.ts';
import type { Registry } from '../api/registry.ts';
import { findResource } from '../api/resources.ts';
import type { WatchHandle } from '../storage/store.ts';
import type { Binding, PolicySource, Role } from './rbac.ts';

const kinds = ['clusterroles', 'roles', 'clusterrolebindings', 'rolebindings'] as const;
type Kind = (typeof kinds)[number];

export class PolicyCache implements PolicySource {
  readonly #registry: Registry;
  #snapshot: Record<Kind, KubeObject[]> | undefined;
  #loading: Promise<Record<Kind, KubeObject[]>> | undefined;
  #handles: WatchHandle[] = [];

  constructor(registry: Registry) {
    this.#registry = registry;
  }

  /** Starts watching for policy changes; call once before use. */
  async start(): Promise<void> {
    const revision = await this.#registry.storage.currentRevision();
    for (const kind of kinds) {
      const info = findResource('rbac.authorization.k8s.io', 'v1', kind)!;
      this.#handles.push(
        await this.#registry.storage.watch(this.#registry.prefix(info, undefined), revision, {
          onChange: () => (this.#snapshot = undefined),
          onError: () => {
            this.#snapshot = undefined;
            // The watch ended (datastore restart or compaction): stop caching until restarted.
            void this.#restart();
          },
        }),
      );
    }
  }

  async #restart(): Promise<void> {
    this.stop();
    for (let attempt = 0; attempt < 1000; attempt++) {
      try {
        await this.start();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  stop(): void {
    for (const h of this.#handles) h.cancel();
    this.#handles = [];
    this.#snapshot = undefined;
  }

  async #load(): Promise<Record<Kind, KubeObject[]>> {
    if (this.#snapshot && this.#handles.length > 0) return this.#snapshot;
    this.#loading ??= (async () => {
      try {
        const entries = await Promise.all(
          kinds.map(async (kind) => [kind, (await this.#registry.list(findResource('rbac.authorization.k8s.io', 'v1', kind)!, undefined)).items] as const),
        );
        const snapshot = Object.fromEntries(entries) as Record<Kind, KubeObject[]>;
        this.#snapshot = snapshot;
        return snapshot;
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
