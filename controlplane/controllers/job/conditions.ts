/** Reading and writing a Job's conditions. */
import type { Job, WorkloadCondition } from '../workload-types.ts';

export function hasCondition(job: Job, type: string): WorkloadCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

export function isFinished(job: Job): boolean {
  return hasCondition(job, 'Complete') !== undefined || hasCondition(job, 'Failed') !== undefined;
}

export function trueCondition(type: string, reason: string, message: string, now: string): WorkloadCondition {
  return { type, status: 'True', lastProbeTime: now, lastTransitionTime: now, reason, message };
}
