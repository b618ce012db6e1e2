/**
 * A hollow node's container runtime: the stateful fake CRI (cri/fake.ts) with the sandbox image
 * present, no call log (it would grow without bound over a long run), and an optional latency on
 * the calls that take time on a real node (RunPodSandbox, CreateContainer, StartContainer; pulls
 * of absent images succeed at once).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FakeRuntime } from '../../cri/fake.ts';
import type { CallOptions } from '../../cri/runtime.ts';
import type { ContainerConfig, PodSandboxConfig } from '../../cri/types.ts';

export class HollowRuntime extends FakeRuntime {
  readonly #latencyMs: number;

  constructor(options: { pauseImage: string; latencyMs: number }) {
    super({ images: [options.pauseImage], record: false });
    this.#latencyMs = options.latencyMs;
  }

  async #delay(): Promise<void> {
    if (this.#latencyMs > 0) await sleep(this.#latencyMs);
  }

  override async runPodSandbox(config: PodSandboxConfig, runtimeHandler = '', options?: CallOptions): Promise<string> {
    await this.#delay();
    return super.runPodSandbox(config, runtimeHandler, options);
  }

  override async createContainer(
    podSandboxId: string,
    config: ContainerConfig,
    sandboxConfig: PodSandboxConfig,
    options?: CallOptions,
  ): Promise<string> {
    await this.#delay();
    return super.createContainer(podSandboxId, config, sandboxConfig, options);
  }

  override async startContainer(containerId: string, options?: CallOptions): Promise<void> {
    await this.#delay();
    return super.startContainer(containerId, options);
  }
}
