/**
 * A stateful, in-memory CRI runtime for tests of everything above the CRI seam.
 *
 * It keeps sandboxes, containers and images with containerd's state rules, so code under test
 * meets the same answers it would get from containerd 1.6 (probed against it, see
 * test/cri/fake.test.ts):
 *  - IDs are 64 hex characters derived from a counter: the same sequence of calls gives the same
 *    IDs in every run; a unique ID prefix is accepted wherever an ID is, as containerd does.
 *  - Names are reserved like containerd's: a second sandbox with the same metadata, or a second
 *    container with the same name+attempt in a sandbox, fails with 'BOSUN_CRI_RUNTIME'.
 *  - StopPodSandbox / StopContainer of an unknown ID fail with 'BOSUN_CRI_NOT_FOUND' (containerd does
 *    that too, though CRI calls them idempotent); Remove* of an unknown ID succeed.
 *  - CreateContainer needs a READY sandbox and a present image; StartContainer needs CREATED and
 *    a READY sandbox; ExecSync needs RUNNING. Stopping a sandbox kills its running containers
 *    (exit 137); stopping a container that never started leaves it CREATED.
 *  test/cri/cri-behaviour-suite.ts holds this fake and real containerd to the same behaviour.
 *  - GetContainerEvents is Unimplemented unless constructed with `{ events: true }`.
 *
 * Test controls: `calls` records every call (method and a copy of the arguments);
 * `queueError(method, error)` makes the next call of that method fail (FIFO per method) before
 * it changes anything; `exitContainer()` simulates a process exiting by itself; `onExecSync`
 * decides what ExecSync answers; `now` injects the clock.
 */
import { createHash } from 'node:crypto';
import {
  CriClosedError,
  CriError,
  CriNotFoundError,
  CriRuntimeError,
  CriUnimplementedError,
  CriInvalidArgumentError,
} from './errors.ts';
import type { CallOptions, CriRuntime } from './runtime.ts';
import type {
  AttachRequest,
  AuthConfig,
  CgroupDriver,
  Container,
  ContainerConfig,
  ContainerEvent,
  ContainerEventType,
  ContainerFilter,
  ContainerStats,
  ContainerStatsFilter,
  ContainerStatus,
  ContainerStatusResponse,
  ExecRequest,
  ExecSyncResponse,
  Image,
  ImageFsInfoResponse,
  ImageStatusResponse,
  Labels,
  LinuxContainerResources,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxFilter,
  PodSandboxStats,
  PodSandboxStatsFilter,
  PodSandboxStatus,
  PodSandboxStatusResponse,
  RuntimeCondition,
  StatusResponse,
  VersionResponse,
} from './types.ts';

/** Names of the CriRuntime methods, for queueError() and callsOf(). */
type FakeMethod = Exclude<keyof CriRuntime, 'endpoint' | 'close'>;

interface FakeCall {
  method: FakeMethod;
  args: unknown[];
}

interface FakeOptions {
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number;
  /** Images present from the start (references like 'localhost/bosun/pause:3.10'). */
  images?: readonly string[];
  /** Offer GetContainerEvents (containerd 1.6 does not). */
  events?: boolean;
  /** Record every call in `calls` (default true); long-running users turn it off to keep memory flat. */
  record?: boolean;
}

interface SandboxRecord {
  status: PodSandboxStatus;
  config: PodSandboxConfig;
}

interface ContainerRecord {
  status: ContainerStatus;
  podSandboxId: string;
  config: ContainerConfig;
}

type ExecSyncHandler = (containerId: string, cmd: readonly string[]) => Partial<ExecSyncResponse>;

const nsPerMs = 1_000_000;

export class FakeRuntime implements CriRuntime {
  readonly endpoint = 'fake://runtime';
  readonly calls: FakeCall[] = [];
  /** What ExecSync answers; default: exit 0, no output. */
  onExecSync: ExecSyncHandler = () => ({});
  readonly conditions: RuntimeCondition[] = [
    { type: 'RuntimeReady', status: true, reason: '', message: '' },
    { type: 'NetworkReady', status: true, reason: '', message: '' },
  ];

  readonly #now: () => number;
  readonly #events: boolean;
  readonly #record: boolean;
  readonly #sandboxes = new Map<string, SandboxRecord>();
  readonly #containers = new Map<string, ContainerRecord>();
  readonly #images = new Map<string, Image>();
  readonly #reservedNames = new Map<string, string>();
  readonly #queuedErrors = new Map<FakeMethod, CriError[]>();
  readonly #subscribers = new Set<(event: ContainerEvent) => void>();
  #counter = 0;
  #closed = false;

  constructor(options: FakeOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#events = options.events ?? false;
    this.#record = options.record ?? true;
    for (const ref of options.images ?? []) this.addImage(ref);
  }

  // ---------------------------------------------------------------- test controls

  /** The next call of `method` fails with `error` (queued errors are used in order). */
  queueError(method: FakeMethod, error: CriError): void {
    const queue = this.#queuedErrors.get(method) ?? [];
    queue.push(error);
    this.#queuedErrors.set(method, queue);
  }

  callsOf(method: FakeMethod): unknown[][] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args);
  }

  /** Makes an image present, as an import would. Returns its ID. */
  addImage(ref: string, size = 1_000_000): string {
    const name = normalizeImageRef(ref);
    const id = `sha256:${hexOf(`image:${name}`)}`;
    const existing = this.#images.get(id);
    if (existing) {
      if (!existing.repoTags.includes(name)) existing.repoTags.push(name);
      return id;
    }
    this.#images.set(id, {
      id,
      repoTags: [name],
      repoDigests: [`${name.replace(/:[^:/]+$/, '')}@sha256:${hexOf(`digest:${name}`)}`],
      size,
      username: '',
      pinned: false,
      imageSource: '',
    });
    return id;
  }

  /** Simulates the container's process exiting on its own. */
  exitContainer(containerId: string, exitCode: number, reason?: string, message = ''): void {
    const record = this.#container(containerId);
    if (record.status.state !== 'CONTAINER_RUNNING') {
      throw new Error(`fake: container ${containerId} is ${record.status.state}, cannot exit`);
    }
    this.#finish(record, exitCode, reason ?? (exitCode === 0 ? 'Completed' : 'Error'), message);
  }

  // ---------------------------------------------------------------- plumbing

  #enter(method: FakeMethod, args: unknown[], options?: CallOptions): void {
    if (this.#record) this.calls.push({ method, args: structuredClone(args) });
    if (this.#closed) throw new CriClosedError('the fake runtime is closed', { method });
    if (options?.signal?.aborted) throw new CriError('BOSUN_CRI_CANCELLED', `${method} was cancelled`, { method });
    const queued = this.#queuedErrors.get(method)?.shift();
    if (queued) throw queued;
  }

  #nextId(kind: string): string {
    this.#counter += 1;
    return hexOf(`${kind}:${this.#counter}`);
  }

  #nowNs(): number {
    return this.#now() * nsPerMs;
  }

  /** Exact ID or unique prefix, as containerd resolves them. */
  #resolve<T>(map: Map<string, T>, idOrPrefix: string, kind: 'sandbox' | 'container'): T | undefined {
    const exact = map.get(idOrPrefix);
    if (exact !== undefined || idOrPrefix === '') return exact;
    const matches = [...map.keys()].filter((id) => id.startsWith(idOrPrefix));
    if (matches.length > 1) throw new CriRuntimeError(`${kind} ID prefix "${idOrPrefix}" is ambiguous`);
    return matches.length === 1 ? map.get(matches[0]!) : undefined;
  }

  #sandbox(id: string): SandboxRecord {
    const record = this.#resolve(this.#sandboxes, id, 'sandbox');
    if (!record) {
      throw new CriNotFoundError(`not found: an error occurred when try to find sandbox "${id}": not found`);
    }
    return record;
  }

  #container(id: string): ContainerRecord {
    const record = this.#resolve(this.#containers, id, 'container');
    if (!record) {
      throw new CriNotFoundError(`not found: an error occurred when try to find container "${id}": not found`);
    }
    return record;
  }

  #finish(record: ContainerRecord, exitCode: number, reason: string, message: string): void {
    record.status.state = 'CONTAINER_EXITED';
    record.status.exitCode = exitCode;
    record.status.finishedAt = this.#nowNs();
    record.status.reason = reason;
    record.status.message = message;
    this.#emit(record.status.id, 'CONTAINER_STOPPED_EVENT');
  }

  #emit(containerId: string, type: ContainerEventType): void {
    if (this.#subscribers.size === 0) return;
    const record = this.#containers.get(containerId);
    const sandbox = record ? this.#sandboxes.get(record.podSandboxId) : undefined;
    const event: ContainerEvent = {
      containerId,
      containerEventType: type,
      createdAt: this.#nowNs(),
      ...(sandbox ? { podSandboxStatus: structuredClone(sandbox.status) } : {}),
      containersStatuses: record ? [structuredClone(record.status)] : [],
    };
    for (const subscriber of this.#subscribers) subscriber(event);
  }

  #findImage(ref: string): Image | undefined {
    if (ref === '') return undefined;
    const direct = this.#images.get(ref) ?? this.#images.get(`sha256:${ref}`);
    if (direct) return direct;
    const name = normalizeImageRef(ref);
    for (const image of this.#images.values()) {
      if (image.repoTags.includes(name) || image.repoDigests.includes(ref)) return image;
    }
    const hex = ref.replace(/^sha256:/, '');
    if (/^[0-9a-f]+$/.test(hex)) {
      const matches = [...this.#images.values()].filter((image) => image.id.slice('sha256:'.length).startsWith(hex));
      if (matches.length === 1) return matches[0];
    }
    return undefined;
  }

  // ---------------------------------------------------------------- runtime service

  async version(options?: CallOptions): Promise<VersionResponse> {
    this.#enter('version', [], options);
    return { version: '0.1.0', runtimeName: 'fake', runtimeVersion: '0.0.0', runtimeApiVersion: 'v1' };
  }

  async status(verbose = false, options?: CallOptions): Promise<StatusResponse> {
    this.#enter('status', [verbose], options);
    return {
      status: { conditions: structuredClone(this.conditions) },
      info: verbose ? { config: '{}' } : {},
      runtimeHandlers: [{ name: '', features: { recursiveReadOnlyMounts: false, userNamespaces: false } }],
    };
  }

  /** The pod CIDR last given through updateRuntimeConfig. */
  podCidr = '';
  /** What runtimeConfig answers; undefined: Unimplemented, as containerd 1.6. */
  cgroupDriver: CgroupDriver | undefined;

  async updateRuntimeConfig(podCidr: string, options?: CallOptions): Promise<void> {
    this.#enter('updateRuntimeConfig', [podCidr], options);
    this.podCidr = podCidr;
  }

  async runtimeConfig(options?: CallOptions): Promise<{ cgroupDriver?: CgroupDriver }> {
    this.#enter('runtimeConfig', [], options);
    if (this.cgroupDriver === undefined) {
      throw new CriUnimplementedError('fake runtime does not implement RuntimeConfig', { method: 'RuntimeConfig' });
    }
    return { cgroupDriver: this.cgroupDriver };
  }

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = '', options?: CallOptions): Promise<string> {
    this.#enter('runPodSandbox', [config, runtimeHandler], options);
    const meta = config.metadata;
    if (!meta?.name || !meta.namespace || !meta.uid) {
      throw new CriInvalidArgumentError(
        'RunPodSandbox refused its input: sandbox metadata needs name, namespace and uid',
      );
    }
    const attempt = meta.attempt ?? 0;
    const name = `${meta.name}_${meta.namespace}_${meta.uid}_${attempt}`;
    const holder = this.#reservedNames.get(name);
    if (holder) {
      throw new CriRuntimeError(
        `RunPodSandbox failed: failed to reserve sandbox name "${name}": name "${name}" is reserved for "${holder}"`,
      );
    }
    const id = this.#nextId('sandbox');
    this.#reservedNames.set(name, id);
    const index = this.#sandboxes.size + 2;
    this.#sandboxes.set(id, {
      config: structuredClone(config),
      status: {
        id,
        metadata: { name: meta.name, uid: meta.uid, namespace: meta.namespace, attempt },
        state: 'SANDBOX_READY',
        createdAt: this.#nowNs(),
        labels: { ...config.labels },
        annotations: { ...config.annotations },
        runtimeHandler,
        network: { ip: `10.88.${Math.floor(index / 250)}.${index % 250}`, additionalIps: [] },
        linux: { namespaces: { options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD', targetId: '' } } },
      },
    });
    return id;
  }

  async stopPodSandbox(podSandboxId: string, options?: CallOptions): Promise<void> {
    this.#enter('stopPodSandbox', [podSandboxId], options);
    const sandbox = this.#sandbox(podSandboxId);
    for (const record of this.#containers.values()) {
      if (record.podSandboxId === sandbox.status.id && record.status.state === 'CONTAINER_RUNNING') {
        this.#finish(record, 137, 'Error', '');
      }
    }
    sandbox.status.state = 'SANDBOX_NOTREADY';
  }

  async removePodSandbox(podSandboxId: string, options?: CallOptions): Promise<void> {
    this.#enter('removePodSandbox', [podSandboxId], options);
    const sandbox = this.#resolve(this.#sandboxes, podSandboxId, 'sandbox');
    if (!sandbox) return;
    for (const [id, record] of [...this.#containers]) {
      if (record.podSandboxId === sandbox.status.id) this.#removeContainerRecord(id);
    }
    for (const [name, holder] of this.#reservedNames)
      if (holder === sandbox.status.id) this.#reservedNames.delete(name);
    this.#sandboxes.delete(sandbox.status.id);
  }

  async podSandboxStatus(
    podSandboxId: string,
    verbose = false,
    options?: CallOptions,
  ): Promise<PodSandboxStatusResponse> {
    this.#enter('podSandboxStatus', [podSandboxId, verbose], options);
    const sandbox = this.#sandbox(podSandboxId);
    return {
      status: structuredClone(sandbox.status),
      info: verbose ? { info: JSON.stringify({ config: sandbox.config }) } : {},
      containersStatuses: [],
      timestamp: 0,
    };
  }

  async listPodSandbox(filter?: PodSandboxFilter, options?: CallOptions): Promise<PodSandbox[]> {
    this.#enter('listPodSandbox', [filter], options);
    const wantedId = filter?.id
      ? (this.#resolve(this.#sandboxes, filter.id, 'sandbox')?.status.id ?? filter.id)
      : undefined;
    return [...this.#sandboxes.values()]
      .map((record) => record.status)
      .filter((status) => wantedId === undefined || status.id === wantedId)
      .filter((status) => filter?.state === undefined || status.state === filter.state.state)
      .filter((status) => matchesLabels(status.labels, filter?.labelSelector))
      .map(({ id, metadata, state, createdAt, labels, annotations, runtimeHandler }) =>
        structuredClone({ id, metadata, state, createdAt, labels, annotations, runtimeHandler } as PodSandbox),
      );
  }

  async createContainer(
    podSandboxId: string,
    config: ContainerConfig,
    sandboxConfig: PodSandboxConfig,
    options?: CallOptions,
  ): Promise<string> {
    this.#enter('createContainer', [podSandboxId, config, sandboxConfig], options);
    const sandbox = this.#sandbox(podSandboxId);
    if (sandbox.status.state !== 'SANDBOX_READY') {
      throw new CriNotFoundError(`not found: no running task found for sandbox ${sandbox.status.id}`);
    }
    if (!config.metadata?.name)
      throw new CriInvalidArgumentError('CreateContainer refused its input: container metadata needs a name');
    const imageRef = config.image?.image ?? '';
    const image = this.#findImage(imageRef);
    if (!image) throw new CriNotFoundError(`not found: failed to resolve image "${imageRef}": not found`);
    const attempt = config.metadata.attempt ?? 0;
    const meta = sandbox.status.metadata!;
    const name = `${config.metadata.name}_${meta.name}_${meta.namespace}_${meta.uid}_${attempt}`;
    const holder = this.#reservedNames.get(name);
    if (holder) {
      throw new CriRuntimeError(
        `CreateContainer failed: failed to reserve container name "${name}": name "${name}" is reserved for "${holder}"`,
      );
    }
    const id = this.#nextId('container');
    this.#reservedNames.set(name, id);
    const logDirectory = sandbox.config.logDirectory ?? '';
    this.#containers.set(id, {
      podSandboxId: sandbox.status.id,
      config: structuredClone(config),
      status: {
        id,
        metadata: { name: config.metadata.name, attempt },
        state: 'CONTAINER_CREATED',
        createdAt: this.#nowNs(),
        startedAt: 0,
        finishedAt: 0,
        exitCode: 0,
        image: { image: imageRef, annotations: {}, userSpecifiedImage: '', runtimeHandler: '' },
        imageRef: image.id,
        reason: '',
        message: '',
        labels: { ...config.labels },
        annotations: { ...config.annotations },
        mounts: structuredClone(config.mounts ?? []),
        logPath: config.logPath && logDirectory ? `${logDirectory}/${config.logPath}` : '',
        resources: { linux: structuredClone(config.linux?.resources ?? {}) },
        imageId: '',
        imageSource: '',
      },
    });
    this.#emit(id, 'CONTAINER_CREATED_EVENT');
    return id;
  }

  async startContainer(containerId: string, options?: CallOptions): Promise<void> {
    this.#enter('startContainer', [containerId], options);
    const record = this.#container(containerId);
    if (record.status.state !== 'CONTAINER_CREATED') {
      throw new CriRuntimeError(
        `StartContainer failed: failed to set starting state for container "${record.status.id}": container is in ${record.status.state} state`,
      );
    }
    if (this.#sandboxes.get(record.podSandboxId)?.status.state !== 'SANDBOX_READY') {
      throw new CriRuntimeError(`StartContainer failed: sandbox container "${record.podSandboxId}" is not running`);
    }
    record.status.state = 'CONTAINER_RUNNING';
    record.status.startedAt = this.#nowNs();
    this.#emit(record.status.id, 'CONTAINER_STARTED_EVENT');
  }

  async stopContainer(containerId: string, timeoutSec: number, options?: CallOptions): Promise<void> {
    this.#enter('stopContainer', [containerId, timeoutSec], options);
    const record = this.#container(containerId);
    // a container that never started has no process to stop: containerd leaves it CREATED
    if (record.status.state === 'CONTAINER_RUNNING') this.#finish(record, 137, 'Error', '');
  }

  async removeContainer(containerId: string, options?: CallOptions): Promise<void> {
    this.#enter('removeContainer', [containerId], options);
    const record = this.#resolve(this.#containers, containerId, 'container');
    if (record) this.#removeContainerRecord(record.status.id);
  }

  #removeContainerRecord(id: string): void {
    for (const [name, holder] of this.#reservedNames) if (holder === id) this.#reservedNames.delete(name);
    this.#emit(id, 'CONTAINER_DELETED_EVENT');
    this.#containers.delete(id);
  }

  async listContainers(filter?: ContainerFilter, options?: CallOptions): Promise<Container[]> {
    this.#enter('listContainers', [filter], options);
    const wantedId = filter?.id
      ? (this.#resolve(this.#containers, filter.id, 'container')?.status.id ?? filter.id)
      : undefined;
    const wantedPod = filter?.podSandboxId
      ? (this.#resolve(this.#sandboxes, filter.podSandboxId, 'sandbox')?.status.id ?? filter.podSandboxId)
      : undefined;
    return [...this.#containers.values()]
      .filter((record) => wantedId === undefined || record.status.id === wantedId)
      .filter((record) => wantedPod === undefined || record.podSandboxId === wantedPod)
      .filter((record) => filter?.state === undefined || record.status.state === filter.state.state)
      .filter((record) => matchesLabels(record.status.labels, filter?.labelSelector))
      .map((record) => {
        const s = record.status;
        return structuredClone({
          id: s.id,
          podSandboxId: record.podSandboxId,
          metadata: s.metadata,
          image: s.image,
          imageRef: s.imageRef,
          state: s.state,
          createdAt: s.createdAt,
          labels: s.labels,
          annotations: s.annotations,
          imageId: s.imageId,
        } as Container);
      });
  }

  async containerStatus(containerId: string, verbose = false, options?: CallOptions): Promise<ContainerStatusResponse> {
    this.#enter('containerStatus', [containerId, verbose], options);
    const record = this.#container(containerId);
    return {
      status: structuredClone(record.status),
      info: verbose ? { info: JSON.stringify({ sandboxID: record.podSandboxId, config: record.config }) } : {},
    };
  }

  async updateContainerResources(
    containerId: string,
    linux: LinuxContainerResources,
    options?: CallOptions,
  ): Promise<void> {
    this.#enter('updateContainerResources', [containerId, linux], options);
    const record = this.#container(containerId);
    record.status.resources = { linux: { ...record.status.resources?.linux, ...structuredClone(linux) } };
  }

  async reopenContainerLog(containerId: string, options?: CallOptions): Promise<void> {
    this.#enter('reopenContainerLog', [containerId], options);
    const record = this.#container(containerId);
    if (record.status.state !== 'CONTAINER_RUNNING') {
      throw new CriRuntimeError(`ReopenContainerLog failed: container is not running`);
    }
  }

  async execSync(
    containerId: string,
    cmd: readonly string[],
    timeoutSec: number,
    options?: CallOptions,
  ): Promise<ExecSyncResponse> {
    this.#enter('execSync', [containerId, [...cmd], timeoutSec], options);
    const record = this.#container(containerId);
    if (record.status.state !== 'CONTAINER_RUNNING') {
      throw new CriRuntimeError(
        `ExecSync failed: failed to exec in container: container is in ${record.status.state} state`,
      );
    }
    const answer = this.onExecSync(record.status.id, cmd);
    return {
      stdout: answer.stdout ?? Buffer.alloc(0),
      stderr: answer.stderr ?? Buffer.alloc(0),
      exitCode: answer.exitCode ?? 0,
    };
  }

  async exec(request: ExecRequest, options?: CallOptions): Promise<string> {
    this.#enter('exec', [request], options);
    this.#runningContainer(request.containerId, 'Exec');
    return `http://fake.invalid/exec/${this.#nextId('token').slice(0, 8)}`;
  }

  async attach(request: AttachRequest, options?: CallOptions): Promise<string> {
    this.#enter('attach', [request], options);
    this.#runningContainer(request.containerId, 'Attach');
    return `http://fake.invalid/attach/${this.#nextId('token').slice(0, 8)}`;
  }

  async portForward(podSandboxId: string, ports: readonly number[], options?: CallOptions): Promise<string> {
    this.#enter('portForward', [podSandboxId, [...ports]], options);
    this.#sandbox(podSandboxId);
    return `http://fake.invalid/portforward/${this.#nextId('token').slice(0, 8)}`;
  }

  #runningContainer(containerId: string, method: string): ContainerRecord {
    const record = this.#container(containerId);
    if (record.status.state !== 'CONTAINER_RUNNING') {
      throw new CriRuntimeError(`${method} failed: container ${record.status.id} is in ${record.status.state} state`);
    }
    return record;
  }

  #statsOf(record: ContainerRecord): ContainerStats {
    const timestamp = this.#nowNs();
    return {
      attributes: {
        id: record.status.id,
        metadata: structuredClone(record.status.metadata!),
        labels: { ...record.status.labels },
        annotations: { ...record.status.annotations },
      },
      cpu: { timestamp, usageCoreNanoSeconds: { value: 0 }, usageNanoCores: { value: 0 } },
      memory: { timestamp, workingSetBytes: { value: 0 }, usageBytes: { value: 0 } },
      writableLayer: { timestamp, fsId: { mountpoint: '/fake' }, usedBytes: { value: 0 }, inodesUsed: { value: 0 } },
    };
  }

  async containerStats(containerId: string, options?: CallOptions): Promise<ContainerStats> {
    this.#enter('containerStats', [containerId], options);
    return this.#statsOf(this.#container(containerId));
  }

  async listContainerStats(filter?: ContainerStatsFilter, options?: CallOptions): Promise<ContainerStats[]> {
    this.#enter('listContainerStats', [filter], options);
    return [...this.#containers.values()]
      .filter((record) => record.status.state === 'CONTAINER_RUNNING')
      .filter((record) => !filter?.id || record.status.id.startsWith(filter.id))
      .filter((record) => !filter?.podSandboxId || record.podSandboxId.startsWith(filter.podSandboxId))
      .filter((record) => matchesLabels(record.status.labels, filter?.labelSelector))
      .map((record) => this.#statsOf(record));
  }

  #sandboxStatsOf(sandbox: SandboxRecord): PodSandboxStats {
    const timestamp = this.#nowNs();
    const containers = [...this.#containers.values()].filter(
      (record) => record.podSandboxId === sandbox.status.id && record.status.state === 'CONTAINER_RUNNING',
    );
    return {
      attributes: {
        id: sandbox.status.id,
        metadata: structuredClone(sandbox.status.metadata!),
        labels: { ...sandbox.status.labels },
        annotations: { ...sandbox.status.annotations },
      },
      linux: {
        cpu: { timestamp, usageCoreNanoSeconds: { value: 0 }, usageNanoCores: { value: 0 } },
        memory: { timestamp, workingSetBytes: { value: 0 } },
        containers: containers.map((record) => this.#statsOf(record)),
      },
    };
  }

  async podSandboxStats(podSandboxId: string, options?: CallOptions): Promise<PodSandboxStats> {
    this.#enter('podSandboxStats', [podSandboxId], options);
    return this.#sandboxStatsOf(this.#sandbox(podSandboxId));
  }

  async listPodSandboxStats(filter?: PodSandboxStatsFilter, options?: CallOptions): Promise<PodSandboxStats[]> {
    this.#enter('listPodSandboxStats', [filter], options);
    return [...this.#sandboxes.values()]
      .filter((sandbox) => sandbox.status.state === 'SANDBOX_READY')
      .filter((sandbox) => !filter?.id || sandbox.status.id.startsWith(filter.id))
      .filter((sandbox) => matchesLabels(sandbox.status.labels, filter?.labelSelector))
      .map((sandbox) => this.#sandboxStatsOf(sandbox));
  }

  /** Like the client's: failures (Unimplemented, closed, queued) surface when iteration starts. */
  containerEvents(options?: CallOptions): AsyncIterable<ContainerEvent> {
    let failure: unknown;
    try {
      this.#enter('containerEvents', [], options);
      if (!this.#events) {
        throw new CriUnimplementedError('fake runtime does not implement GetContainerEvents', {
          method: 'GetContainerEvents',
        });
      }
    } catch (err) {
      failure = err;
    }
    if (failure !== undefined) {
      return (async function* (): AsyncGenerator<ContainerEvent> {
        throw failure;
      })();
    }
    const queue: ContainerEvent[] = [];
    let wake: (() => void) | undefined;
    const subscriber = (event: ContainerEvent) => {
      queue.push(event);
      wake?.();
    };
    this.#subscribers.add(subscriber);
    const subscribers = this.#subscribers;
    const signal = options?.signal;
    const onAbort = () => wake?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    return (async function* () {
      try {
        while (!signal?.aborted) {
          const event = queue.shift();
          if (event) {
            yield event;
            continue;
          }
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      } finally {
        subscribers.delete(subscriber);
        signal?.removeEventListener('abort', onAbort);
      }
    })();
  }

  // ---------------------------------------------------------------- image service

  async listImages(filter?: { image?: { image: string } }, options?: CallOptions): Promise<Image[]> {
    this.#enter('listImages', [filter], options);
    const wanted = filter?.image?.image ? this.#findImage(filter.image.image) : undefined;
    if (filter?.image?.image && !wanted) return [];
    return [...this.#images.values()]
      .filter((image) => !wanted || image === wanted)
      .map((image) => structuredClone(image));
  }

  async imageStatus(ref: string, verbose = false, options?: CallOptions): Promise<ImageStatusResponse> {
    this.#enter('imageStatus', [ref, verbose], options);
    const image = this.#findImage(ref);
    return image ? { image: structuredClone(image), info: verbose ? { info: '{}' } : {} } : { info: {} };
  }

  async pullImage(
    ref: string,
    auth?: AuthConfig,
    sandboxConfig?: PodSandboxConfig,
    options?: CallOptions,
  ): Promise<string> {
    this.#enter('pullImage', [ref, auth, sandboxConfig], options);
    return this.addImage(ref);
  }

  async removeImage(ref: string, options?: CallOptions): Promise<void> {
    this.#enter('removeImage', [ref], options);
    const image = this.#findImage(ref);
    if (image) this.#images.delete(image.id);
  }

  async imageFsInfo(options?: CallOptions): Promise<ImageFsInfoResponse> {
    this.#enter('imageFsInfo', [], options);
    let used = 0;
    for (const image of this.#images.values()) used += image.size;
    return {
      imageFilesystems: [
        {
          timestamp: this.#nowNs(),
          fsId: { mountpoint: '/fake/images' },
          usedBytes: { value: used },
          inodesUsed: { value: this.#images.size },
        },
      ],
      containerFilesystems: [],
    };
  }

  close(): void {
    this.#closed = true;
    this.#subscribers.clear();
  }
}

/** 64 hex characters, the shape of containerd's IDs, derived from a string. */
function hexOf(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

function matchesLabels(labels: Labels, selector: Labels | undefined): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/**
 * The fully qualified form containerd stores: 'busybox' -> 'docker.io/library/busybox:latest',
 * 'localhost/x:1' stays. (The same rule as the Docker reference grammar's normalisation.)
 */
export function normalizeImageRef(ref: string): string {
  if (ref.startsWith('sha256:')) return ref;
  const slash = ref.indexOf('/');
  const first = slash === -1 ? '' : ref.slice(0, slash);
  const hasDomain = first.includes('.') || first.includes(':') || first === 'localhost';
  let name = hasDomain ? ref : `docker.io/${slash === -1 ? `library/${ref}` : ref}`;
  const lastSegment = name.slice(name.lastIndexOf('/') + 1);
  if (!lastSegment.includes(':') && !lastSegment.includes('@')) name = `${name}:latest`;
  return name;
}
