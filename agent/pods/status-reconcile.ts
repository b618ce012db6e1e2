/**
 * Whether the API's copy of a pod's status has drifted from the status the agent last wrote, so
 * that the agent must write it again. The API's copy drifts when someone else writes the pod's
 * status: the node controller marks the pods of an unreachable node Ready=False, a server comes
 * back from an older snapshot, a user patches the status subresource, or a write of ours was lost
 * in a partition. The kubelet's status manager checks the same (`needsReconcile`) every 10 s.
 *
 * Only what the agent wrote is compared: a field, condition or container status the agent did not
 * write (a readiness gate's condition, DisruptionTarget, anything the server fills in) is the
 * server's or someone else's, and never a reason to write. Transition and probe times are not
 * compared either: they follow the statuses they stamp, and a server may store them at another
 * precision.
 */
import type { PodStatus } from '../../kube/corev1.ts';

/** Fields whose value only dates another field's change. */
const timestampKeys = new Set(['lastTransitionTime', 'lastProbeTime']);

/** Objects that hold exactly one of their keys (a container is waiting, running or terminated). */
const oneOfKeys = new Set(['state', 'lastState']);

/** How the elements of a status list are matched: conditions by type, container statuses by name. */
function elementKey(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const record = item as Record<string, unknown>;
  if (typeof record.type === 'string') return `type=${record.type}`;
  if (typeof record.name === 'string') return `name=${record.name}`;
  if (typeof record.ip === 'string') return `ip=${record.ip}`;
  return undefined;
}

/** True when `api` holds everything `written` holds, with the same values. */
function holds(api: unknown, written: unknown): boolean {
  if (written === undefined) return true;
  if (Array.isArray(written)) {
    if (!Array.isArray(api)) return written.length === 0 && api === undefined;
    return written.every((item, index) => {
      const key = elementKey(item);
      const match = key === undefined ? api[index] : api.find((other) => elementKey(other) === key);
      return match !== undefined && holds(match, item);
    });
  }
  if (typeof written === 'object' && written !== null) {
    if (typeof api !== 'object' || api === null || Array.isArray(api)) return false;
    const apiRecord = api as Record<string, unknown>;
    return Object.entries(written).every(([key, value]) => {
      if (timestampKeys.has(key)) return true;
      if (oneOfKeys.has(key) && !sameKeys(apiRecord[key], value)) return false;
      return holds(apiRecord[key], value);
    });
  }
  return api === written;
}

function sameKeys(api: unknown, written: unknown): boolean {
  const keys = (value: unknown) =>
    typeof value === 'object' && value !== null ? Object.keys(value).sort().join(',') : '';
  return keys(api) === keys(written);
}

/** True when the API's copy lacks or contradicts something in the status the agent last wrote. */
export function statusNeedsReconcile(lastWritten: PodStatus, apiCopy: PodStatus | undefined): boolean {
  return !holds(apiCopy ?? {}, lastWritten);
}
