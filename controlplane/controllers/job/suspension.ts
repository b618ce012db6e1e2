/**
 * suspend as upstream records it: the Suspended condition is True while the Job is suspended and
 * turns False (JobResumed) when it resumes; a Job never suspended has no such condition.
 */
import type { WorkloadCondition } from '../workload-types.ts';
import { trueCondition } from './conditions.ts';

/** The conditions with Suspended brought up to date, and whether this pass suspends or resumes. */
export function withSuspendedCondition(
  conditions: WorkloadCondition[],
  suspended: boolean,
  nowText: string,
): { conditions: WorkloadCondition[]; change?: 'Suspended' | 'Resumed' } {
  const current = conditions.find((c) => c.type === 'Suspended');
  const wanted = suspended ? 'True' : 'False';
  if (current?.status === wanted || (!current && !suspended)) return { conditions };
  const next = suspended
    ? trueCondition('Suspended', 'JobSuspended', 'Job suspended', nowText)
    : { ...trueCondition('Suspended', 'JobResumed', 'Job resumed', nowText), status: 'False' as const };
  return {
    conditions: current ? conditions.map((c) => (c === current ? next : c)) : [...conditions, next],
    change: suspended ? 'Suspended' : 'Resumed',
  };
}
