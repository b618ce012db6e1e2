/**
 * A steady, bounded client load: a loop that writes a counter into one of a few ConfigMaps and
 * reads another back, at a fixed pace, for at most `maxOps` iterations and until stopped. It keeps
 * the highest counter the server acknowledged (2xx) per ConfigMap, for the lost-write invariant.
 */
import type { KubeClient } from '../../kube/client.ts';
import { refs } from '../../kube/resource-ref.ts';
import type { ConfigMap } from '../../kube/corev1.ts';
import { soakNamespace } from './workload.ts';

export const loadLabel = { 'soak.bosun.dev/load': 'true' } as const;

interface LoadOptions {
  objects: number;
  intervalMs: number;
  maxOps: number;
}

export interface LoadStats {
  ops: number;
  acknowledged: number;
  failed: number;
}

const objectName = (i: number) => `load-${i}`;

export class ClientLoad {
  readonly acknowledged = new Map<string, number>();
  readonly stats: LoadStats = { ops: 0, acknowledged: 0, failed: 0 };
  readonly #client: KubeClient;
  readonly #options: LoadOptions;
  #stopped = false;
  #loop: Promise<void> | undefined;

  constructor(client: KubeClient, options: LoadOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** Creates the ConfigMaps (counter 0, acknowledged like any other write). */
  async prepare(): Promise<void> {
    for (let i = 0; i < this.#options.objects; i++) {
      const name = objectName(i);
      await this.#client.create<ConfigMap>(refs.configmaps, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: soakNamespace, labels: { ...loadLabel } },
        data: { counter: '0' },
      });
      this.acknowledged.set(name, 0);
    }
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<LoadStats> {
    this.#stopped = true;
    await this.#loop;
    return this.stats;
  }

  async #run(): Promise<void> {
    for (let op = 1; op <= this.#options.maxOps && !this.#stopped; op++) {
      this.stats.ops++;
      const name = objectName(op % this.#options.objects);
      try {
        await this.#client.patch(
          refs.configmaps,
          name,
          { data: { counter: String(op) } },
          { namespace: soakNamespace },
        );
        // a later acknowledgement always carries a higher counter: ops are sequential
        this.acknowledged.set(name, op);
        this.stats.acknowledged++;
        await this.#client.get(refs.configmaps, objectName((op + 1) % this.#options.objects), soakNamespace);
      } catch {
        // the server is down or cut off: not acknowledged, so the invariant asks nothing of it
        this.stats.failed++;
      }
      await new Promise((resolve) => setTimeout(resolve, this.#options.intervalMs));
    }
  }
}
