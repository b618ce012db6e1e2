/**
 * The horizontal pod autoscaler controller: every sync period (`--horizontal-pod-autoscaler-sync-period`,
 * 15 s, as upstream) each autoscaler is observed (its target's scale, the pods the scale's selector
 * picks, their resource metrics), planned (reconcile.ts, pure) and acted on (scale, status, events).
 * What upstream keeps in memory between passes (recent recommendations and scale events, for the
 * stabilization windows and policies) is kept here per autoscaler, and forgotten when it goes.
 *
 * Lifecycle: the constructor does nothing; run(signal) lists, then syncs until the signal aborts.
 */
import { ApiError } from '../../../kube/errors.ts';
import { type Clock, pause, systemClock } from '../../../kube/clock.ts';
import { Informer, type ListWatch } from '../../../kube/informer.ts';
import type { KubeObject } from '../../../kube/types.ts';
import { type LabelSelector, matchesLabels, parseLabelSelector } from '../../../kube/labels.ts';
import type { AutoscalerSeam, TargetRef } from './api.ts';
import { emptyHistory, type ScaleHistory } from './behavior.ts';
import { type ControllerTimings, type Observed, type Pass, planAutoscaler, rescaleFailed } from './reconcile.ts';

type Any = Record<string, any>;

/** Upstream's kube-controller-manager defaults for the autoscaler flags. */
const autoscalerDefaults = {
  syncPeriodMs: 15_000,
  tolerance: 0.1,
  cpuInitializationPeriodMs: 5 * 60_000,
  delayOfInitialReadinessStatusMs: 30_000,
  downscaleStabilizationMs: 5 * 60_000,
} as const;

export interface AutoscalerOptions extends ControllerTimings {
  readonly syncPeriodMs: number;
}

interface AutoscalerControllerDeps {
  readonly seam: AutoscalerSeam;
  /** Where the autoscalers (autoscaling/v2) are listed and watched. */
  readonly autoscalers: ListWatch<KubeObject>;
  readonly options?: Partial<AutoscalerOptions>;
  readonly clock?: Clock;
  readonly onError?: (err: unknown, key: string) => void;
}

const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class HorizontalPodAutoscalerController {
  readonly #deps: AutoscalerControllerDeps;
  readonly #options: AutoscalerOptions;
  readonly #clock: Clock;
  readonly #informer: Informer<KubeObject>;
  readonly #histories = new Map<string, ScaleHistory>();
  /** Each autoscaler's target selector as last read, to find pods that two of them would scale. */
  readonly #selectors = new Map<string, LabelSelector>();

  constructor(deps: AutoscalerControllerDeps) {
    this.#deps = deps;
    this.#options = { ...autoscalerDefaults, ...deps.options };
    this.#clock = deps.clock ?? systemClock;
    this.#informer = new Informer(deps.autoscalers, { onError: (err) => deps.onError?.(err, 'informer') });
  }

  /** Syncs every autoscaler each sync period until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const watching = this.#informer.run();
    const stop = () => this.#informer.stop();
    signal.addEventListener('abort', stop, { once: true });
    await Promise.race([this.#informer.synced, new Promise((resolve) => signal.addEventListener('abort', resolve))]);
    while (!signal.aborted) {
      // upstream holds a new autoscaler back one period too (its queue delays every add by it)
      await pause(this.#clock, this.#options.syncPeriodMs, signal);
      if (signal.aborted) break;
      await this.syncAll();
    }
    await watching;
  }

  /** One pass over every autoscaler (exposed for tests that drive the clock). */
  async syncAll(): Promise<void> {
    const present = new Set<string>();
    for (const hpa of this.#informer.list()) {
      const key = keyOf(hpa);
      present.add(key);
      try {
        await this.sync(hpa);
      } catch (err) {
        this.#deps.onError?.(err, key);
      }
    }
    for (const key of this.#histories.keys()) if (!present.has(key)) this.#histories.delete(key);
    for (const key of this.#selectors.keys()) if (!present.has(key)) this.#selectors.delete(key);
  }

  /** One pass over one autoscaler: observe, plan, act. */
  async sync(hpa: KubeObject): Promise<void> {
    const key = keyOf(hpa);
    const observed = await this.#observe(hpa, this.#histories.get(key) ?? emptyHistory);
    let pass = planAutoscaler(observed, this.#options);
    const target = (hpa.spec as Any | undefined)?.scaleTargetRef as TargetRef;
    if (pass.rescale !== undefined) {
      try {
        await this.#deps.seam.setScale(hpa.metadata.namespace ?? '', target, pass.rescale.replicas);
      } catch (err) {
        const current = 'error' in observed.scale ? 0 : observed.scale.specReplicas;
        pass = rescaleFailed(observed, pass, messageOf(err), current);
      }
    }
    this.#histories.set(key, pass.history);
    await this.#act(hpa, pass);
  }

  async #observe(hpa: KubeObject, history: ScaleHistory): Promise<Observed> {
    const namespace = hpa.metadata.namespace ?? '';
    const nowMs = this.#clock.now();
    const target = (hpa.spec as Any | undefined)?.scaleTargetRef as TargetRef;
    const base = { hpa, history, nowMs, pods: [] as KubeObject[], podMetrics: [] as Any[] };
    let scale: Observed['scale'];
    try {
      scale = await this.#deps.seam.getScale(namespace, target);
    } catch (err) {
      return { ...base, scale: { error: messageOf(err) } };
    }
    if (scale.selector === '') return { ...base, scale };
    const key = keyOf(hpa);
    let selector: LabelSelector;
    try {
      selector = parseLabelSelector(scale.selector);
    } catch (err) {
      const message = `couldn't convert selector into a corresponding internal selector object: ${messageOf(err)}`;
      return { ...base, scale, selectorProblem: { reason: 'InvalidSelector', message } };
    }
    this.#selectors.set(key, selector);
    const pods = await this.#deps.seam.listPods(namespace, scale.selector);
    const controlling = this.#autoscalersOf(namespace, pods);
    if (controlling.length > 1) {
      const message = `pods by selector ${scale.selector} are controlled by multiple HPAs: [${controlling.join(' ')}]`;
      return { ...base, scale, pods, selectorProblem: { reason: 'AmbiguousSelector', message } };
    }
    const podMetrics = await this.#deps.seam
      .listPodMetrics(namespace, scale.selector)
      .catch((err: unknown) => ({ error: err instanceof ApiError ? err.message : messageOf(err) }));
    return { ...base, scale, pods, podMetrics };
  }

  /** The autoscalers of the namespace whose last seen selector picks any of these pods. */
  #autoscalersOf(namespace: string, pods: readonly KubeObject[]): string[] {
    const found: string[] = [];
    for (const [key, selector] of this.#selectors) {
      if (!key.startsWith(`${namespace}/`)) continue;
      if (pods.some((pod) => matchesLabels(selector, pod.metadata.labels))) found.push(key);
    }
    return found.sort();
  }

  async #act(hpa: KubeObject, pass: Pass): Promise<void> {
    for (const event of pass.events) await this.#deps.seam.recordEvent(hpa, event.type, event.reason, event.message);
    if (JSON.stringify(pass.status) === JSON.stringify(hpa.status ?? {})) return;
    await this.#deps.seam.writeStatus({ ...hpa, status: pass.status });
  }
}
