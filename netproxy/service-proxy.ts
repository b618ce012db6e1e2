/**
 * The service proxy: the entry point the agent drives. Informer events go to onServiceUpdate /
 * onEndpointSliceUpdate / onNodeUpdate; run(signal) keeps iptables in step with them until the
 * signal aborts.
 *
 * One sync = commit the tracker's changes -> the backend renders and applies (iptables: partial
 * when possible, one iptables-restore; IPVS: whole) -> delete stale UDP conntrack entries. A sync is full (every chain rewritten)
 * at start, every sync period, after the node changed, after a failed restore, and when the
 * canary shows that someone flushed our tables.
 */
import { ChangeTracker, type Refusal, type ServiceChange } from './change-tracker.ts';
import { syncRetryDelayMs } from './sync-backoff.ts';
import type { CommandRunner } from './command-runner.ts';
import { cleanConntrack } from './conntrack-cleaner.ts';
import { planConntrackCleanup } from './conntrack-planner.ts';
import type { IptablesBackend } from './iptables-backend.ts';
import { IptablesProxyBackend } from './iptables-proxy-backend.ts';
import type { ProxyConfig } from './iptables-renderer.ts';
import { IpvsProxyBackend } from './ipvs-proxy-backend.ts';
import { NftablesProxyBackend } from './nftables-proxy-backend.ts';
import type { Node as NodeObject, Service } from '../kube/corev1.ts';
import type { EndpointSlice } from '../kube/discoveryv1.ts';
import { ProxyMetrics } from './metrics.ts';
import { silentProxyLogger, type ProxyLogger } from './proxy-logger.ts';
import type { BackendContext, ProxyBackend, ProxyMode } from './proxy-backend.ts';
import { trafficTargets, type ServicePortState } from './service-port.ts';
import type { HealthCheckTarget } from './service-health.ts';
import { monotonicClock, pause, type Clock } from '../kube/clock.ts';
import { SyncRunner } from './sync-runner.ts';

interface ServiceProxyOptions {
  nodeName: string;
  runner: CommandRunner;
  config: ProxyConfig;
  /** Shortest time between two syncs (kube-proxy's --iptables-min-sync-period). Default 100 ms. */
  minSyncPeriodMs?: number;
  /** A full resync at least this often (--iptables-sync-period). Default 30 s. */
  syncPeriodMs?: number;
  /**
   * How often the canary chains are checked. Default: the sync period, as kube-proxy checks its
   * canary. Each check starts a process (iptables or nft, holding the xtables lock the CNI plugins
   * also take), which from a Node process of this size costs more than the listing itself: at
   * every 5 s it was the idle agent's largest CPU cost. A flush is repaired within a sync period
   * either way, since the periodic sync is a full one.
   */
  canaryPeriodMs?: number;
  /** healthz fails when queued work has waited longer than this. Default 2 x syncPeriod. */
  healthTimeoutMs?: number;
  /** 'iptables' (default), 'ipvs' (needs the kernel's ip_vs, ipvsadm and ipset) or 'nftables' (needs nft). */
  mode?: ProxyMode;
  /** Skip detection (tests, or a host whose backend is known). */
  backend?: IptablesBackend;
  clock?: Clock;
  logger?: ProxyLogger;
  /** Told the local endpoint counts after every sync (serves healthCheckNodePorts). */
  serviceHealth?: { update(targets: ReadonlyMap<number, HealthCheckTarget>): Promise<{ failed: string[] }> };
  /** Told once per distinct set of problems when a Service or EndpointSlice (or part of one) is left out. */
  onRefused?: (refusal: Refusal) => void;
}

interface SyncReport {
  ok: boolean;
  full: boolean;
  /** ms spent rendering */
  renderMs: number;
  /** ms of the whole sync */
  totalMs: number;
  /** ms inside iptables-restore */
  restoreMs: number;
  payloadBytes: number;
  error?: string;
}

export interface HealthState {
  ok: boolean;
  lastSyncAt: number | undefined;
  reason: string;
}

export class ServiceProxy {
  readonly metrics = new ProxyMetrics();
  readonly ready: Promise<void>;
  readonly #tracker: ChangeTracker;
  readonly #options: Required<
    Omit<ServiceProxyOptions, 'backend' | 'clock' | 'logger' | 'serviceHealth' | 'mode' | 'onRefused'>
  >;
  readonly #backend: ProxyBackend;
  readonly #serviceHealth: ServiceProxyOptions['serviceHealth'];
  readonly #clock: Clock;
  readonly #log: ProxyLogger;
  readonly #runner: SyncRunner;
  #state: ReadonlyMap<string, ServicePortState> = new Map();
  #needFull = true;
  #lastFullAt = Number.NEGATIVE_INFINITY;
  #lastSyncAt: number | undefined;
  #queuedAt: number | undefined;
  #startedAt: number;
  #firstEventAt: number | undefined;
  #pendingKeys = new Set<string>();
  #pendingChanges: ServiceChange[] = [];
  #markReady: () => void = () => {};
  #generation = 0;
  #appliedGeneration = 0;
  /** Failed syncs in a row: the back-off before the next try grows with it. */
  #failuresInRow = 0;

  constructor(options: ServiceProxyOptions) {
    const syncPeriodMs = options.syncPeriodMs ?? 30_000;
    this.#options = {
      nodeName: options.nodeName,
      runner: options.runner,
      config: options.config,
      minSyncPeriodMs: options.minSyncPeriodMs ?? 100,
      syncPeriodMs,
      canaryPeriodMs: options.canaryPeriodMs ?? syncPeriodMs,
      healthTimeoutMs: options.healthTimeoutMs ?? 2 * syncPeriodMs,
    };
    this.#serviceHealth = options.serviceHealth;
    this.#clock = options.clock ?? monotonicClock;
    this.#log = options.logger ?? silentProxyLogger;
    const clock = this.#clock;
    this.#backend = chooseBackend(options.mode ?? 'iptables', {
      runner: options.runner,
      metrics: this.metrics,
      now: () => clock.now(),
      log: this.#log,
      ...(options.backend ? { iptables: options.backend } : {}),
    });
    this.#tracker = new ChangeTracker(options.nodeName, (refusal) => {
      this.#log.warn(
        { kind: refusal.kind, object: `${refusal.namespace}/${refusal.name}`, problems: refusal.problems },
        'left out of the proxy rules: fields the API does not allow',
      );
      options.onRefused?.(refusal);
    });
    this.#startedAt = this.#clock.now();
    this.ready = new Promise((resolve) => {
      this.#markReady = resolve;
    });
    this.#runner = new SyncRunner(
      async () => {
        await this.sync();
      },
      {
        minIntervalMs: this.#options.minSyncPeriodMs,
        maxIntervalMs: syncPeriodMs,
        clock: this.#clock,
      },
    );
  }

  onServiceUpdate(previous: Service | undefined, current: Service | undefined): void {
    this.#tracker.onServiceUpdate(previous, current);
    this.#queue();
  }

  onEndpointSliceUpdate(previous: EndpointSlice | undefined, current: EndpointSlice | undefined): void {
    this.#tracker.onEndpointSliceUpdate(previous, current);
    this.#queue();
  }

  onNodeUpdate(previous: NodeObject | undefined, current: NodeObject | undefined): void {
    this.#tracker.onNodeUpdate(previous, current);
    if (this.#tracker.hasPending()) this.#queue();
  }

  /** Counts informer events received; see appliedGeneration. */
  get generation(): number {
    return this.#generation;
  }

  /** The generation the last successful sync programmed: every event up to it is in the kernel. */
  get appliedGeneration(): number {
    return this.#appliedGeneration;
  }

  /** Every programmed service port, as of the last commit. */
  get state(): ReadonlyMap<string, ServicePortState> {
    return this.#state;
  }

  /** Syncs until the signal aborts; also watches the canary. */
  async run(signal: AbortSignal): Promise<void> {
    this.#queue();
    try {
      await Promise.all([this.#runner.run(signal), this.#watchCanary(signal)]);
    } finally {
      this.#backend.close?.();
    }
  }

  health(): HealthState {
    const now = this.#clock.now();
    const timeout = this.#options.healthTimeoutMs;
    if (this.#queuedAt !== undefined && now - this.#queuedAt > timeout) {
      return {
        ok: false,
        lastSyncAt: this.#lastSyncAt,
        reason: `a sync has been pending for ${Math.round((now - this.#queuedAt) / 1000)} s`,
      };
    }
    if (this.#lastSyncAt === undefined && now - this.#startedAt > timeout) {
      return { ok: false, lastSyncAt: undefined, reason: 'no successful sync since start' };
    }
    return { ok: true, lastSyncAt: this.#lastSyncAt, reason: 'ok' };
  }

  /** Local endpoint counts of ports with a health check node port (externalTrafficPolicy Local). */
  healthCheckPorts(): Map<number, HealthCheckTarget> {
    const out = new Map<number, HealthCheckTarget>();
    for (const port of this.#state.values()) {
      if (port.healthCheckNodePort === 0) continue;
      const count = trafficTargets(port).local.length;
      const seen = out.get(port.healthCheckNodePort);
      out.set(port.healthCheckNodePort, {
        service: port.service,
        localEndpoints: Math.max(count, seen?.localEndpoints ?? 0),
      });
    }
    return out;
  }

  /** Forces the next sync to be full (e.g. the caller knows the tables were replaced). */
  requestFullSync(): void {
    this.#needFull = true;
    this.#queue();
  }

  /** One sync now. run() calls it; tests and benchmarks may call it directly. Never throws. */
  async sync(): Promise<SyncReport> {
    const started = this.#clock.now();
    const report: SyncReport = { ok: false, full: false, renderMs: 0, totalMs: 0, restoreMs: 0, payloadBytes: 0 };
    const eventAt = this.#firstEventAt;
    this.#firstEventAt = undefined;
    const generation = this.#generation;
    try {
      const commit = this.#tracker.commit();
      this.#state = commit.state;
      for (const change of commit.changes) {
        for (const p of change.previous) this.#pendingKeys.add(p.key);
        for (const p of change.current) this.#pendingKeys.add(p.key);
        this.#pendingChanges.push(change);
      }
      if (commit.nodeChanged) this.#needFull = true;
      if (started - this.#lastFullAt >= this.#options.syncPeriodMs) this.#needFull = true;

      const ruleCount = await this.#backend.sync(
        {
          state: this.#state,
          config: this.#options.config,
          full: this.#needFull,
          changed: this.#pendingKeys,
          nodePortAddresses: this.#nodePortAddresses(),
        },
        report,
      );
      if (report.full) {
        this.#needFull = false;
        this.#lastFullAt = started;
      }
      this.#pendingKeys.clear();
      const changes = this.#pendingChanges;
      this.#pendingChanges = [];
      // Only after the new rules are in: a flow deleted earlier could be re-created on the old rules.
      const deletions = planConntrackCleanup(changes);
      if (deletions.length > 0) {
        const cleaned = await cleanConntrack(this.#options.runner, deletions);
        if (cleaned.failed.length > 0) this.#log.warn({ failed: cleaned.failed }, 'some conntrack deletions failed');
      }
      if (this.#serviceHealth !== undefined) {
        const { failed } = await this.#serviceHealth.update(this.healthCheckPorts());
        if (failed.length > 0) this.#log.warn({ failed }, 'some health check node ports could not be opened');
      }
      const done = this.#clock.now();
      report.ok = true;
      this.#failuresInRow = 0;
      this.#appliedGeneration = generation;
      report.totalMs = done - started;
      this.#lastSyncAt = done;
      if (this.#queuedAt !== undefined && this.#queuedAt <= started) this.#queuedAt = undefined;
      this.#observe(report, ruleCount, eventAt, done);
      this.#markReady();
      return report;
    } catch (err) {
      report.totalMs = this.#clock.now() - started;
      report.error = err instanceof Error ? err.message : String(err);
      this.#failuresInRow++;
      const retryMs = syncRetryDelayMs(this.#failuresInRow);
      this.#log.error(
        { err: report.error, full: report.full, failuresInRow: this.#failuresInRow, retryMs },
        'proxy sync failed; the next sync is full',
      );
      // Retry through the runner after a back-off that grows with each failure, every change kept.
      if (eventAt !== undefined && this.#firstEventAt === undefined) this.#firstEventAt = eventAt;
      this.#queue();
      this.#runner.retryAfter(retryMs);
      return report;
    }
  }

  #nodePortAddresses(): string[] {
    return this.#options.config.nodePortAddresses !== undefined
      ? [...this.#options.config.nodePortAddresses]
      : this.#tracker.nodeAddresses;
  }

  #queue(): void {
    this.#generation++;
    const now = this.#clock.now();
    this.#queuedAt ??= now;
    this.#firstEventAt ??= now;
    this.metrics.lastQueuedTimestamp.value = Date.now() / 1000;
    this.#runner.request();
  }

  #observe(report: SyncReport, rules: number, eventAt: number | undefined, done: number): void {
    const seconds = report.totalMs / 1000;
    this.metrics.syncDuration.observe(seconds);
    (report.full ? this.metrics.fullSyncDuration : this.metrics.partialSyncDuration).observe(seconds);
    if (eventAt !== undefined) this.metrics.programmingDuration.observe((done - eventAt) / 1000);
    this.metrics.lastSyncTimestamp.value = Date.now() / 1000;
    if (report.full) this.metrics.totalRules.value = rules; // a partial sync writes only some
    let noLocal = 0;
    for (const port of this.#state.values()) {
      if (!port.externalPolicyLocal && !port.internalPolicyLocal) continue;
      if (port.endpoints.length > 0 && trafficTargets(port).local.length === 0) noLocal++;
    }
    this.metrics.noLocalEndpoints.value = noLocal;
  }

  async #watchCanary(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await pause(this.#clock, this.#options.canaryPeriodMs, signal);
      if (signal.aborted || this.#lastSyncAt === undefined) continue;
      let intact = true;
      try {
        intact = await (this.#backend.canaryIntact() ?? true);
      } catch (err) {
        this.#log.warn({ err: String(err) }, 'canary check failed to run');
      }
      if (!intact) {
        this.#log.warn({}, 'our iptables chains were flushed by someone else; resyncing in full');
        this.requestFullSync();
      }
    }
  }
}

/** The one place that maps --proxy-mode to a backend. */
function chooseBackend(mode: ProxyMode, context: BackendContext): ProxyBackend {
  if (mode === 'nftables') return new NftablesProxyBackend(context);
  return mode === 'ipvs' ? new IpvsProxyBackend(context) : new IptablesProxyBackend(context);
}
