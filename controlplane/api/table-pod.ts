/**
 * The READY, STATUS and RESTARTS cells of `kubectl get pods`, as upstream's pod printer derives
 * them from the pod's status:
 * - STATUS starts from status.reason or the phase; an init container that has not finished names
 *   the step (`Init:1/3`, `Init:CrashLoopBackOff`, `Init:ExitCode:1`); once initialised, the first
 *   container with a waiting or terminated reason names it (`CrashLoopBackOff`, `Completed`,
 *   `ExitCode:2`, `Signal:9`); `Completed` with a container still running reads `Running` (or
 *   `NotReady` without a Ready condition); a pod being deleted reads `Terminating` (`Unknown` when
 *   its node was lost); a pod held by scheduling gates reads `SchedulingGated`.
 * - READY counts ready running containers, sidecars (restartable init containers) included, of
 *   all containers and sidecars.
 * - RESTARTS sums the restarts, with how long ago the last one ended: `3 (45s ago)`.
 */
import type { KubeObject } from '../../kube/types.ts';
import { humanDuration } from './age.ts';

type Any = Record<string, any>;

interface PodSummary {
  ready: string;
  reason: string;
  restarts: string;
}

const isSidecar = (container: Any | undefined) => container?.restartPolicy === 'Always';

/** The latest of a container's last terminations, as ms since the epoch (0 when none). */
function lastEnded(container: Any, since: number): number {
  const finished = container.lastState?.terminated?.finishedAt;
  const at = typeof finished === 'string' ? Date.parse(finished) : NaN;
  return Number.isNaN(at) ? since : Math.max(since, at);
}

function terminatedText(terminated: Any, prefix: string): string {
  if (terminated.reason) return `${prefix}${terminated.reason}`;
  return terminated.signal ? `${prefix}Signal:${terminated.signal}` : `${prefix}ExitCode:${terminated.exitCode ?? 0}`;
}

const conditionTrue = (pod: KubeObject, type: string) =>
  ((pod.status as Any | undefined)?.conditions ?? []).some((c: Any) => c.type === type && c.status === 'True');

export function summarisePod(pod: KubeObject, now: number): PodSummary {
  const spec = (pod.spec ?? {}) as Any;
  const status = (pod.status ?? {}) as Any;
  const initSpecs: Any[] = spec.initContainers ?? [];
  const initByName = new Map(initSpecs.map((c) => [c.name as string, c]));
  const sidecars = initSpecs.filter(isSidecar).length;
  const total = (spec.containers ?? []).length + sidecars;
  let reason: string = status.reason || status.phase || '';
  if (((status.conditions ?? []) as Any[]).some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated'))
    reason = 'SchedulingGated';

  let ready = 0;
  let restarts = 0;
  let lastRestart = 0;
  let sidecarRestarts = 0;
  let lastSidecarRestart = 0;
  let initializing = false;
  const initStatuses: Any[] = status.initContainerStatuses ?? [];
  for (const [index, container] of initStatuses.entries()) {
    restarts += container.restartCount ?? 0;
    lastRestart = lastEnded(container, lastRestart);
    const sidecar = isSidecar(initByName.get(container.name));
    if (sidecar) {
      sidecarRestarts += container.restartCount ?? 0;
      lastSidecarRestart = lastEnded(container, lastSidecarRestart);
    }
    const state: Any = container.state ?? {};
    if (state.terminated !== undefined && (state.terminated.exitCode ?? 0) === 0) continue;
    if (sidecar && container.started === true) {
      if (container.ready) ready += 1;
      continue;
    }
    initializing = true;
    if (state.terminated !== undefined) reason = terminatedText(state.terminated, 'Init:');
    else if (state.waiting?.reason && state.waiting.reason !== 'PodInitializing')
      reason = `Init:${state.waiting.reason}`;
    else reason = `Init:${index}/${initSpecs.length}`;
    break;
  }

  if (!initializing || conditionTrue(pod, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let running = false;
    const statuses: Any[] = status.containerStatuses ?? [];
    // backwards: the first container with something to say has the last word, as upstream
    for (const container of [...statuses].reverse()) {
      restarts += container.restartCount ?? 0;
      lastRestart = lastEnded(container, lastRestart);
      const state: Any = container.state ?? {};
      if (state.waiting?.reason) reason = state.waiting.reason;
      else if (state.terminated !== undefined) reason = terminatedText(state.terminated, '');
      else if (container.ready && state.running !== undefined) {
        running = true;
        ready += 1;
      }
    }
    if (reason === 'Completed' && running) reason = conditionTrue(pod, 'Ready') ? 'Running' : 'NotReady';
  }

  const deleting = pod.metadata.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && status.phase !== 'Succeeded' && status.phase !== 'Failed') reason = 'Terminating';

  const restartText =
    restarts !== 0 && lastRestart > 0 ? `${restarts} (${humanDuration(now - lastRestart)} ago)` : String(restarts);
  return { ready: `${ready}/${total}`, reason, restarts: restartText };
}
