/**
 * Many hollow nodes in one process, as kubemark runs them: each is the real agent (registration,
 * lease, node status, pod workers, status writer, service proxy change tracking) over its own
 * stateful fake CRI and a proxy runner without a host. Each node has its own identity, joined
 * through the real path: one discovery per process (cluster-info, verified by token signature and
 * CA pin), then a CSR and a client certificate per node, a few at a time.
 *
 * Per node there is no DNS server, no healthz listener and no kubelet server: those are per-host
 * costs that say nothing about the control plane. Pod volumes are written to folders but never
 * mounted (NullMounts), so pods keep their default service-account token volume.
 *
 * Lifecycle: run(signal) joins and starts the nodes, resolves `allStarted` when every node is
 * ready (or failed), and returns after the signal aborted and every agent stopped.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Agent } from '../../agent/agent.ts';
import { readHostFacts, type HostFacts } from '../../agent/node/host-facts.ts';
import { nothingReserved } from '../../agent/node/node-flags.ts';
import { SystemdNotifier } from '../../kube/systemd-notify.ts';
import type { BootstrapToken } from '../../kube/bootstrap.ts';
import { discover } from '../../host/join/discovery.ts';
import { requestNodeCertificate } from '../../host/join/tls-bootstrap.ts';
import { writeAgentKubeconfig } from '../../host/join/write-kubeconfig.ts';
import { HollowRuntime } from './hollow-runtime.ts';
import { NullHostRunner } from './null-host.ts';
import { NullMounts } from './null-mounts.ts';
import { SharedKeyRequests } from './shared-key-requests.ts';

export interface HollowFleetOptions {
  server: string;
  /** More API servers: each node's agent fails over between them and `server` (bosun agent --server). */
  servers?: readonly string[];
  token: BootstrapToken;
  caHashes: readonly string[];
  nodes: number;
  /** Node names are `<namePrefix>-<index>`, indexes from `firstIndex`. */
  namePrefix: string;
  firstIndex: number;
  /** Kubeconfigs and the agents' (empty) pod folders go below here. */
  dataDir: string;
  /** CSRs (and registrations) in flight at once. */
  joinConcurrency: number;
  runtimeLatencyMs: number;
  podResyncMs: number;
  pauseImage: string;
  version: string;
  log: Logger;
}

export interface FleetProgress {
  nodes: number;
  joined: number;
  ready: number;
  failed: number;
  /** Joins that failed once and were tried again. */
  retries: number;
  /** Agents that stopped with an error and were started again. */
  restarts: number;
  lastError: string | undefined;
}

/** A distinct, never-routed address per node index (198.18.0.0/15 is the benchmarking range). */
export function hollowNodeIP(index: number): string {
  return `198.${18 + ((index >> 16) & 1)}.${(index >> 8) & 255}.${index & 255}`;
}

export function hollowNodeName(prefix: string, index: number): string {
  return `${prefix}-${String(index).padStart(4, '0')}`;
}

const joinAttempts = 4;
const agentAttempts = 5;

const silentNotifier = (log: Logger) => new SystemdNotifier({ run: async () => 0 }, log, {});

export class HollowFleet {
  readonly #options: HollowFleetOptions;
  readonly progress: FleetProgress;
  #markStarted: () => void = () => {};
  readonly allStarted: Promise<void>;
  /**
   * The host's facts, read once for every node of the process: the answer is the same for all.
   */
  #hostFacts: Promise<HostFacts> | undefined;

  constructor(options: HollowFleetOptions) {
    this.#options = options;
    this.progress = {
      nodes: options.nodes,
      joined: 0,
      ready: 0,
      failed: 0,
      retries: 0,
      restarts: 0,
      lastError: undefined,
    };
    this.allStarted = new Promise((resolve) => {
      this.#markStarted = resolve;
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    const options = this.#options;
    const cluster = await this.#discoverWithRetries(signal);
    const requests = new SharedKeyRequests();
    const running: Promise<void>[] = [];
    let next = 0;
    const worker = async () => {
      while (!signal.aborted && next < options.nodes) {
        const index = options.firstIndex + next++;
        try {
          const kubeconfig = await this.#joinWithRetries(index, cluster.caPem, requests, signal);
          this.progress.joined++;
          const node = this.#runWithRestarts(index, kubeconfig, signal);
          running.push(node.done.catch((err: unknown) => this.#failed(index, err)));
          // the slot is free once the node registered, which bounds registrations in flight too
          await Promise.race([node.ready, node.done.catch(() => {})]);
        } catch (err) {
          this.#failed(index, err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.joinConcurrency) }, worker));
    this.#markStarted();
    await Promise.all(running);
  }

  #failed(index: number, err: unknown): void {
    this.progress.failed++;
    this.progress.lastError = `${hollowNodeName(this.#options.namePrefix, index)}: ${(err as Error).message}`;
    this.#options.log.error(
      { node: hollowNodeName(this.#options.namePrefix, index), err: (err as Error).message },
      'hollow node failed',
    );
  }

  /**
   * Runs a node's agent; when it stops with an error (a start-up call timed out on a busy server)
   * a new one starts after a pause, as systemd's Restart= would do for a real node.
   */
  #runWithRestarts(
    index: number,
    kubeconfig: string,
    signal: AbortSignal,
  ): { ready: Promise<void>; done: Promise<void> } {
    let markReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      markReady = resolve;
    });
    // Each node stops on its own signal, which follows the process's: the loops of an agent add and
    // remove abort listeners on every pause, and EventTarget's cost of that grows with the listeners
    // already there, so one signal shared by hundreds of agents made every pause slow.
    const nodeStop = new AbortController();
    const forward = () => nodeStop.abort();
    signal.addEventListener('abort', forward, { once: true });
    const done = (async () => {
      for (let attempt = 1; ; attempt++) {
        const agent = this.#agent(index, kubeconfig);
        void agent.ready.then(() => {
          if (signal.aborted) return;
          this.progress.ready++;
          markReady();
        });
        try {
          await agent.run(nodeStop.signal);
          return;
        } catch (err) {
          if (signal.aborted || attempt >= agentAttempts) throw err;
          this.progress.restarts++;
          this.progress.lastError = `${hollowNodeName(this.#options.namePrefix, index)} agent restarted: ${(err as Error).message}`;
          await sleep(5_000);
        }
      }
    })().finally(() => signal.removeEventListener('abort', forward));
    return { ready, done };
  }

  /** Discovery on a busy server (a large rollout under way) can time out: it is tried again, like a join. */
  async #discoverWithRetries(signal: AbortSignal): ReturnType<typeof discover> {
    const options = this.#options;
    for (let attempt = 1; ; attempt++) {
      try {
        return await discover(options.server, options.token, options.caHashes);
      } catch (err) {
        if (attempt >= joinAttempts || signal.aborted) throw err;
        this.progress.retries++;
        this.progress.lastError = `discovery (attempt ${attempt}): ${(err as Error).message}`;
        await sleep(2_000 * attempt);
      }
    }
  }

  /** A join that fails (a busy server times out) is tried again, as a kubelet's bootstrap would be. */
  async #joinWithRetries(
    index: number,
    caPem: string,
    requests: SharedKeyRequests,
    signal: AbortSignal,
  ): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#join(index, caPem, requests);
      } catch (err) {
        if (attempt >= joinAttempts || signal.aborted) throw err;
        this.progress.retries++;
        this.progress.lastError = `${hollowNodeName(this.#options.namePrefix, index)} (attempt ${attempt}): ${(err as Error).message}`;
        await sleep(2_000 * attempt);
      }
    }
  }

  /** Joins node `index`: a client certificate through a CSR, written into its kubeconfig; returns the kubeconfig's path. */
  async #join(index: number, caPem: string, requests: SharedKeyRequests): Promise<string> {
    const options = this.#options;
    const nodeName = hollowNodeName(options.namePrefix, index);
    const credentials = await requestNodeCertificate(
      options.server,
      caPem,
      `${options.token.id}.${options.token.secret}`,
      nodeName,
      300_000,
      requests.request(nodeName),
    );
    const nodeDir = join(options.dataDir, nodeName);
    mkdirSync(nodeDir, { recursive: true });
    const kubeconfig = join(nodeDir, 'kubeconfig');
    writeAgentKubeconfig(kubeconfig, { server: options.server, caPem, nodeName, ...credentials });
    return kubeconfig;
  }

  #agent(index: number, kubeconfig: string): Agent {
    const options = this.#options;
    const nodeName = hollowNodeName(options.namePrefix, index);
    const nodeDir = join(options.dataDir, nodeName);
    const log = options.log.child({ node: nodeName });
    return new Agent({
      kubeconfig,
      nodeName,
      ...(options.servers !== undefined && options.servers.length > 0 ? { servers: options.servers } : {}),
      nodeIP: hollowNodeIP(index),
      runtimeEndpoint: 'fake://hollow',
      runtime: new HollowRuntime({ pauseImage: options.pauseImage, latencyMs: options.runtimeLatencyMs }),
      proxyRunner: new NullHostRunner(),
      hostMounts: new NullMounts(),
      // hollow nodes have no disk to keep volumes on (and a thousand claim watches would cost)
      localPathProvisioner: false,
      hostFacts: () =>
        (this.#hostFacts ??= readHostFacts().catch((err: unknown) => {
          this.#hostFacts = undefined; // the next node tries again
          throw err;
        })),
      podInfraImage: options.pauseImage,
      podLogDir: join(nodeDir, 'logs'),
      rootDir: join(nodeDir, 'root'),
      clusterDNS: ['10.96.0.10'],
      clusterDomain: 'cluster.local',
      clusterCIDR: undefined,
      nodeLabels: { 'node.bosun.dev/hollow': 'true' },
      registerTaints: [],
      maxPods: 110,
      reserved: nothingReserved,
      healthzAddress: '127.0.0.1',
      healthzPort: 0,
      proxyMode: 'iptables',
      dnsServe: false,
      dnsPort: 53,
      cgroupDriver: 'cgroupfs',
      version: options.version,
      podResyncMs: options.podResyncMs,
      log,
      notifier: silentNotifier(log),
    });
  }
}
