/**
 * The TTL-after-finished controller's part (upstream's ttlafterfinished): a finished Job with
 * ttlSecondsAfterFinished is deleted that long after its Complete or Failed condition, in the
 * foreground (its pods first) and only if it is still the same Job (uid precondition).
 */
import { deleteObject, type Plan } from '../actions.ts';
import { parseTime } from '../pods.ts';
import type { Job } from '../workload-types.ts';
import { hasCondition } from './conditions.ts';

function finishedAt(job: Job): number | undefined {
  if (job.status?.completionTime) return parseTime(job.status.completionTime);
  return parseTime(hasCondition(job, 'Failed')?.lastTransitionTime);
}

/** What to do about a finished Job: nothing, delete it now, or look again when its TTL expires. */
export function planTtlAfterFinished(job: Job, now: Date): Plan {
  const ttl = job.spec.ttlSecondsAfterFinished;
  const done = finishedAt(job);
  if (ttl === undefined || done === undefined || job.metadata.deletionTimestamp) return { actions: [] };
  const expires = done + ttl * 1000;
  if (expires <= now.getTime()) {
    return { actions: [deleteObject('jobs', job, 'Foreground')] };
  }
  return { actions: [], requeueAfterMs: expires - now.getTime() + 1 };
}
