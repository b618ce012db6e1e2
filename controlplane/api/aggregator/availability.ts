/**
 * The `Available` condition of an APIService, as upstream's availability controller words it:
 * local APIServices always are; one behind a Service is when the Service, its port and a ready
 * endpoint exist and the backend answers discovery for its group/version. Pure: the controller
 * observes, this decides the condition, and the status is written only when it changes.
 */
type Any = Record<string, any>;

export interface Observation {
  /** undefined: a local APIService. */
  readonly unreachable?: { readonly reason: string; readonly message: string };
  /** The discovery check's failure, if the endpoint was found but did not answer well. */
  readonly discoveryError?: string;
  readonly local: boolean;
}

interface AvailableCondition {
  readonly type: 'Available';
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
}

export function availableCondition(observed: Observation): Omit<AvailableCondition, 'lastTransitionTime'> {
  if (observed.local)
    return { type: 'Available', status: 'True', reason: 'Local', message: 'Local APIServices are always available' };
  if (observed.unreachable)
    return {
      type: 'Available',
      status: 'False',
      reason: observed.unreachable.reason,
      message: observed.unreachable.message,
    };
  if (observed.discoveryError !== undefined)
    return { type: 'Available', status: 'False', reason: 'FailedDiscoveryCheck', message: observed.discoveryError };
  return { type: 'Available', status: 'True', reason: 'Passed', message: 'all checks passed' };
}

/**
 * The APIService's status with `condition` in place, or undefined when nothing would change; the
 * transition time moves only when the status does.
 */
export function statusWith(
  current: Any | undefined,
  condition: Omit<AvailableCondition, 'lastTransitionTime'>,
  now: string,
): Any | undefined {
  const conditions = ((current?.conditions ?? []) as Any[]).filter((c) => c?.type !== 'Available');
  const previous = ((current?.conditions ?? []) as Any[]).find((c) => c?.type === 'Available');
  if (
    previous &&
    previous.status === condition.status &&
    previous.reason === condition.reason &&
    previous.message === condition.message
  )
    return undefined;
  const lastTransitionTime = previous && previous.status === condition.status ? previous.lastTransitionTime : now;
  return { ...current, conditions: [...conditions, { ...condition, lastTransitionTime }] };
}
