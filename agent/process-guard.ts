/**
 * The long-running agent outlives a mistake in one of its handlers. The agent runs as root on
 * every node and handles data from the API and from the network; a rejected promise or an
 * exception that escapes one request or one loop iteration must not take down every pod's
 * supervision, DNS and service rules on the node. The guard logs what escaped, with where it came
 * from, and lets the process go on. Installed only by `bosun agent` (short commands keep Node's
 * default: fail loudly and exit).
 */
import type { Logger } from 'pino';

/** The part of `process` the guard uses, so a test can hand it an emitter of its own. */
export interface GuardedProcess {
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  on(event: 'uncaughtException', listener: (error: Error, origin: string) => void): unknown;
  off(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  off(event: 'uncaughtException', listener: (error: Error, origin: string) => void): unknown;
}

export interface ProcessGuard {
  /** How many escaped errors were logged (for tests and metrics). */
  readonly escaped: number;
  /** Removes the handlers again (Node's default behaviour returns). */
  uninstall(): void;
}

function describe(reason: unknown): { message: string; stack?: string } {
  if (reason instanceof Error)
    return { message: reason.message, ...(reason.stack === undefined ? {} : { stack: reason.stack }) };
  return { message: String(reason) };
}

export function installProcessGuard(log: Pick<Logger, 'error'>, target: GuardedProcess = process): ProcessGuard {
  let escaped = 0;
  const onRejection = (reason: unknown) => {
    escaped++;
    log.error(
      { origin: 'unhandledRejection', err: describe(reason) },
      'a promise rejected with nobody to handle it; the agent keeps running',
    );
  };
  const onException = (error: Error, origin: string) => {
    escaped++;
    log.error({ origin, err: describe(error) }, 'an exception escaped its handler; the agent keeps running');
  };
  target.on('unhandledRejection', onRejection);
  target.on('uncaughtException', onException);
  return {
    get escaped() {
      return escaped;
    },
    uninstall() {
      target.off('unhandledRejection', onRejection);
      target.off('uncaughtException', onException);
    },
  };
}
