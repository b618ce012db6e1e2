/**
 * The agent's NetworkPolicy loop, like the policy controller k3s embeds: it watches every pod,
 * namespace and policy of the cluster, and after each change (coalesced: the latest state wins,
 * one sync at a time) compiles this node's rules and applies them with one iptables-restore.
 * A periodic sync puts back what someone else removed (a flush, our hook pushed down FORWARD).
 *
 * A new pod's containers start only once its address is in the rules (`admitPod`): a pod that a
 * policy isolates is never reachable before the policy applies to it. Rules stay in place when the
 * agent stops, so a restarted agent drops no flow; its first sync rewrites them in one step.
 */
import type { KubeClient } from '../../kube/client.ts';
import { isApiError } from '../../kube/errors.ts';
import type { Pod } from '../../kube/corev1.ts';
import { apiListWatch, Informer } from '../../kube/informer.ts';
import type { NetworkPolicy } from '../../kube/networkingv1.ts';
import { PrometheusText } from '../../kube/prometheus-text.ts';
import { refs } from '../../kube/resource-ref.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { CommandRunner } from '../../netproxy/command-runner.ts';
import type { Logger } from 'pino';
import { NetworkPolicyApplier } from './applier.ts';
import type { DropCounts } from './observe.ts';
import { compile, type PodView } from './compile.ts';
import { namespaceView, podView } from './pod-view.ts';
import { renderFilter } from './render.ts';
import { canDrop, type Direction, type Ruleset } from './ruleset.ts';

/** The host as it is after the ruleset was applied: a fingerprint of what a sync would change. */
const unchangedHost = (ruleset: Ruleset) => ({
  chains: new Set(ruleset.chains.keys()),
  hookFirst: true,
  hookPresent: true,
});

interface EnforcerOptions {
  client: KubeClient;
  nodeName: string;
  runner: CommandRunner;
  log: Logger;
  /** Sync even when nothing changed this often (default 30 s), while a pod here is isolated. */
  resyncMs?: number;
  /** Read the drop counters and check that our hook is first in FORWARD and the drop chains exist this often (default 5 s), while a pod here is isolated. */
  checkMs?: number;
}

/** What `admitPod` needs of a pod: who it is and where it runs. */
type AdmittedPod = Pick<Pod, 'metadata' | 'spec' | 'status'>;

export class NetworkPolicyEnforcer {
  readonly #options: EnforcerOptions;
  readonly #applier: NetworkPolicyApplier;
  readonly #pods: Informer<Pod>;
  readonly #namespaces: Informer<KubeObject>;
  readonly #policies: Informer<NetworkPolicy>;
  /** Addresses of this node's new pods, from their sandboxes, before the API shows them; by UID. */
  readonly #addresses = new Map<string, { pod: AdmittedPod; ip: string }>();
  #generation = 0;
  #appliedGeneration = -1;
  #running: Promise<void> | undefined;
  #again = false;
  #waiters: { generation: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  #lastError: Error | undefined;
  #timer: NodeJS.Timeout | undefined;
  #counterTimer: NodeJS.Timeout | undefined;
  #dropped: Record<Direction, DropCounts> = { ingress: { packets: 0, bytes: 0 }, egress: { packets: 0, bytes: 0 } };
  #syncs = { ok: 0, failed: 0 };
  #lastSyncSeconds: number | undefined;
  #stopped = false;
  /** Why policies are not enforced on this node (the server does not let it read them); undefined: they are. */
  #notEnforced: string | undefined;
  /** The rules last applied, as text; a sync that would apply the same skips the host. */
  #lastFingerprint: string | undefined;
  /** The periodic sync applies even unchanged rules: someone may have removed ours. */
  #forceNext = false;
  /** Whether the rules applied last can drop anything: the periodic check is for those only. */
  #appliedCanDrop = false;

  constructor(options: EnforcerOptions) {
    this.#options = options;
    this.#applier = new NetworkPolicyApplier(options.runner);
    this.#pods = new Informer<Pod>(apiListWatch(options.client, refs.pods));
    this.#namespaces = new Informer<KubeObject>(apiListWatch(options.client, refs.namespaces));
    this.#policies = new Informer<NetworkPolicy>(apiListWatch(options.client, refs.networkpolicies));
  }

  /** Starts the watches and the sync loop; resolves when the loop ends (the signal). */
  async run(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.stop(), { once: true });
    // a server that does not serve NetworkPolicy (an older one), or does not let this node read it,
    // has none to enforce: pods must not wait for rules that can never come
    try {
      await this.#options.client.list(refs.networkpolicies, { limit: 1 });
    } catch (err) {
      if (isApiError(err, 'NotFound') || isApiError(err, 'Forbidden')) {
        this.#notEnforced = (err as Error).message;
        this.#options.log.warn({ err: this.#notEnforced }, 'NetworkPolicy cannot be read here; not enforcing it');
        for (const w of this.#waiters.splice(0)) w.resolve();
        await new Promise<void>((resolve) =>
          signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        return;
      }
      // anything else (the server not reachable yet): the watches below keep trying
    }
    const changed = () => this.#changed();
    for (const informer of [this.#pods, this.#namespaces, this.#policies] as Informer<KubeObject>[]) {
      informer.addHandlers({ onAdd: changed, onUpdate: changed, onDelete: changed });
    }
    this.#pods.addHandlers({ onDelete: (pod) => this.#addresses.delete(pod.metadata.uid ?? '') });
    const loops = [this.#pods.run(), this.#namespaces.run(), this.#policies.run()];
    this.#timer = setInterval(() => {
      // rules that drop nothing protect nothing: with no pod isolated here there is nothing to
      // repair, and the sync that isolates one applies everything again
      if (!this.#appliedCanDrop) return;
      this.#forceNext = true;
      this.#changed();
    }, this.#options.resyncMs ?? 30_000);
    this.#counterTimer = setInterval(() => void this.#refreshCounters(), this.#options.checkMs ?? 5_000);
    await Promise.allSettled(loops);
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    clearInterval(this.#counterTimer);
    for (const informer of [this.#pods, this.#namespaces, this.#policies] as Informer<KubeObject>[]) informer.stop();
    for (const w of this.#waiters.splice(0)) w.reject(new Error('the network policy loop stopped'));
  }

  /** Whether a ruleset from the API has been applied at least once since the agent started. */
  get everApplied(): boolean {
    return this.#appliedGeneration >= 0;
  }

  /**
   * Resolves once a sync that knows this pod at `ip` has been applied; rejects when syncs fail
   * (the pod's containers must not start unprotected) or after `timeoutMs`.
   */
  async admitPod(pod: AdmittedPod, ip: string, timeoutMs = 15_000): Promise<void> {
    const uid = pod.metadata.uid ?? '';
    if (pod.spec?.hostNetwork === true || ip === '' || this.#notEnforced !== undefined) return;
    if (this.#addresses.get(uid)?.ip !== ip) {
      this.#addresses.set(uid, { pod, ip });
      this.#changed();
    }
    const generation = this.#generation;
    if (this.#appliedGeneration >= generation) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `network policy rules for the pod were not applied within ${timeoutMs} ms${this.#lastError ? `: ${this.#lastError.message}` : ''}`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.push({
        generation,
        resolve: done,
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
  }

  /** Prometheus text: drops by direction, syncs by result, the last sync's duration. */
  metricsText(): string {
    const b = new PrometheusText();
    b.family('bosun_network_policy_dropped_packets_total', 'counter', 'Packets that network policies dropped');
    for (const d of ['ingress', 'egress'] as const)
      b.sample('bosun_network_policy_dropped_packets_total', { direction: d }, this.#dropped[d].packets);
    b.family('bosun_network_policy_dropped_bytes_total', 'counter', 'Bytes of packets that network policies dropped');
    for (const d of ['ingress', 'egress'] as const)
      b.sample('bosun_network_policy_dropped_bytes_total', { direction: d }, this.#dropped[d].bytes);
    b.family('bosun_network_policy_syncs_total', 'counter', 'Network policy rule syncs by result');
    b.sample('bosun_network_policy_syncs_total', { result: 'success' }, this.#syncs.ok);
    b.sample('bosun_network_policy_syncs_total', { result: 'error' }, this.#syncs.failed);
    b.family('bosun_network_policy_last_sync_duration_seconds', 'gauge', 'How long the last sync took');
    b.sample('bosun_network_policy_last_sync_duration_seconds', {}, this.#lastSyncSeconds);
    return b.text();
  }

  /** Set once every watch has its first list. */
  #allSynced = false;

  #changed(): void {
    this.#generation++;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#syncLoop().finally(() => {
      this.#running = undefined;
    });
  }

  async #syncLoop(): Promise<void> {
    do {
      this.#again = false;
      if (this.#stopped) return;
      // nothing is applied from a partial picture: an empty policy list would open every pod
      if (!this.#allSynced) {
        await Promise.all([this.#pods.synced, this.#namespaces.synced, this.#policies.synced]);
        this.#allSynced = true;
        if (this.#stopped) return;
      }
      const generation = this.#generation;
      const started = performance.now();
      try {
        // most changes (a pod's status, its readiness) change no rule: those syncs touch nothing
        const ruleset = this.#compile();
        const fingerprint = renderFilter(ruleset, unchangedHost(ruleset));
        if (this.#forceNext || fingerprint !== this.#lastFingerprint) {
          this.#forceNext = false;
          await this.#applier.apply(ruleset);
          this.#lastFingerprint = fingerprint;
        }
        this.#appliedCanDrop = canDrop(ruleset);
        this.#appliedGeneration = generation;
        this.#lastError = undefined;
        this.#syncs.ok++;
        this.#dropped = { ingress: this.#applier.dropped.ingress, egress: this.#applier.dropped.egress };
        for (const w of this.#waiters.filter((x) => x.generation <= generation)) w.resolve();
        this.#waiters = this.#waiters.filter((x) => x.generation > generation);
      } catch (err) {
        this.#lastError = err as Error;
        this.#syncs.failed++;
        this.#forceNext = true;
        this.#options.log.warn({ err: (err as Error).message }, 'network policy sync failed; trying again');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        this.#again = true;
      } finally {
        this.#lastSyncSeconds = (performance.now() - started) / 1000;
      }
    } while (this.#again && !this.#stopped);
  }

  #compile() {
    const policies = this.#policies.list();
    // without a policy no pod is isolated and none is a peer: the ruleset is the same whatever the
    // pods, so a burst of pod starts (each one a change here) does not build a view of every pod
    // of the cluster for every one of them
    if (policies.length === 0) return compile({ policies, pods: [], namespaces: [] });
    const pods: PodView[] = [];
    const seen = new Set<string>();
    for (const pod of this.#pods.list()) {
      const uid = pod.metadata.uid ?? '';
      seen.add(uid);
      const view = podView(pod, this.#options.nodeName, this.#addresses.get(uid)?.ip);
      if (view) pods.push(view);
    }
    // this node's pods that the watch has not shown yet
    for (const [uid, { pod, ip }] of this.#addresses) {
      if (seen.has(uid)) continue;
      const view = podView(
        { ...pod, spec: { ...pod.spec, nodeName: this.#options.nodeName } } as Pod,
        this.#options.nodeName,
        ip,
      );
      if (view) pods.push(view);
    }
    return compile({
      policies,
      pods,
      namespaces: this.#namespaces.list().map(namespaceView),
    });
  }

  async #refreshCounters(): Promise<void> {
    // with no pod isolated here the counters cannot move and nothing above the hook can matter;
    // the next sync that isolates one observes FORWARD anyway (and puts the hook first)
    if (this.#running || this.#appliedGeneration < 0 || !this.#appliedCanDrop) return;
    try {
      const { intact, ...dropped } = await this.#applier.readCounters();
      this.#dropped = dropped;
      if (!intact) {
        this.#forceNext = true;
        this.#changed();
      }
    } catch {
      // the next sync reads them again
    }
  }
}
