/**
 * What a pod worker remembers between syncs beyond what the runtime shows, and how each plan and
 * each action's result changes it. Pure: the worker keeps one record, feeds every plan and every
 * result in, and carries out what comes back. The planner and the status computation read the
 * record, so the failure policy and a stop the node asks for are inputs of both, never patches
 * made around them.
 *
 * Failure policy (the kubelet's):
 *  - a failed RunPodSandbox is recorded as a FailedCreatePodSandBox event and the next sandbox
 *    takes the next attempt number (the failed one's name may stay reserved in the runtime);
 *    nothing after it in the plan runs;
 *  - a failed container start begins (or doubles) the container's start backoff, shows its reason
 *    as the container's waiting reason until the next plan and is recorded as an event; after an
 *    init container or a sidecar nothing more of the plan runs, as the init sequence is ordered;
 *  - a start that worked clears the container's start backoff;
 *  - any other failed action (a kill, a removal, a stop while terminating) is left to the next
 *    plan, which sees the runtime as it then is.
 * A sync made progress when it ran actions and every one succeeded: the next sync follows at once.
 * Otherwise the next one waits for a backoff's end or the resync tick.
 *
 * A stop the node asks for on its own (hard eviction, node shutdown) ends the pod with no more
 * grace than it allows, and in phase Failed with its reason and message.
 */
import type { Pod } from '../../kube/corev1.ts';
import { recordStartFailure, type CrashLoopEntry, type StartFailure } from './backoff.ts';
import type { ActionResult } from './pod-executor.ts';
import type { ContainerWait, PodAction, PodPlan } from './planner.ts';

/** A stop the node asks for on its own: the pod stops within `graceSeconds` and ends Failed. */
interface NodeStop {
  reason: string;
  message: string;
  graceSeconds: number;
}

export interface PodMemory {
  /** By container name. */
  readonly crashLoops: ReadonlyMap<string, CrashLoopEntry>;
  /** By container name: the last start that failed. */
  readonly startFailures: ReadonlyMap<string, StartFailure>;
  /** The lowest sandbox attempt number still free. */
  readonly sandboxAttemptFloor: number;
  /** The pod finished because an init container failed under restartPolicy Never. */
  readonly initFailed: boolean;
  readonly nodeStop: NodeStop | undefined;
}

export const freshMemory: PodMemory = {
  crashLoops: new Map(),
  startFailures: new Map(),
  sandboxAttemptFloor: 0,
  initFailed: false,
  nodeStop: undefined,
};

/** An event the failure policy records. */
export type FailureEvent =
  | { kind: 'sandboxFailed'; message: string }
  | { kind: 'startFailed'; container: string; reason: string; message: string };

interface ActionOutcome {
  memory: PodMemory;
  /** A waiting reason the status shows for a container, until the next plan says otherwise. */
  wait?: { container: string; wait: ContainerWait };
  event?: FailureEvent;
  /** Nothing after this action in the plan may run. */
  halt: boolean;
}

/** The pod as the worker syncs it: a stop asked for by the node gives no more grace than it allows. */
export function podToSync(pod: Pod, memory: PodMemory): Pod {
  const stop = memory.nodeStop;
  if (stop === undefined) return pod;
  return { ...pod, metadata: { ...pod.metadata, deletionGracePeriodSeconds: stop.graceSeconds } };
}

/** Whether a running pod must stop: it was deleted, or the node stops it. */
export function mustStop(pod: Pod, memory: PodMemory): boolean {
  return pod.metadata.deletionTimestamp !== undefined || memory.nodeStop !== undefined;
}

/** What a plan of the running pod leaves to remember: crash-loop records of the restarts it plans, why it finished. */
export function afterPlan(memory: PodMemory, plan: PodPlan): PodMemory {
  if (plan.completed) return { ...memory, initFailed: plan.initFailed };
  if (plan.crashLoopUpdates.size === 0) return memory;
  return { ...memory, crashLoops: new Map([...memory.crashLoops, ...plan.crashLoopUpdates]) };
}

/** The failure policy: what one action's result changes, shows and records, and whether the plan goes on. */
export function afterAction(memory: PodMemory, action: PodAction, result: ActionResult, now: number): ActionOutcome {
  if (result.ok) {
    if (action.kind !== 'startContainer' || !memory.startFailures.has(action.name)) return { memory, halt: false };
    const startFailures = new Map(memory.startFailures);
    startFailures.delete(action.name);
    return { memory: { ...memory, startFailures }, halt: false };
  }
  switch (action.kind) {
    case 'createSandbox':
      return {
        memory: { ...memory, sandboxAttemptFloor: action.attempt + 1 },
        event: { kind: 'sandboxFailed', message: result.message },
        halt: true,
      };
    case 'startContainer': {
      const failure = recordStartFailure(memory.startFailures.get(action.name), result.reason, result.message, now);
      return {
        memory: { ...memory, startFailures: new Map([...memory.startFailures, [action.name, failure]]) },
        wait: { container: action.name, wait: { reason: result.reason, message: result.message } },
        event: { kind: 'startFailed', container: action.name, reason: result.reason, message: result.message },
        halt: action.role === 'init' || action.role === 'sidecar',
      };
    }
    default:
      return { memory, halt: false };
  }
}

/** Whether a sync made progress: it ran actions and all of them succeeded. */
export function madeProgress(results: readonly ActionResult[]): boolean {
  return results.length > 0 && results.every((r) => r.ok);
}
