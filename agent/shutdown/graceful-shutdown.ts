/**
 * The graceful node shutdown manager: with a grace period set and logind present it holds a delay
 * inhibitor lock, and on PrepareForShutdown runs the plan — regular pods, then critical pods, each
 * phase bounded by its budget — then releases the lock so the shutdown goes on. Without logind it
 * logs that graceful shutdown is off and does nothing. The pods and how to stop them are seams.
 */
import { systemClock, type Clock, type TimerHandle } from '../../kube/clock.ts';
import type { InhibitDelay } from './inhibit-delay.ts';
import type { Logind } from './logind.ts';
import { planShutdown, type ShutdownKill, type ShutdownPod, type ShutdownSettings } from './shutdown-plan.ts';

interface ShutdownLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

interface GracefulShutdownOptions {
  settings: ShutdownSettings;
  logind: Logind;
  pods: () => readonly ShutdownPod[];
  /** Stops the pod within kill.gracePeriodSeconds and records kill.status on it. */
  stopPod: (kill: ShutdownKill) => Promise<void>;
  log: ShutdownLog;
  /** Times each phase's budget; default: the system's. */
  clock?: Clock;
  /** logind's cap on delay locks, raised to the grace period when short; absent: left alone. */
  inhibitDelay?: InhibitDelay;
}

/** How long logind may take to apply a reloaded cap before the agent says it is still short. */
const delayReloadWaitMs = 2_000;

export class GracefulShutdown {
  readonly #options: GracefulShutdownOptions;
  #release: (() => void) | undefined;
  #unwatch: (() => void) | undefined;
  #done: Promise<void> | undefined;
  #delayChecked: Promise<void> = Promise.resolve();

  constructor(options: GracefulShutdownOptions) {
    this.#options = options;
  }

  /** Takes the lock and starts watching; false when graceful shutdown is off or impossible here. */
  start(): boolean {
    const { settings, logind, log } = this.#options;
    if (settings.gracePeriodSeconds === 0) return false;
    if (!logind.available()) {
      log.warn({}, 'graceful node shutdown is off: systemd-logind is not running on this machine');
      return false;
    }
    if (this.#options.inhibitDelay !== undefined)
      this.#delayChecked = this.#raiseDelayIfShort(this.#options.inhibitDelay);
    this.#release = logind.inhibitShutdown(`stopping pods within ${settings.gracePeriodSeconds} s`);
    this.#unwatch = logind.watchShutdown(() => {
      this.#done ??= this.#drain();
    });
    log.info(
      {
        gracePeriodSeconds: settings.gracePeriodSeconds,
        criticalGracePeriodSeconds: settings.criticalGracePeriodSeconds,
      },
      'graceful node shutdown armed (logind delay lock taken)',
    );
    return true;
  }

  /** Resolves once logind's cap was checked (and raised where it was short). */
  get delayChecked(): Promise<void> {
    return this.#delayChecked;
  }

  async #raiseDelayIfShort(delay: InhibitDelay): Promise<void> {
    const { settings, log, clock = systemClock } = this.#options;
    const wanted = settings.gracePeriodSeconds;
    const before = await delay.maxSeconds();
    if (before === undefined || before >= wanted) return;
    try {
      await delay.raiseTo(wanted);
    } catch (err) {
      log.warn(
        { err: (err as Error).message },
        "cannot raise logind's InhibitDelayMaxSec to the shutdown grace period",
      );
      return;
    }
    // logind applies the reloaded configuration on its own time
    const until = clock.now() + delayReloadWaitMs;
    let now = await delay.maxSeconds();
    while ((now === undefined || now < wanted) && clock.now() < until) {
      await new Promise<void>((resolve) => clock.after(100, resolve));
      now = await delay.maxSeconds();
    }
    if (now !== undefined && now >= wanted)
      log.info({ from: before, to: now }, "raised logind's InhibitDelayMaxSec to the shutdown grace period");
    else
      log.warn(
        { inhibitDelayMaxSeconds: now, gracePeriodSeconds: wanted },
        "logind's InhibitDelayMaxSec is still shorter than the shutdown grace period (a logind.conf.d drop-in that sorts later wins): the machine will not wait for every pod",
      );
  }

  /** Whether the node is shutting down: a drain started (the node then reports NotReady). */
  get shuttingDown(): boolean {
    return this.#done !== undefined;
  }

  /** Resolves when a drain that started has finished. */
  get drained(): Promise<void> | undefined {
    return this.#done;
  }

  async #drain(): Promise<void> {
    const { log, clock = systemClock } = this.#options;
    log.info({}, 'node shutdown: stopping pods');
    for (const phase of planShutdown(this.#options.pods(), this.#options.settings)) {
      let timer: TimerHandle | undefined;
      const budget = new Promise<void>((resolve) => {
        timer = clock.after(phase.budgetSeconds * 1000, resolve);
      });
      const stops = Promise.allSettled(phase.kills.map((kill) => this.#options.stopPod(kill)));
      await Promise.race([stops, budget]);
      timer?.cancel();
      log.info({ critical: phase.critical, pods: phase.kills.length }, 'node shutdown: phase done');
    }
    this.close();
  }

  /** Releases the lock and stops watching (idempotent). */
  close(): void {
    this.#unwatch?.();
    this.#release?.();
    this.#unwatch = undefined;
    this.#release = undefined;
  }
}
