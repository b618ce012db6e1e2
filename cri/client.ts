/**
 * The CRI v1 client: typed calls over Node's own http2 (http2-transport.ts) to a unix socket, or
 * over @grpc/grpc-js (loaded on first use) to a TCP endpoint or when asked; messages encoded with
 * our own schema.
 *
 *   const cri = new CriClient('unix:///run/containerd/containerd.sock');
 *   const running = await cri.listContainers({ state: { state: 'CONTAINER_RUNNING' } });
 *   cri.close();
 *
 * The constructor does not connect; the first call does (and a lost connection is re-made on
 * the next call). Each call has a deadline (deadlines.ts) and fails with a CriError (errors.ts).
 */
import { createRequire } from 'node:module';
import type * as Grpc from '@grpc/grpc-js';
import { codecFor, type Codec } from './schema.ts';
import { Http2Transport, type GrpcTransport } from './http2-transport.ts';
import {
  CriClosedError,
  CriError,
  criErrorFromGrpc,
  CriCancelledError,
  GrpcStatus,
  type GrpcFailure,
} from './errors.ts';
import { defaultTimeoutMs } from './deadlines.ts';
import type { CallOptions, CriRuntime } from './runtime.ts';
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

/** CRI messages can be large (ExecSync output is capped at 16 MiB per stream by runtimes). */
const maxMessageBytes = 40 * 1024 * 1024;

/** 'unix:///run/x.sock' stays; a bare absolute path gets the unix:// scheme grpc-js needs. */
export function normalizeEndpoint(endpoint: string): string {
  if (endpoint.startsWith('/')) return `unix://${endpoint}`;
  return endpoint;
}

/** grpc-js, loaded on first use: a client on a unix socket never loads it (each package costs the agent memory). */
let grpcModule: typeof Grpc | undefined;
const loadGrpc = (): typeof Grpc => {
  grpcModule ??= createRequire(import.meta.url)('@grpc/grpc-js') as typeof Grpc;
  return grpcModule;
};

export interface CriClientOptions {
  /**
   * 'http2' (the default for a unix socket): every call over Node's http2 module
   * (http2-transport.ts). 'grpc-js': every call over @grpc/grpc-js, which a TCP endpoint always uses.
   */
  readonly transport?: 'grpc-js' | 'http2';
}

type Service = 'RuntimeService' | 'ImageService';

/** An answer's message, decoded; one that does not decode fails as grpc-js words it, so both transports agree. */
function decodeAnswer<Res>(
  codec: Codec<object, Res>,
  bytes: Buffer,
  where: { method: string; endpoint: string; timeoutMs?: number | undefined },
): Res {
  try {
    return codec.deserialize(bytes);
  } catch (err) {
    const details = `Response message parsing error: ${err instanceof Error ? err.message : String(err)}`;
    throw criErrorFromGrpc({ code: GrpcStatus.INTERNAL, details }, where);
  }
}

export class CriClient implements CriRuntime {
  readonly endpoint: string;
  #grpcClient: Grpc.Client | undefined;
  readonly #http2: GrpcTransport | undefined;
  readonly #codecs = new Map<string, Codec<unknown, unknown>>();
  #closed = false;

  constructor(endpoint: string, options: CriClientOptions = {}) {
    this.endpoint = normalizeEndpoint(endpoint);
    if (options.transport !== 'grpc-js' && this.endpoint.startsWith('unix://')) {
      this.#http2 = new Http2Transport(this.endpoint.replace(/^unix:\/\//, ''), maxMessageBytes);
    }
  }

  /** The grpc-js client, made on first use (making it does not connect either). */
  get #grpc(): Grpc.Client {
    if (this.#grpcClient === undefined) {
      const grpc = loadGrpc();
      this.#grpcClient = new grpc.Client(this.endpoint, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': maxMessageBytes,
        'grpc.max_send_message_length': maxMessageBytes,
      });
    }
    return this.#grpcClient;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#grpcClient?.close();
    this.#http2?.close();
  }

  #codec<Req, Res>(service: Service, method: string): Codec<Req, Res> {
    const key = `${service}/${method}`;
    let codec = this.#codecs.get(key);
    if (codec === undefined) {
      codec = codecFor(service, method) as Codec<unknown, unknown>;
      this.#codecs.set(key, codec);
    }
    return codec as Codec<Req, Res>;
  }

  #unary<Res>(
    service: Service,
    method: string,
    request: object,
    options: CallOptions | undefined,
    runtimeSideTimeoutSec?: number,
  ): Promise<Res> {
    if (this.#closed) {
      return Promise.reject(new CriClosedError(`the CRI client for ${this.endpoint} is closed`, { method }));
    }
    const codec = this.#codec<object, Res>(service, method);
    const timeoutMs = options?.timeoutMs ?? defaultTimeoutMs(method, runtimeSideTimeoutSec);
    const where = { method, endpoint: this.endpoint, timeoutMs };
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new CriCancelledError(`${method} was cancelled`, where));
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    if (this.#http2 !== undefined) {
      return this.#http2.unary(codec.path, codec.serialize(request), { deadline, signal }).then(
        (bytes) => decodeAnswer(codec, bytes, where),
        (err: unknown) => {
          throw criErrorFromGrpc(err as GrpcFailure, where);
        },
      );
    }
    const grpc = loadGrpc();
    return new Promise<Res>((resolve, reject) => {
      const callOptions: Grpc.CallOptions = deadline === undefined ? {} : { deadline };
      const onAbort = () => call.cancel();
      const call = this.#grpc.makeUnaryRequest(
        codec.path,
        codec.serialize,
        codec.deserialize,
        request,
        new grpc.Metadata(),
        callOptions,
        (err, value) => {
          signal?.removeEventListener('abort', onAbort);
          if (err) reject(criErrorFromGrpc(err, where));
          else resolve(value as Res);
        },
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #runtime<Res>(method: string, request: object, options?: CallOptions, runtimeSideTimeoutSec?: number): Promise<Res> {
    return this.#unary<Res>('RuntimeService', method, request, options, runtimeSideTimeoutSec);
  }

  #image<Res>(method: string, request: object, options?: CallOptions): Promise<Res> {
    return this.#unary<Res>('ImageService', method, request, options);
  }

  // ---------------------------------------------------------------- runtime

  version(options?: CallOptions): Promise<VersionResponse> {
    return this.#runtime('Version', { version: 'v1' }, options);
  }

  status(verbose = false, options?: CallOptions): Promise<StatusResponse> {
    return this.#runtime('Status', { verbose }, options);
  }

  async updateRuntimeConfig(podCidr: string, options?: CallOptions): Promise<void> {
    await this.#runtime('UpdateRuntimeConfig', { runtimeConfig: { networkConfig: { podCidr } } }, options);
  }

  async runtimeConfig(options?: CallOptions): Promise<{ cgroupDriver?: CgroupDriver }> {
    const res = await this.#runtime<{ linux?: { cgroupDriver: CgroupDriver } }>('RuntimeConfig', {}, options);
    return res.linux ? { cgroupDriver: res.linux.cgroupDriver } : {};
  }

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = '', options?: CallOptions): Promise<string> {
    const res = await this.#runtime<{ podSandboxId: string }>('RunPodSandbox', { config, runtimeHandler }, options);
    return res.podSandboxId;
  }

  async stopPodSandbox(podSandboxId: string, options?: CallOptions): Promise<void> {
    await this.#runtime('StopPodSandbox', { podSandboxId }, options);
  }

  async removePodSandbox(podSandboxId: string, options?: CallOptions): Promise<void> {
    await this.#runtime('RemovePodSandbox', { podSandboxId }, options);
  }

  podSandboxStatus(podSandboxId: string, verbose = false, options?: CallOptions): Promise<PodSandboxStatusResponse> {
    return this.#runtime('PodSandboxStatus', { podSandboxId, verbose }, options);
  }

  async listPodSandbox(filter?: PodSandboxFilter, options?: CallOptions): Promise<PodSandbox[]> {
    const res = await this.#runtime<{ items: PodSandbox[] }>('ListPodSandbox', filter ? { filter } : {}, options);
    return res.items;
  }

  async createContainer(
    podSandboxId: string,
    config: ContainerConfig,
    sandboxConfig: PodSandboxConfig,
    options?: CallOptions,
  ): Promise<string> {
    const res = await this.#runtime<{ containerId: string }>(
      'CreateContainer',
      { podSandboxId, config, sandboxConfig },
      options,
    );
    return res.containerId;
  }

  async startContainer(containerId: string, options?: CallOptions): Promise<void> {
    await this.#runtime('StartContainer', { containerId }, options);
  }

  async stopContainer(containerId: string, timeoutSec: number, options?: CallOptions): Promise<void> {
    await this.#runtime('StopContainer', { containerId, timeout: timeoutSec }, options, timeoutSec);
  }

  async removeContainer(containerId: string, options?: CallOptions): Promise<void> {
    await this.#runtime('RemoveContainer', { containerId }, options);
  }

  async listContainers(filter?: ContainerFilter, options?: CallOptions): Promise<Container[]> {
    const res = await this.#runtime<{ containers: Container[] }>('ListContainers', filter ? { filter } : {}, options);
    return res.containers;
  }

  containerStatus(containerId: string, verbose = false, options?: CallOptions): Promise<ContainerStatusResponse> {
    return this.#runtime('ContainerStatus', { containerId, verbose }, options);
  }

  async updateContainerResources(
    containerId: string,
    linux: LinuxContainerResources,
    options?: CallOptions,
  ): Promise<void> {
    await this.#runtime('UpdateContainerResources', { containerId, linux }, options);
  }

  async reopenContainerLog(containerId: string, options?: CallOptions): Promise<void> {
    await this.#runtime('ReopenContainerLog', { containerId }, options);
  }

  execSync(
    containerId: string,
    cmd: readonly string[],
    timeoutSec: number,
    options?: CallOptions,
  ): Promise<ExecSyncResponse> {
    return this.#runtime('ExecSync', { containerId, cmd, timeout: timeoutSec }, options, timeoutSec);
  }

  async exec(request: ExecRequest, options?: CallOptions): Promise<string> {
    return (await this.#runtime<{ url: string }>('Exec', request, options)).url;
  }

  async attach(request: AttachRequest, options?: CallOptions): Promise<string> {
    return (await this.#runtime<{ url: string }>('Attach', request, options)).url;
  }

  async portForward(podSandboxId: string, ports: readonly number[], options?: CallOptions): Promise<string> {
    return (await this.#runtime<{ url: string }>('PortForward', { podSandboxId, port: ports }, options)).url;
  }

  async containerStats(containerId: string, options?: CallOptions): Promise<ContainerStats> {
    return (await this.#runtime<{ stats?: ContainerStats }>('ContainerStats', { containerId }, options)).stats ?? {};
  }

  async listContainerStats(filter?: ContainerStatsFilter, options?: CallOptions): Promise<ContainerStats[]> {
    return (await this.#runtime<{ stats: ContainerStats[] }>('ListContainerStats', filter ? { filter } : {}, options))
      .stats;
  }

  async podSandboxStats(podSandboxId: string, options?: CallOptions): Promise<PodSandboxStats> {
    return (await this.#runtime<{ stats?: PodSandboxStats }>('PodSandboxStats', { podSandboxId }, options)).stats ?? {};
  }

  async listPodSandboxStats(filter?: PodSandboxStatsFilter, options?: CallOptions): Promise<PodSandboxStats[]> {
    return (await this.#runtime<{ stats: PodSandboxStats[] }>('ListPodSandboxStats', filter ? { filter } : {}, options))
      .stats;
  }

  containerEvents(options?: CallOptions): AsyncIterable<ContainerEvent> {
    const method = 'GetContainerEvents';
    const where = { method, endpoint: this.endpoint, timeoutMs: options?.timeoutMs };
    if (this.#closed) {
      const closed = new CriClosedError(`the CRI client for ${this.endpoint} is closed`, { method });
      return (async function* (): AsyncGenerator<ContainerEvent> {
        throw closed;
      })();
    }
    const codec = this.#codec<object, ContainerEvent>('RuntimeService', method);
    const deadline = options?.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
    const signal = options?.signal;
    const messages =
      this.#http2 !== undefined
        ? this.#http2.serverStream(codec.path, codec.serialize({}), { deadline, signal })
        : this.#grpcServerStream(codec, deadline, signal);
    return (async function* () {
      try {
        for await (const bytes of messages) yield decodeAnswer(codec, bytes, where);
      } catch (err) {
        if (err instanceof CriError) throw err;
        const failure = err as GrpcFailure;
        // Our own cancel is the normal way to stop listening, not a failure.
        if (failure.code === GrpcStatus.CANCELLED && signal?.aborted) return;
        throw criErrorFromGrpc(failure, where);
      }
    })();
  }

  /** A server-streaming call over grpc-js: its messages' bytes, failing as grpc-js fails. */
  async *#grpcServerStream(
    codec: Codec<object, ContainerEvent>,
    deadline: number | undefined,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Buffer> {
    const grpc = loadGrpc();
    const stream = this.#grpc.makeServerStreamRequest(
      codec.path,
      codec.serialize,
      (bytes: Buffer) => bytes,
      {},
      new grpc.Metadata(),
      deadline === undefined ? {} : { deadline },
    );
    const onAbort = () => stream.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const bytes of stream) yield bytes as Buffer;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      stream.cancel();
    }
  }

  // ---------------------------------------------------------------- images

  async listImages(filter?: { image?: { image: string } }, options?: CallOptions): Promise<Image[]> {
    return (await this.#image<{ images: Image[] }>('ListImages', filter ? { filter } : {}, options)).images;
  }

  imageStatus(ref: string, verbose = false, options?: CallOptions): Promise<ImageStatusResponse> {
    return this.#image('ImageStatus', { image: { image: ref }, verbose }, options);
  }

  async pullImage(
    ref: string,
    auth?: AuthConfig,
    sandboxConfig?: PodSandboxConfig,
    options?: CallOptions,
  ): Promise<string> {
    const request = { image: { image: ref }, ...(auth ? { auth } : {}), ...(sandboxConfig ? { sandboxConfig } : {}) };
    return (await this.#image<{ imageRef: string }>('PullImage', request, options)).imageRef;
  }

  async removeImage(ref: string, options?: CallOptions): Promise<void> {
    await this.#image('RemoveImage', { image: { image: ref } }, options);
  }

  imageFsInfo(options?: CallOptions): Promise<ImageFsInfoResponse> {
    return this.#image('ImageFsInfo', {}, options);
  }
}
