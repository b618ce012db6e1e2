/** What a Job tells `kubectl describe job`, as upstream's Job controller words it. */
import type { Action } from '../actions.ts';
import type { Job, WorkloadCondition } from '../workload-types.ts';

/** The events upstream's Job controller records when the Job is suspended, resumed or finishes. */
export function jobEvents(
  job: Job,
  change: 'Suspended' | 'Resumed' | undefined,
  finished: WorkloadCondition | undefined,
): Action[] {
  const object = { ...job, apiVersion: 'batch/v1', kind: 'Job' };
  const events: Action[] = [];
  if (change)
    events.push({ kind: 'event', object, type: 'Normal', reason: change, message: `Job ${change.toLowerCase()}` });
  if (finished?.type === 'Complete')
    events.push({ kind: 'event', object, type: 'Normal', reason: 'Completed', message: 'Job completed' });
  else if (finished)
    events.push({
      kind: 'event',
      object,
      type: 'Warning',
      reason: finished.reason ?? 'Failed',
      message: finished.message ?? '',
    });
  return events;
}
