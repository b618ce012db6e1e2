/**
 * Carries out the planners' actions through the CRI runtime: thin on purpose. Every decision was
 * made by planPod / planTermination; this file only knows how to do each action, and how to
 * report a failed start with the reason the API shows.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CriRuntime } from '../../cri/runtime.ts';
import { CriError } from '../../cri/errors.ts';
import type { PodSandboxConfig } from '../../cri/types.ts';
import type { LifecycleHandler, Pod } from '../../kube/corev1.ts';
import type { Clock } from '../../kube/clock.ts';
import type { PodEvents } from '../events/pod-events.ts';
import { buildContainerConfig } from './container-config.ts';
import { pullPolicyOf, terminationGraceSecondsOf } from './defaults.ts';
import { resolveEnv, type FieldSources } from './env.ts';
import type { ImagePuller } from './image-puller.ts';
import type { NodePodSettings } from './node-settings.ts';
import { currentSandbox, latestInSandbox, podIPOf, type ObservedPod } from './observed.ts';
import type { PodAction } from './planner.ts';
import { allContainers, pidTargetOf, podKey, type PodContainer } from './pod-containers.ts';
import type { ProbeNetwork } from './probe-network.ts';
import { runHandler } from './probe-runner.ts';
import { buildSandboxConfig } from './sandbox-config.ts';
import { ContainerStartError } from './start-errors.ts';
import type { StopContainerAction, TerminationAction } from './termination-plan.ts';
import { planMounts, prepareMounts, terminationMessageFile } from './volumes.ts';
import { podPathProblems, requirePathPart, UnsafePodPathError } from './path-parts.ts';
import { checkInsideParent } from './volumes/inside-parent.ts';
import type { ConfigLookup } from './config-source.ts';
import { readPullSecrets } from './pull-secrets.ts';
import { resolveEnvSources } from './env-sources.ts';
import { PodVolumes } from './volume-manager.ts';

export { noConfigLookup, type ConfigLookup } from './config-source.ts';

export interface ExecutorDeps {
  runtime: CriRuntime;
  settings: NodePodSettings;
  images: ImagePuller;
  network: ProbeNetwork;
  clock: Clock;
  config: ConfigLookup;
  /** The node's pod volumes; without it each executor keeps its own (tests, benchmarks). */
  volumes?: PodVolumes;
  log: Logger;
  /** CRI runtime handler (RuntimeClass); '' for the default. */
  runtimeHandler?: string;
  /** Where the pod's events go (Pulled, Created, Started, Killing, ...); none when absent. */
  events?: PodEvents;
  /**
   * NetworkPolicy enforcement: resolves once the rules know the pod at its sandbox's address, so no
   * container of a pod that a policy isolates runs before the policy applies. None: not enforced.
   */
  networkPolicy?: { admitPod(pod: Pod, ip: string): Promise<void> };
}

export type ActionResult =
  | { ok: true }
  | {
      ok: false;
      action: PodAction | TerminationAction;
      container?: string;
      reason: string;
      message: string;
      sandboxAttempt?: number;
    };

/** Extra seconds a CRI stop call may take beyond the grace it was given, before we stop waiting. */
const stopCallSlackMs = 10_000;

export class PodExecutor {
  readonly #deps: ExecutorDeps;
  readonly #volumes: PodVolumes;

  constructor(deps: ExecutorDeps) {
    this.#deps = deps;
    this.#volumes = deps.volumes ?? new PodVolumes(deps);
  }

  sandboxConfigFor(pod: Pod, observed: ObservedPod): PodSandboxConfig {
    return buildSandboxConfig(pod, currentSandbox(observed)?.attempt ?? 0, this.#deps.settings);
  }

  async run(pod: Pod, observed: ObservedPod, action: PodAction): Promise<ActionResult> {
    try {
      await this.#run(pod, observed, action);
      return { ok: true };
    } catch (err) {
      return this.#failure(pod, action, err);
    }
  }

  #failure(pod: Pod, action: PodAction | TerminationAction, err: unknown): ActionResult {
    const message = (err as Error).message;
    this.#deps.log.warn({ pod: podKey(pod), action: action.kind, err: message }, 'pod action failed');
    if (err instanceof ContainerStartError) {
      return {
        ok: false,
        action,
        ...('name' in action ? { container: action.name } : {}),
        reason: err.reason,
        message,
      };
    }
    if (action.kind === 'createSandbox')
      return { ok: false, action, reason: 'FailedCreatePodSandBox', message, sandboxAttempt: action.attempt };
    return { ok: false, action, reason: err instanceof CriError ? err.code : 'Error', message };
  }

  async #run(pod: Pod, observed: ObservedPod, action: PodAction): Promise<void> {
    const { runtime } = this.#deps;
    switch (action.kind) {
      case 'createSandbox':
        return this.#createSandbox(pod, action.attempt);
      case 'killPod':
        return this.#killPod(pod, observed);
      case 'removeSandbox':
        await runtime.stopPodSandbox(action.sandboxId).catch(ignoreNotFound);
        return runtime.removePodSandbox(action.sandboxId);
      case 'startContainer': {
        const c = allContainers(pod).find((x) => x.spec.name === action.name);
        if (c === undefined) return;
        return this.#startContainer(pod, observed, c, action.attempt);
      }
      case 'killContainer': {
        const c = allContainers(pod).find((x) => x.spec.name === action.name);
        const target = observed.containers.find((x) => x.id === action.containerId);
        this.#deps.log.info({ pod: podKey(pod), container: action.name, reason: action.reason }, action.message);
        this.#deps.events?.killing(pod, action.name, action.message.charAt(0).toUpperCase() + action.message.slice(1));
        return this.stop(pod, observed, {
          kind: 'stopContainer',
          containerId: action.containerId,
          name: action.name,
          role: c?.role ?? 'main',
          preStop: target?.state === 'running' ? c?.spec.lifecycle?.preStop : undefined,
          graceSeconds: action.graceSeconds,
        });
      }
      case 'removeContainer':
        return runtime.removeContainer(action.containerId);
    }
  }

  /**
   * RunPodSandbox; when it fails, whatever it left under that name is stopped and removed so the
   * next attempt starts clean (the caller moves on to the next attempt number).
   */
  async #createSandbox(pod: Pod, attempt: number): Promise<void> {
    const { runtime, settings } = this.#deps;
    // a pod whose names would lead a path out of its folders gets nothing made on this node
    const problems = podPathProblems(pod);
    if (problems.length > 0)
      throw new UnsafePodPathError(`Pod "${pod.metadata.name ?? ''}" is invalid, refusing to start it`, problems);
    const config = buildSandboxConfig(pod, attempt, settings);
    await checkInsideParent(settings.podLogRoot, config.logDirectory!);
    await mkdir(config.logDirectory!, { recursive: true, mode: 0o755 });
    try {
      const sandboxMade = runtime.runPodSandbox(config, this.#deps.runtimeHandler ?? '');
      // once asked for: the set-up's file work must not hold up the sandbox, the longest step
      this.#setUpVolumesMeanwhile(pod);
      await sandboxMade;
      this.#deps.log.debug({ pod: podKey(pod), attempt }, 'pod sandbox ready');
    } catch (err) {
      const leftovers = await runtime.listPodSandbox({ labelSelector: config.labels! }).catch(() => []);
      for (const sandbox of leftovers) {
        if ((sandbox.metadata?.attempt ?? 0) !== attempt) continue;
        await runtime.stopPodSandbox(sandbox.id).catch(() => undefined);
        await runtime.removePodSandbox(sandbox.id).catch(() => undefined);
      }
      throw err;
    }
  }

  /**
   * Sets the pod's volumes up while the runtime makes its sandbox (the kubelet mounts them before
   * it asks for one): the service-account token, ConfigMaps and Secrets come from the API and the
   * files land on a fresh tmpfs, which under load took a third of a second that the first
   * container start then waited for. The start sets them up again with the sandbox's address,
   * finding them ready, and is still the one that reports a failure (ContainerCreating).
   */
  #setUpVolumesMeanwhile(pod: Pod): void {
    this.#volumes.setUp(pod, this.#fieldSources('')).catch(() => undefined);
  }

  /** What downward API values come from, for a pod at `podIP` ('' before its sandbox has one). */
  #fieldSources(podIP: string): FieldSources {
    const { settings } = this.#deps;
    return {
      podIP,
      podIPs: podIP ? [podIP] : [],
      hostIP: settings.nodeIP,
      nodeName: settings.nodeName,
      allocatable: settings.allocatable,
    };
  }

  async #killPod(pod: Pod, observed: ObservedPod): Promise<void> {
    const grace = terminationGraceSecondsOf(pod);
    await Promise.all(
      observed.containers
        .filter((c) => c.state === 'running' || c.state === 'created' || c.state === 'unknown')
        .map((c) =>
          this.#deps.runtime
            .stopContainer(c.id, grace, { timeoutMs: grace * 1000 + stopCallSlackMs })
            .catch(ignoreNotFound),
        ),
    );
    for (const sandbox of observed.sandboxes) {
      if (sandbox.ready) await this.#deps.runtime.stopPodSandbox(sandbox.id).catch(ignoreNotFound);
    }
  }

  async #startContainer(pod: Pod, observed: ObservedPod, c: PodContainer, attempt: number): Promise<void> {
    const { runtime, settings, images, config: lookup } = this.#deps;
    // ephemeral containers arrive after the sandbox's check of the pod: their fields are checked again here
    const problems = c.role === 'ephemeral' ? podPathProblems(pod) : [];
    if (problems.length > 0)
      throw new UnsafePodPathError(
        `Pod "${pod.metadata.name ?? ''}" is invalid, refusing to start ephemeral container ${c.spec.name}`,
        problems,
      );
    const sandbox = currentSandbox(observed);
    if (sandbox === undefined) throw new ContainerStartError('CreateContainerError', 'the pod has no sandbox');
    this.#deps.log.debug({ pod: podKey(pod), container: c.spec.name }, 'container starting');
    const sandboxConfig = buildSandboxConfig(pod, sandbox.attempt, settings);
    const events = this.#deps.events;
    const imageName = c.spec.image ?? '';
    const pullObserver =
      events === undefined
        ? undefined
        : {
            pulling: () => events.pulling(pod, c.spec.name, imageName),
            pulled: (tookMs: number) => events.pulled(pod, c.spec.name, imageName, tookMs, undefined),
            alreadyPresent: () => events.alreadyPresent(pod, c.spec.name, imageName),
          };
    const pullSecrets = await readPullSecrets(pod, lookup);
    if (pullSecrets.missing.length > 0) events?.missingPullSecrets(pod, pullSecrets.missing);
    const image = await images
      .ensure(imageName, pullPolicyOf(c.spec), sandboxConfig, pullObserver, pullSecrets.secrets)
      .catch((err) => {
        if (err instanceof ContainerStartError) throw err;
        throw new ContainerStartError('ErrImagePull', (err as Error).message);
      });
    const namespace = pod.metadata.namespace ?? 'default';
    const podIP = podIPOf(pod, sandbox, settings.nodeIP);
    const fields = this.#fieldSources(podIP);
    await this.#volumes.setUp(pod, fields);
    // values are taken now and kept for the container's life (upstream)
    const env = resolveEnv(pod, c.spec, { ...fields, ...(await resolveEnvSources(c.spec, namespace, lookup)) });
    const claimMounts = this.#volumes.claimMountsOf(pod.metadata.uid ?? '');
    const mounts = await prepareMounts(planMounts(pod, c.spec, attempt, settings, claimMounts));
    const pidTargetId = pidTargetIdOf(c, observed);
    const containerConfig = buildContainerConfig(pod, c, attempt, {
      ...(pidTargetId !== undefined ? { pidTargetId } : {}),
      imageRef: image.imageRef,
      env,
      mounts,
      terminationMessageFile: terminationMessageFile(settings, pod.metadata.uid ?? '', c.spec.name, attempt),
      imageUser: image.user,
      memoryCapacityBytes: settings.allocatable.memoryBytes,
    });
    // the runtime writes the container's log under the sandbox's log folder
    const logDirectory = join(sandboxConfig.logDirectory!, requirePathPart('container name', c.spec.name));
    await checkInsideParent(settings.podLogRoot, logDirectory);
    await mkdir(logDirectory, { recursive: true });
    if (this.#deps.networkPolicy !== undefined && pod.spec.hostNetwork !== true && podIP !== '') {
      await this.#deps.networkPolicy.admitPod(pod, podIP).catch((err: Error) => {
        throw new ContainerStartError('CreateContainerError', err.message);
      });
    }
    let id: string;
    try {
      id = await runtime.createContainer(sandbox.id, containerConfig, sandboxConfig);
    } catch (err) {
      throw new ContainerStartError('CreateContainerError', (err as Error).message);
    }
    events?.created(pod, c.spec.name);
    try {
      await runtime.startContainer(id);
    } catch (err) {
      // a container that never started is of no use; the next plan starts a fresh one
      await runtime.removeContainer(id).catch(() => undefined);
      throw new ContainerStartError('RunContainerError', (err as Error).message);
    }
    events?.started(pod, c.spec.name);
    this.#deps.log.debug({ pod: podKey(pod), container: c.spec.name }, 'container started');
    const postStart = c.spec.lifecycle?.postStart;
    if (postStart !== undefined) {
      const grace = terminationGraceSecondsOf(pod);
      const outcome = await runHandler(
        postStart,
        { containerId: id, container: c.spec, podIP },
        grace * 1000,
        this.#tools(),
      );
      if (outcome.kind !== 'success') {
        await runtime.stopContainer(id, grace).catch(ignoreNotFound);
        throw new ContainerStartError('PostStartHookError', `PostStartHook failed: ${outcome.message}`);
      }
    }
  }

  #tools() {
    return { runtime: this.#deps.runtime, network: this.#deps.network, clock: this.#deps.clock };
  }

  /** Runs a preStop hook (bounded by the grace period), then StopContainer with what is left of it. */
  async stop(pod: Pod, observed: ObservedPod, action: StopContainerAction): Promise<void> {
    const { runtime, clock } = this.#deps;
    const started = clock.now();
    let grace = action.graceSeconds;
    if (action.preStop !== undefined && grace > 0) {
      await this.#preStop(pod, observed, action, action.preStop, grace);
      grace = Math.max(0, grace - Math.floor((clock.now() - started) / 1000));
    }
    await runtime
      .stopContainer(action.containerId, grace, { timeoutMs: grace * 1000 + stopCallSlackMs })
      .catch(ignoreNotFound);
  }

  async #preStop(
    pod: Pod,
    observed: ObservedPod,
    action: StopContainerAction,
    hook: LifecycleHandler,
    graceSeconds: number,
  ): Promise<void> {
    const spec = allContainers(pod).find((c) => c.spec.name === action.name)?.spec;
    if (spec === undefined) return;
    const podIP = podIPOf(pod, currentSandbox(observed), this.#deps.settings.nodeIP);
    const outcome = await runHandler(
      hook,
      { containerId: action.containerId, container: spec, podIP },
      graceSeconds * 1000,
      this.#tools(),
    );
    if (outcome.kind !== 'success') {
      this.#deps.log.warn(
        { pod: podKey(pod), container: action.name, outcome: outcome.kind },
        `preStop hook did not succeed: ${outcome.message}`,
      );
    }
  }

  async runTermination(
    pod: Pod,
    observed: ObservedPod,
    actions: readonly TerminationAction[],
  ): Promise<ActionResult[]> {
    return Promise.all(
      actions.map(async (action): Promise<ActionResult> => {
        try {
          if (action.kind === 'stopContainer') {
            this.#deps.events?.killing(pod, action.name, undefined);
            await this.stop(pod, observed, action);
          } else await this.#deps.runtime.stopPodSandbox(action.sandboxId).catch(ignoreNotFound);
          return { ok: true };
        } catch (err) {
          return this.#failure(pod, action, err);
        }
      }),
    );
  }

  /** Removes every sandbox (and with it every container) of a pod that is gone for good. */
  async removeAll(observed: ObservedPod): Promise<void> {
    for (const sandbox of observed.sandboxes) {
      await this.#deps.runtime.stopPodSandbox(sandbox.id).catch(ignoreNotFound);
      await this.#deps.runtime.removePodSandbox(sandbox.id);
    }
  }
}

function ignoreNotFound(err: unknown): void {
  if (err instanceof CriError && err.code === 'BOSUN_CRI_NOT_FOUND') return;
  throw err;
}

/** The running container an ephemeral container's process namespace joins; refuses to start it while its target does not run. */
function pidTargetIdOf(c: PodContainer, observed: ObservedPod): string | undefined {
  const target = pidTargetOf(c);
  if (target === undefined) return undefined;
  const running = latestInSandbox(observed, target);
  if (running?.state !== 'running')
    throw new ContainerStartError(
      'CreateContainerConfigError',
      `target container "${target}" of ephemeral container "${c.spec.name}" is not running`,
    );
  return running.id;
}
