/**
 * Tells systemd how a daemon (bosun agent, bosun server) is doing when it runs as a Type=notify
 * unit with a watchdog (systemd/bosun-*.service): READY=1 once it is ready, WATCHDOG=1 at half the
 * watchdog interval while it runs, STOPPING=1 when it stops. Without NOTIFY_SOCKET (no systemd,
 * or run by hand) every call does nothing.
 *
 * Node cannot send on a unix datagram socket, so each message goes through `systemd-notify`
 * (the units have NotifyAccess=all for this). READY names our PID as MAINPID, so systemd
 * attributes it to the daemon and not to the short-lived helper; systemd-notify waits until
 * systemd has read the message (its barrier), so the helper exiting first loses nothing.
 */
import { spawn } from 'node:child_process';

export interface NotifyRunner {
  /** Runs argv to completion; resolves with the exit code. */
  run(argv: readonly string[]): Promise<number>;
}

interface NotifyLog {
  warn(obj: object, msg: string): void;
}

export class SystemdNotifier {
  readonly #env: NodeJS.ProcessEnv;
  readonly #runner: NotifyRunner;
  readonly #log: NotifyLog;
  readonly #pid: number;
  #warned = false;

  constructor(runner: NotifyRunner, log: NotifyLog, env: NodeJS.ProcessEnv = process.env, pid = process.pid) {
    this.#runner = runner;
    this.#log = log;
    this.#env = env;
    this.#pid = pid;
  }

  get enabled(): boolean {
    return (this.#env.NOTIFY_SOCKET ?? '') !== '';
  }

  /** Half of systemd's watchdog interval, or undefined when no watchdog is armed for us. */
  get watchdogPeriodMs(): number | undefined {
    const usec = Number(this.#env.WATCHDOG_USEC ?? '');
    const pid = this.#env.WATCHDOG_PID;
    if (!this.enabled || !Number.isFinite(usec) || usec <= 0) return undefined;
    if (pid !== undefined && pid !== '' && Number(pid) !== this.#pid) return undefined;
    return Math.max(1, Math.floor(usec / 1000 / 2));
  }

  async #send(args: string[]): Promise<void> {
    if (!this.enabled) return;
    let code: number;
    try {
      code = await this.#runner.run(['systemd-notify', ...args]);
    } catch (err) {
      code = -1;
      if (!this.#warned)
        this.#log.warn(
          { err: (err as Error).message },
          'cannot run systemd-notify; systemd will not see this daemon as ready',
        );
      this.#warned = true;
      return;
    }
    if (code !== 0 && !this.#warned) {
      this.#warned = true;
      this.#log.warn({ args, code }, 'systemd-notify failed');
    }
  }

  ready(status: string): Promise<void> {
    return this.#send([`--pid=${this.#pid}`, '--ready', `--status=${status}`]);
  }

  stopping(): Promise<void> {
    return this.#send(['STOPPING=1']);
  }

  /** Pings the watchdog until the signal aborts (does nothing without a watchdog). */
  watchdog(signal: AbortSignal): void {
    const period = this.watchdogPeriodMs;
    if (period === undefined || signal.aborted) return;
    const timer = setInterval(() => void this.#send(['WATCHDOG=1']), period);
    signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }
}

/** The real runner: spawns the command, output ignored. */
export const spawnNotifyRunner: NotifyRunner = {
  run: (argv) =>
    new Promise((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
      child.once('error', reject);
      child.once('exit', (code) => resolve(code ?? 1));
    }),
};
