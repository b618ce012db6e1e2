/**
 * Scheduled snapshots, as k3s takes them (`--etcd-snapshot-schedule-cron`, default every 12 hours,
 * 5 kept): the server saves one on the cron schedule and then removes the scheduled ones beyond the
 * retention. Snapshots taken by hand are never pruned. A failed snapshot is logged and the next one
 * is tried on schedule; the server keeps serving.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Cron } from 'croner';
import type { Logger } from 'pino';
import { listSnapshots, snapshotsToPrune, type SnapshotMeta } from './snapshot-catalog.ts';

export interface SnapshotSchedule {
  cron: string;
  retention: number;
  dir: string;
}

/** Why an expression is not a schedule croner accepts, or undefined when it is. */
export function cronProblem(expression: string): string | undefined {
  try {
    new Cron(expression, { paused: true }).stop();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Takes a snapshot on every tick, then prunes; returns a stop function. */
export function startSnapshotSchedule(
  schedule: SnapshotSchedule,
  save: () => Promise<SnapshotMeta>,
  logger: Logger,
): () => void {
  const job = new Cron(schedule.cron, { protect: true, unref: true }, async () => {
    try {
      const meta = await save();
      logger.info({ snapshot: meta.name, size: meta.size }, 'datastore snapshot saved');
      for (const old of snapshotsToPrune(listSnapshots(schedule.dir), schedule.retention)) {
        rmSync(join(schedule.dir, old.name), { recursive: true, force: true });
        logger.info({ snapshot: old.name }, 'old scheduled snapshot removed');
      }
    } catch (err) {
      logger.error(
        { err: (err as Error).message },
        'scheduled datastore snapshot failed; the next one is tried on schedule',
      );
    }
  });
  return () => job.stop();
}
