/**
 * A pod worker on the fake CRI runtime with a manual clock: the test moves time and the runtime's
 * containers, then waits for the worker to settle.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FakeRuntime } from '../../cri/fake.ts';
import type { CriRuntime } from '../../cri/runtime.ts';
import type { Pod, PodStatus } from '../../kube/corev1.ts';
import { ImagePuller } from '../../agent/pods/image-puller.ts';
import { PodWorker, type PodWorkerDeps } from '../../agent/pods/pod-worker.ts';
import { defaultClusterDNS, type NodePodSettings } from '../../agent/pods/node-settings.ts';
import { noConfigLookup } from '../../agent/pods/pod-executor.ts';
import { nodeNetwork } from '../../agent/pods/probe-network.ts';
import { ManualClock } from './manual-clock.ts';
import { t0 } from './fixtures.ts';

export const busybox = 'localhost/bosun/busybox:1.35';

export function nodeSettings(root: string): NodePodSettings {
  return {
    nodeName: 'node-1',
    nodeIP: '172.30.0.11',
    podLogRoot: join(root, 'logs'),
    podsDir: join(root, 'pods'),
    clusterDNS: [defaultClusterDNS],
    clusterDomain: 'cluster.local',
    hostDns: { servers: ['192.0.2.53'], searches: ['example.internal'], options: [] },
    cgroupRoot: undefined,
    cgroupDriver: 'cgroupfs',
    runtimeName: 'containerd',
    allocatable: { cpuMilli: 2000, memoryBytes: 4 * 2 ** 30 },
    hostPathAllowList: [root],
  };
}

export class Harness {
  readonly clock = new ManualClock(t0);
  readonly runtime: FakeRuntime;
  readonly root = mkdtempSync(join(tmpdir(), 'bosun-worker-'));
  readonly statuses: PodStatus[] = [];
  readonly terminated: Pod[] = [];
  readonly settings = nodeSettings(this.root);
  readonly images: ImagePuller;

  constructor(images: string[] = [busybox]) {
    this.runtime = new FakeRuntime({ now: () => this.clock.now(), images });
    this.images = new ImagePuller(this.runtime);
  }

  deps(overrides: Partial<PodWorkerDeps> = {}): PodWorkerDeps {
    return {
      runtime: this.runtime,
      settings: this.settings,
      images: this.images,
      network: nodeNetwork,
      clock: this.clock,
      config: noConfigLookup,
      log: pino({ level: 'silent' }),
      agentStartedAt: t0 - 3_600_000,
      random: () => 0,
      onStatus: (_pod, status) => this.statuses.push(status),
      onTerminated: (pod) => this.terminated.push(pod),
      ...overrides,
    };
  }

  worker(pod: Pod, overrides: Partial<PodWorkerDeps> = {}): PodWorker {
    const worker = new PodWorker(pod, this.deps(overrides));
    worker.start();
    return worker;
  }

  /** Moves the clock and lets the worker finish what that woke up. */
  async advance(worker: PodWorker, ms: number): Promise<void> {
    this.clock.advance(ms);
    // probe runs resolve on their own promise chains; let them land, then settle the worker again
    for (let i = 0; i < 5; i++) {
      await worker.idle();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await worker.idle();
  }

  async containers(): Promise<{ id: string; name: string; attempt: number; state: string }[]> {
    const list = await this.runtime.listContainers();
    return list.map((c) => ({
      id: c.id,
      name: c.metadata?.name ?? '',
      attempt: c.metadata?.attempt ?? 0,
      state: c.state,
    }));
  }

  async running(name: string): Promise<string> {
    const found = (await this.containers()).find((c) => c.name === name && c.state === 'CONTAINER_RUNNING');
    if (found === undefined)
      throw new Error(`no running container ${name}: ${JSON.stringify(await this.containers())}`);
    return found.id;
  }

  last(): PodStatus {
    const status = this.statuses.at(-1);
    if (status === undefined) throw new Error('no status reported yet');
    return status;
  }

  cleanup(): void {
    this.runtime.close();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** `runtime` with some of its methods replaced: a stop that takes its whole timeout, or waits for the test. */
export function runtimeWith(runtime: FakeRuntime, replaced: Partial<CriRuntime>): CriRuntime {
  return new Proxy(runtime, {
    get(target, prop) {
      if (prop in replaced) return replaced[prop as keyof CriRuntime];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as CriRuntime;
}

export const condition = (status: PodStatus, type: string) => status.conditions?.find((c) => c.type === type)?.status;
