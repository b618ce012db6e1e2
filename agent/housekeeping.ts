/**
 * How the node defends itself, started once the pods are known: container log rotation, image
 * garbage collection, and the eviction manager with its pressure conditions (which the node
 * status reports and pod admission respects). Each is its own loop with its own failures; this
 * file only builds and starts them, with the flags' values.
 */
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { CriRuntime } from '../cri/runtime.ts';
import type { Clock } from '../kube/clock.ts';
import type { Recorder } from './events/event-recorder.ts';
import { removeDeadContainers } from './eviction/dead-containers.ts';
import { EvictionManager } from './eviction/eviction-manager.ts';
import { observeSignals } from './eviction/node-signals.ts';
import { collectPodUsage, emptyDirRoot } from './eviction/pod-usage.ts';
import { defaultEvictionHard, parseThresholds, type Threshold } from './eviction/thresholds.ts';
import { defaultGcPolicy, type GcPolicy } from './images/image-gc-plan.ts';
import { ImageGc } from './images/image-gc.ts';
import { ContainerLogManager } from './logs/container-log-manager.ts';
import type { PressureState } from './node/node-conditions.ts';
import type { PodManager } from './pods/pod-manager.ts';

export interface HousekeepingConfig {
  /** --container-log-max-size (10Mi) and --container-log-max-files (5). */
  containerLogMaxSizeBytes: number;
  containerLogMaxFiles: number;
  /** --image-gc-high-threshold, --image-gc-low-threshold, --minimum-image-ttl-duration. */
  imageGc: GcPolicy;
  /** --eviction-hard */
  evictionHard: readonly Threshold[];
  /** --eviction-pressure-transition-period (5 min). */
  evictionPressureTransitionMs: number;
  /** Default 10 s. */
  evictionIntervalMs?: number;
}

export const defaultHousekeeping: HousekeepingConfig = {
  containerLogMaxSizeBytes: 10 * 1024 * 1024,
  containerLogMaxFiles: 5,
  imageGc: defaultGcPolicy,
  evictionHard: parseThresholds(defaultEvictionHard),
  evictionPressureTransitionMs: 5 * 60_000,
};

interface HousekeepingDeps {
  config: HousekeepingConfig;
  runtime: CriRuntime;
  clock: Clock;
  log: Logger;
  nodeName: string;
  rootDir: string;
  podsDir: string;
  podLogDir: string;
  podInfraImage: string;
  manager: PodManager;
  recorder: Recorder;
}

export class Housekeeping {
  readonly logs: ContainerLogManager;
  readonly images: ImageGc;
  readonly eviction: EvictionManager;

  constructor(deps: HousekeepingDeps) {
    const { config, runtime, clock, log } = deps;
    this.logs = new ContainerLogManager({
      runtime,
      clock,
      log: log.child({ loop: 'container-logs' }),
      maxSizeBytes: config.containerLogMaxSizeBytes,
      maxFiles: config.containerLogMaxFiles,
      podLogDir: deps.podLogDir,
    });
    this.images = new ImageGc({
      runtime,
      clock,
      log: log.child({ loop: 'image-gc' }),
      policy: config.imageGc,
      pinnedNames: [deps.podInfraImage],
    });
    const nodeRef = { kind: 'Node', apiVersion: 'v1', name: deps.nodeName, uid: deps.nodeName };
    this.eviction = new EvictionManager({
      observe: () => observeSignals({ runtime, rootDir: deps.rootDir, podLogDir: deps.podLogDir }),
      thresholds: config.evictionHard,
      transitionPeriodMs: config.evictionPressureTransitionMs,
      ...(config.evictionIntervalMs !== undefined ? { intervalMs: config.evictionIntervalMs } : {}),
      clock,
      log: log.child({ loop: 'eviction' }),
      reclaimDisk: async () => {
        const containers = await removeDeadContainers(runtime);
        const bytes = await this.images.deleteUnused();
        log.info({ containers, imageBytes: bytes }, 'reclaimed node-level disk');
      },
      candidates: () =>
        collectPodUsage(deps.manager.evictionCandidates(), runtime, {
          podLogRoot: deps.podLogDir,
          podsDir: deps.podsDir,
        }),
      evict: async (uid, message) => {
        if (!(await deps.manager.evict(uid, message))) return false;
        // the evicted pod's scratch space is what the node needs back (upstream tears down a
        // terminated pod's volumes too)
        await rm(emptyDirRoot(deps.podsDir, uid), { recursive: true, force: true }).catch(() => undefined);
        return true;
      },
      onThresholdMet: (message) => deps.recorder.event(nodeRef, 'Warning', 'EvictionThresholdMet', message),
    });
  }

  /** The pressure conditions; undefined until the first eviction round ran. */
  pressure(): PressureState | undefined {
    return this.eviction.observed ? this.eviction.pressure : undefined;
  }

  /** What admission refuses pods for now. */
  admissionPressure(): { memory: boolean; disk: boolean } {
    const p = this.eviction.pressure;
    return { memory: p.MemoryPressure, disk: p.DiskPressure };
  }

  /** Starts the three loops; they end when the signal aborts. */
  start(signal: AbortSignal): Promise<void>[] {
    return [this.logs.run(signal), this.images.run(signal), this.eviction.run(signal)];
  }
}
