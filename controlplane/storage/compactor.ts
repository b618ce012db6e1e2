/**
 * Keeps the datastore's history bounded: every interval, compacts up to the revision that was
 * current one interval ago, so a watcher may resume from anything it saw in the last interval.
 */
import type { Logger } from 'pino';
import type { Storage } from './store.ts';

export function startCompactor(storage: Storage, intervalMs: number, logger: Logger): { stop(): void } {
  let previous: number | undefined;
  const timer = setInterval(() => {
    void (async () => {
      try {
        const current = await storage.currentRevision();
        if (previous !== undefined && previous > 0) await storage.compact(previous);
        previous = current;
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'compaction failed; will retry');
      }
    })();
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
