/**
 * Gathers a NodeObservation: host facts (read once), pressure signals, a quick CRI Status ping,
 * the runtime version and the runtime's images. The ping has a short deadline of its own: a
 * runtime that does not answer within it makes the node NotReady; it is never a full relist.
 */
import type { CriRuntime } from '../../cri/runtime.ts';
import { readHostFacts, readPressureSignals, type HostFacts, type PressureSignals } from './host-facts.ts';
import type { PressureState, RuntimeHealth } from './node-conditions.ts';
import type { NodeObservation, ObservedImage } from './node-plan.ts';

interface NodeObserverOptions {
  runtime: CriRuntime;
  /** The agent's root folder: the filesystem under it is the node's nodefs. */
  rootDir: string;
  /** Deadline of the Status ping (default 2 s). */
  pingTimeoutMs?: number;
  /** Seams for tests; default to the real host. */
  readHostFacts?: () => Promise<HostFacts>;
  readPressureSignals?: (rootDir: string) => Promise<PressureSignals>;
  /** The eviction manager's current pressure conditions, when it runs. */
  pressure?: () => PressureState | undefined;
  /** Whether graceful node shutdown has begun. */
  shuttingDown?: () => boolean;
}

export class NodeObserver {
  readonly #options: NodeObserverOptions;
  #host: HostFacts | undefined;
  #runtimeVersion = '';
  #versionStale = true;
  #images: ObservedImage[] = [];

  constructor(options: NodeObserverOptions) {
    this.#options = options;
  }

  /** Health as the last observation saw it (healthz reads it). */
  lastRuntime: RuntimeHealth | undefined;

  /** The runtime's Version call; throws when the runtime is unreachable (start-up uses it as its check). */
  async runtimeVersion(): Promise<string> {
    const version = await this.#options.runtime.version({ timeoutMs: this.#options.pingTimeoutMs ?? 2_000 });
    this.#runtimeVersion = `${version.runtimeName}://${version.runtimeVersion}`;
    this.#versionStale = false;
    return this.#runtimeVersion;
  }

  async ping(): Promise<RuntimeHealth> {
    const { runtime } = this.#options;
    try {
      const status = await runtime.status(false, { timeoutMs: this.#options.pingTimeoutMs ?? 2_000 });
      const conditions = status.status?.conditions ?? [];
      const runtimeReady = conditions.find((c) => c.type === 'RuntimeReady');
      const networkReady = conditions.find((c) => c.type === 'NetworkReady');
      const notReady = [runtimeReady, networkReady]
        .filter((c) => c !== undefined && !c.status)
        .map((c) => `${c!.type}=false reason:${c!.reason} message:${c!.message}`);
      return {
        reachable: true,
        runtimeReady: runtimeReady?.status ?? false,
        networkReady: networkReady?.status ?? false,
        message: runtimeReady === undefined ? 'the runtime reports no RuntimeReady condition' : notReady.join('; '),
      };
    } catch (err) {
      return { reachable: false, message: (err as Error).message.split('\n')[0] ?? 'no answer' };
    }
  }

  async observe(): Promise<NodeObservation> {
    const { runtime, rootDir } = this.#options;
    this.#host ??= await (this.#options.readHostFacts ?? readHostFacts)();
    const [signals, health] = await Promise.all([
      (this.#options.readPressureSignals ?? readPressureSignals)(rootDir),
      this.ping(),
    ]);
    this.lastRuntime = health;
    if (health.reachable) {
      // a runtime that came back may be a new version (an upgrade restarts it)
      if (this.#versionStale) await this.runtimeVersion().catch(() => undefined);
      try {
        const images = await runtime.listImages(undefined, { timeoutMs: this.#options.pingTimeoutMs ?? 2_000 });
        this.#images = images.map((i) => ({ names: [...i.repoDigests, ...i.repoTags], sizeBytes: i.size }));
      } catch {
        // keep the last list: a slow image listing is no reason to report images gone
      }
    } else {
      this.#versionStale = true;
    }
    const pressure = this.#options.pressure?.();
    return {
      host: this.#host,
      signals,
      runtime: health,
      runtimeVersion: this.#runtimeVersion,
      images: this.#images,
      ...(pressure !== undefined ? { pressure } : {}),
      ...(this.#options.shuttingDown?.() === true ? { shuttingDown: true } : {}),
    };
  }
}
