/**
 * The seam between bosun and a container runtime: everything the agent and `bosun cri` ask of
 * CRI. The gRPC client (client.ts) and the fake runtime (fake.ts) both implement it, so code above
 * this seam is tested against the fake and run against containerd.
 *
 * Contract, as CRI defines it and as the fake enforces it:
 *  - Stop* and Remove* are idempotent: stopping something stopped, or removing something already
 *    gone, succeeds.
 *  - *Status of an unknown ID fails with a CriError whose code is 'BOSUN_CRI_NOT_FOUND'; imageStatus of
 *    an unknown image instead answers with `image` absent.
 *  - Every failure is a CriError (errors.ts); callers branch on `err.code`, never on the text.
 *  - Returned objects are the caller's: mutating them changes nothing in the runtime.
 */
import type {
  AttachRequest,
  AuthConfig,
  CgroupDriver,
  Container,
  ContainerConfig,
  ContainerEvent,
  ContainerFilter,
  ContainerStats,
  ContainerStatsFilter,
  ContainerStatusResponse,
  ExecRequest,
  ExecSyncResponse,
  Image,
  ImageFsInfoResponse,
  ImageStatusResponse,
  LinuxContainerResources,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxFilter,
  PodSandboxStats,
  PodSandboxStatsFilter,
  PodSandboxStatusResponse,
  StatusResponse,
  VersionResponse,
} from './types.ts';

/** Per-call knobs; every method takes them last. */
export interface CallOptions {
  /** Overrides the method's default deadline (milliseconds from now). */
  timeoutMs?: number;
  /** Cancels the call; it then fails with code 'BOSUN_CRI_CANCELLED'. */
  signal?: AbortSignal;
}

export interface RuntimeService {
  version(options?: CallOptions): Promise<VersionResponse>;
  status(verbose?: boolean, options?: CallOptions): Promise<StatusResponse>;
  /** Tells the runtime the node's pod CIDR, as the kubelet does once it knows it. */
  updateRuntimeConfig(podCidr: string, options?: CallOptions): Promise<void>;
  /**
   * The runtime's cgroup driver. containerd 1.6 answers 'BOSUN_CRI_UNIMPLEMENTED': callers then fall
   * back to their own detection.
   */
  runtimeConfig(options?: CallOptions): Promise<{ cgroupDriver?: CgroupDriver }>;

  /** Returns the new sandbox's ID. */
  runPodSandbox(config: PodSandboxConfig, runtimeHandler?: string, options?: CallOptions): Promise<string>;
  stopPodSandbox(podSandboxId: string, options?: CallOptions): Promise<void>;
  removePodSandbox(podSandboxId: string, options?: CallOptions): Promise<void>;
  podSandboxStatus(podSandboxId: string, verbose?: boolean, options?: CallOptions): Promise<PodSandboxStatusResponse>;
  listPodSandbox(filter?: PodSandboxFilter, options?: CallOptions): Promise<PodSandbox[]>;

  /** Returns the new container's ID. `sandboxConfig` is the one the sandbox was run with. */
  createContainer(
    podSandboxId: string,
    config: ContainerConfig,
    sandboxConfig: PodSandboxConfig,
    options?: CallOptions,
  ): Promise<string>;
  startContainer(containerId: string, options?: CallOptions): Promise<void>;
  /** Signals the container, then kills it after `timeoutSec` seconds (0: kill at once). */
  stopContainer(containerId: string, timeoutSec: number, options?: CallOptions): Promise<void>;
  removeContainer(containerId: string, options?: CallOptions): Promise<void>;
  listContainers(filter?: ContainerFilter, options?: CallOptions): Promise<Container[]>;
  containerStatus(containerId: string, verbose?: boolean, options?: CallOptions): Promise<ContainerStatusResponse>;
  updateContainerResources(containerId: string, linux: LinuxContainerResources, options?: CallOptions): Promise<void>;
  reopenContainerLog(containerId: string, options?: CallOptions): Promise<void>;

  /** Runs a command to completion; `timeoutSec` 0 means no limit on the runtime's side. */
  execSync(
    containerId: string,
    cmd: readonly string[],
    timeoutSec: number,
    options?: CallOptions,
  ): Promise<ExecSyncResponse>;
  /** The streaming URLs (see stream.ts to use them). */
  exec(request: ExecRequest, options?: CallOptions): Promise<string>;
  attach(request: AttachRequest, options?: CallOptions): Promise<string>;
  portForward(podSandboxId: string, ports: readonly number[], options?: CallOptions): Promise<string>;

  containerStats(containerId: string, options?: CallOptions): Promise<ContainerStats>;
  listContainerStats(filter?: ContainerStatsFilter, options?: CallOptions): Promise<ContainerStats[]>;
  /** May fail with 'BOSUN_CRI_UNIMPLEMENTED' (containerd 1.6 has it; older runtimes may not). */
  podSandboxStats(podSandboxId: string, options?: CallOptions): Promise<PodSandboxStats>;
  listPodSandboxStats(filter?: PodSandboxStatsFilter, options?: CallOptions): Promise<PodSandboxStats[]>;

  /**
   * Container lifecycle events as the runtime pushes them. Fails with 'BOSUN_CRI_UNIMPLEMENTED' on
   * runtimes without the stream (containerd 1.6); events.ts falls back to relisting then.
   * Failures surface when iteration starts, never from the call itself. Ends when
   * `options.signal` aborts.
   */
  containerEvents(options?: CallOptions): AsyncIterable<ContainerEvent>;
}

interface ImageService {
  listImages(filter?: { image?: { image: string } }, options?: CallOptions): Promise<Image[]>;
  imageStatus(ref: string, verbose?: boolean, options?: CallOptions): Promise<ImageStatusResponse>;
  /** Returns the image reference the runtime resolved (an image ID or digest). */
  pullImage(ref: string, auth?: AuthConfig, sandboxConfig?: PodSandboxConfig, options?: CallOptions): Promise<string>;
  removeImage(ref: string, options?: CallOptions): Promise<void>;
  imageFsInfo(options?: CallOptions): Promise<ImageFsInfoResponse>;
}

/** A connection to one runtime. close() is idempotent; calls after it fail with 'BOSUN_CRI_CLOSED'. */
export interface CriRuntime extends RuntimeService, ImageService {
  /** The endpoint this runtime was reached at, e.g. 'unix:///run/containerd/containerd.sock'. */
  readonly endpoint: string;
  close(): void;
}
