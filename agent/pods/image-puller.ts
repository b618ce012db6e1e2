/**
 * Makes a container's image present per its pull policy, one pull at a time on the node by
 * default (the kubelet's serializeImagePulls): Always pulls, IfNotPresent pulls when the runtime
 * lacks the image, Never refuses a missing image. Failures are ContainerStartErrors with the
 * reason the API shows.
 *
 * Credentials come from the pod's image pull secrets, matched to the image's registry by the
 * keyring (agent/images/keyring.ts). As the kubelet does: no matching credential, one anonymous
 * pull; otherwise each matching credential in turn until one pulls, and no anonymous attempt
 * after them. The failure message is the runtime's error as the kubelet words a gRPC error
 * (`rpc error: code = Unknown desc = ...`), several of them joined as `[first, second]`.
 */
import type { CriRuntime } from '../../cri/runtime.ts';
import type { AuthConfig, PodSandboxConfig } from '../../cri/types.ts';
import { credentialsOfSecret, type PullSecret } from '../images/docker-config.ts';
import { imageRepository } from '../images/image-repository.ts';
import { buildKeyring, lookupCredentials } from '../images/keyring.ts';
import { pullErrorMessage } from '../images/pull-error.ts';
import type { PullPolicy } from '../../kube/corev1.ts';
import { ContainerStartError } from './start-errors.ts';
import type { ImageUser } from './container-config.ts';

export interface PresentImage {
  /** The image ID containers are created from. */
  imageRef: string;
  user: ImageUser;
}

/** Told what ensure() did, for the pod's events (Pulling, Pulled). */
interface PullObserver {
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

  async ensure(
    image: string,
    policy: PullPolicy,
    sandboxConfig: PodSandboxConfig | undefined,
    observer?: PullObserver,
    pullSecrets: readonly PullSecret[] = [],
  ): Promise<PresentImage> {
    if (image.trim() === '') throw new ContainerStartError('InvalidImageName', 'the container names no image');
    if (policy !== 'Always') {
      const present = await this.#present(image);
      if (present !== undefined) {
        observer?.alreadyPresent();
        return present;
      }
      if (policy === 'Never') {
        throw new ContainerStartError(
          'ErrImageNeverPull',
          `container image "${image}" is not present with pull policy of Never`,
        );
      }
    }
    observer?.pulling();
    const auths = authsFor(image, pullSecrets);
    const started = performance.now();
    await this.#pull(image, auths, sandboxConfig);
    observer?.pulled(Math.round(performance.now() - started));
    const present = await this.#present(image);
    if (present === undefined)
      throw new ContainerStartError('ErrImagePull', `image "${image}" is not present after pulling it`);
    return present;
  }

  async #present(image: string): Promise<PresentImage | undefined> {
    const status = await this.#runtime.imageStatus(image);
    if (status.image === undefined) return undefined;
    return {
      imageRef: status.image.id,
      user: {
        ...(status.image.uid !== undefined ? { uid: status.image.uid.value } : {}),
        username: status.image.username,
      },
    };
  }

  #pull(
    image: string,
    auths: readonly (AuthConfig | undefined)[],
    sandboxConfig: PodSandboxConfig | undefined,
  ): Promise<void> {
    const pull = async () => {
      const failures: unknown[] = [];
      for (const auth of auths) {
        try {
          await this.#runtime.pullImage(image, auth, sandboxConfig);
          return;
        } catch (err) {
          failures.push(err);
        }
      }
      throw new ContainerStartError('ErrImagePull', pullErrorMessage(failures));
    };
    if (!this.#serial) return pull();
    const turn = this.#queue.then(pull, pull);
    this.#queue = turn.catch(() => undefined);
    return turn;
  }
}

/** The pulls to try, in order: one per matching credential, or one anonymous pull (undefined). */
function authsFor(image: string, pullSecrets: readonly PullSecret[]): (AuthConfig | undefined)[] {
  let credentials;
  try {
    credentials = lookupCredentials(buildKeyring(pullSecrets.flatMap(credentialsOfSecret)), imageRepository(image));
  } catch (err) {
    throw new ContainerStartError('ErrImagePull', (err as Error).message);
  }
  if (credentials.length === 0) return [undefined];
  return credentials.map((c) => ({ username: c.username, password: c.password }));
}
