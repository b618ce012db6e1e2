/**
 * The eviction manager's loop (hard thresholds): every 10 s it observes the signals, lets
 * planPressure decide the pressure conditions and whether a threshold is met, and then acts:
 * first it reclaims node-level disk (dead containers, unused images) and looks again; if the
 * threshold still holds it evicts ONE pod, the first of rankForEviction, and waits for the next
 * round before it evicts another (a killed pod takes a moment to give its resources back).
 *
 * Lifecycle: the constructor does nothing; run(signal) loops until the signal aborts.
 */
import type { Logger } from 'pino';
import { pause, type Clock } from '../../kube/clock.ts';
import type { PressureState } from '../node/node-conditions.ts';
import {
  evictionMessage,
  planPressure,
  rankForEviction,
  type Observations,
  type PodUsage,
  type PressureMemory,
  type PressurePlan,
} from './eviction-plan.ts';
import type { Threshold } from './thresholds.ts';

interface EvictionManagerOptions {
  observe(): Promise<Observations>;
  thresholds: readonly Threshold[];
  /** --eviction-pressure-transition-period (default 5 min). */
  transitionPeriodMs: number;
  /** Default 10 s (the kubelet's eviction monitoring period). */
  intervalMs?: number;
  clock: Clock;
  log: Logger;
  /** Frees node-level disk: dead containers and unused images. */
  reclaimDisk(): Promise<void>;
  /** The pods that may be evicted, with what they use. */
  candidates(): Promise<PodUsage[]>;
  /** Evicts the pod (Failed, Evicted, event); false when it could not be. */
  evict(uid: string, message: string): Promise<boolean>;
  /** Told once per round in which a threshold is met (the node's EvictionThresholdMet event). */
  onThresholdMet?(message: string): void;
}

export class EvictionManager {
  readonly #o: EvictionManagerOptions;
  #memory: PressureMemory = {};
  #pressure: PressureState = { MemoryPressure: false, DiskPressure: false, PIDPressure: false };
  /** Pods evicted, for tests and metrics. */
  evictions = 0;
  /** Whether a round has run (before it, the pressure is not known). */
  observed = false;

  constructor(options: EvictionManagerOptions) {
    this.#o = options;
  }

  get pressure(): PressureState {
    return this.#pressure;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.syncOnce();
      } catch (err) {
        this.#o.log.warn({ err: (err as Error).message }, 'eviction round failed');
      }
      await pause(this.#o.clock, this.#o.intervalMs ?? 10_000, signal);
    }
  }

  async #plan(): Promise<PressurePlan> {
    const plan = planPressure({
      observations: await this.#o.observe(),
      thresholds: this.#o.thresholds,
      previous: this.#memory,
      now: this.#o.clock.now(),
      transitionPeriodMs: this.#o.transitionPeriodMs,
    });
    this.#memory = plan.memory;
    this.#pressure = plan.conditions;
    this.observed = true;
    return plan;
  }

  /** One round; returns the UID of the pod evicted, if any. */
  async syncOnce(): Promise<string | undefined> {
    let plan = await this.#plan();
    if (plan.act === undefined) return undefined;
    const { signal } = plan.act.threshold;
    this.#o.log.warn(
      { signal, available: plan.act.observed.available, capacity: plan.act.observed.capacity },
      'eviction threshold met',
    );
    this.#o.onThresholdMet?.(`Attempting to reclaim ${plan.act.resource}`);
    if (plan.act.reclaimDisk) {
      await this.#o.reclaimDisk();
      plan = await this.#plan();
      if (plan.act === undefined) {
        this.#o.log.info({ signal }, 'reclaiming node-level disk was enough; no pod evicted');
        return undefined;
      }
    }
    const act = plan.act;
    for (const pod of rankForEviction(await this.#o.candidates(), act.resource)) {
      if (await this.#o.evict(pod.uid, evictionMessage(act.resource, act, pod))) {
        this.evictions++;
        return pod.uid;
      }
    }
    this.#o.log.warn({ signal: act.threshold.signal }, 'eviction threshold met but no pod could be evicted');
    return undefined;
  }
}
