/**
 * What the node tells the cluster about a Service it could not program in full: a Warning event
 * on the Service, naming the object (the Service itself or one of its EndpointSlices) and each
 * field that was left out, so whoever owns the Service sees why some of it does not work on this
 * node. A Service whose own name is unusable cannot carry an event; the proxy's log has it.
 */
import type { Refusal } from '../../netproxy/change-tracker.ts';
import type { Recorder } from './event-recorder.ts';

export const refusedFieldsReason = 'RefusedInvalidFields';

export function reportProxyRefusal(recorder: Pick<Recorder, 'event'>, refusal: Refusal): void {
  if (refusal.service === undefined) return;
  const [namespace, name] = refusal.service.split('/') as [string, string];
  const what = refusal.kind === 'Service' ? 'Service' : `EndpointSlice ${refusal.name}`;
  recorder.event(
    { kind: 'Service', apiVersion: 'v1', namespace, name },
    'Warning',
    refusedFieldsReason,
    `${what}: left out of the service rules of this node: ${refusal.problems.join('; ')}`,
  );
}
