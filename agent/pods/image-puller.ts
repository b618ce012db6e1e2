/**
 * Makes a container's image present per its pull policy, one pull at a time on the node by
 * default (the kubelet's serializeImagePulls): Always pulls, IfNotPresent pulls when the runtime
 * lacks the image, Never refuses a missing image. Failures are ContainerStartErrors with the
 * reason the API shows.
 */
import type { CriRuntime } from '../../cri/runtime.ts';
import type { PodSandboxConfig } from '../../cri/types.ts';
import type { PullPolicy } from '../../kube/corev1.ts';
import { ContainerStartError } from './start-errors.ts';
import type { ImageUser } from './container-config.ts';

export interface PresentImage {
  /** The image ID containers are created from. */
  imageRef: string;
  user: ImageUser;
}

/** Told what ensure() did, for the pod's events (Pulling, Pulled). */
export interface PullObserver {
  pulling(): void;
  pulled(tookMs: number): void;
  alreadyPresent(): void;
}

export class ImagePuller {
  readonly #runtime: CriRuntime;
  readonly #serial: boolean;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(runtime: CriRuntime, options: { serial?: boolean } = {}) {
    this.#runtime = runtime;
    this.#serial = options.serial ?? true;
  }

  async ensure(image: string, policy: PullPolicy, sandboxConfig: PodSandboxConfig | undefined, observer?: PullObserver): Promise<PresentImage> {
    if (image.trim() === '') throw new ContainerStartError('InvalidImageName', 'the container names no image');
    if (policy !== 'Always') {
      const present = await this.#present(image);
      if (present !== undefined) {
        observer?.alreadyPresent();
        return present;
      }
      if (policy === 'Never') {
        throw new ContainerStartError('ErrImageNeverPull', `container image "${image}" is not present with pull policy of Never`);
      }
    }
    observer?.pulling();
    const started = performance.now();
    await this.#pull(image, sandboxConfig);
    observer?.pulled(Math.round(performance.now() - started));
    const present = await this.#present(image);
    if (present === undefined) throw new ContainerStartError('ErrImagePull', `image "${image}" is not present after pulling it`);
    return present;
  }

  async #present(image: string): Promise<PresentImage | undefined> {
    const status = await this.#runtime.imageStatus(image);
    if (status.image === undefined) return undefined;
    return {
      imageRef: status.image.id,
      user: { ...(status.image.uid !== undefined ? { uid: status.image.uid.value } : {}), username: status.image.username },
    };
  }

  #pull(image: string, sandboxConfig: PodSandboxConfig | undefined): Promise<void> {
    const pull = async () => {
      try {
        await this.#runtime.pullImage(image, undefined, sandboxConfig);
      } catch (err) {
        throw new ContainerStartError('ErrImagePull', `failed to pull image "${image}": ${(err as Error).message}`);
      }
    };
    if (!this.#serial) return pull();
    const turn = this.#queue.then(pull, pull);
    this.#queue = turn.catch(() => undefined);
    return turn;
  }
}
