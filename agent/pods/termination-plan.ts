/**
 * The termination plan: how a pod stops, one step at a time, each with its own deadline.
 *
 *   1. main containers   — all at once (with the ephemeral ones): preStop hook, then StopContainer with what is left of the
 *                          grace period (the runtime sends the image's STOPSIGNAL, SIGTERM by
 *                          default, then SIGKILL);
 *   2. sidecars          — only once every main container has exited, one at a time in reverse
 *                          spec order, the same way;
 *   3. sandbox           — StopPodSandbox;
 *   4. done.
 *
 * The grace period counts from when termination began. A container never gets less than
 * `minimumStopGraceSeconds`, even when the pod's grace has run out. A step still showing after
 * its deadline plus `overdueAfterMs` is escalated: the next plan kills with no grace and skips
 * preStop hooks, so a wedged hook or runtime call cannot keep the pod terminating forever.
 *
 * The plan is recomputed from what the runtime shows each time, so it picks up where it was
 * after an agent restart.
 */
import type { LifecycleHandler, Pod } from '../../kube/corev1.ts';
import { minimumStopGraceSeconds, terminationGraceSecondsOf } from './defaults.ts';
import { ephemeralContainers, initSequence, mainContainers, sidecars, type ContainerRole } from './pod-containers.ts';
import type { ObservedPod } from './observed.ts';

const overdueAfterMs = 5_000;

type TerminationStepName = 'stopping main containers' | `stopping sidecar ${string}` | 'stopping sandbox' | 'done';

export interface StopContainerAction {
  kind: 'stopContainer';
  containerId: string;
  name: string;
  role: ContainerRole;
  preStop: LifecycleHandler | undefined;
  graceSeconds: number;
}

interface StopSandboxAction {
  kind: 'stopSandbox';
  sandboxId: string;
}

export type TerminationAction = StopContainerAction | StopSandboxAction;

/** The step a terminating pod waits on, since when, and until when. */
export interface TerminationStep {
  name: TerminationStepName;
  since: number;
  deadline: number;
}

interface TerminationInput {
  pod: Pod;
  observed: ObservedPod;
  /** When termination began (ms). */
  startedAt: number;
  now: number;
  /** The step the previous plan returned and when it began, to detect an overdue step. */
  previousStep?: TerminationStep;
}

interface TerminationPlan {
  step: TerminationStepName;
  actions: TerminationAction[];
  /** When this step should be over (ms). */
  deadline: number;
  /** The step is overdue: its actions kill at once. */
  escalated: boolean;
}

function remainingGraceSeconds(input: TerminationInput): number {
  const end = input.startedAt + terminationGraceSecondsOf(input.pod) * 1000;
  return Math.max(minimumStopGraceSeconds, Math.ceil((end - input.now) / 1000));
}

export function planTermination(input: TerminationInput): TerminationPlan {
  const { pod, observed, now } = input;
  const runningOf = (name: string) =>
    observed.containers.filter(
      (c) => c.name === name && (c.state === 'running' || c.state === 'created' || c.state === 'unknown'),
    );

  const build = (
    step: TerminationStepName,
    stop: { name: string; role: ContainerRole; preStop: LifecycleHandler | undefined }[],
  ): TerminationPlan => {
    const previous = input.previousStep;
    const escalated = previous !== undefined && previous.name === step && now > previous.deadline + overdueAfterMs;
    const graceSeconds = escalated ? 0 : remainingGraceSeconds(input);
    const actions: TerminationAction[] = [];
    for (const s of stop) {
      for (const c of runningOf(s.name)) {
        actions.push({
          kind: 'stopContainer',
          containerId: c.id,
          name: s.name,
          role: s.role,
          // a hook only makes sense for a process that runs; and never twice in one step
          preStop: escalated || c.state !== 'running' ? undefined : s.preStop,
          graceSeconds,
        });
      }
    }
    const deadline =
      previous !== undefined && previous.name === step && !escalated ? previous.deadline : now + graceSeconds * 1000;
    return { step, actions, deadline, escalated };
  };

  // regular init containers still running (the pod was deleted during initialization) stop with
  // the main containers: both come before the sidecars they may depend on
  const first = [
    ...initSequence(pod).filter((c) => c.role === 'init'),
    ...mainContainers(pod),
    ...ephemeralContainers(pod),
  ].filter((c) => runningOf(c.spec.name).length > 0);
  if (first.length > 0) {
    return build(
      'stopping main containers',
      first.map((c) => ({ name: c.spec.name, role: c.role, preStop: c.spec.lifecycle?.preStop })),
    );
  }
  const runningSidecar = [...sidecars(pod)].reverse().find((c) => runningOf(c.spec.name).length > 0);
  if (runningSidecar !== undefined) {
    return build(`stopping sidecar ${runningSidecar.spec.name}`, [
      { name: runningSidecar.spec.name, role: 'sidecar', preStop: runningSidecar.spec.lifecycle?.preStop },
    ]);
  }
  const readySandboxes = observed.sandboxes.filter((s) => s.ready);
  if (readySandboxes.length > 0) {
    const plan = build('stopping sandbox', []);
    plan.actions = readySandboxes.map((s) => ({ kind: 'stopSandbox', sandboxId: s.id }));
    return plan;
  }
  return { step: 'done', actions: [], deadline: now, escalated: false };
}

/** The step to remember after `plan`: a new step, or an escalated one, starts its own clock and deadline. */
export function stepAfter(
  previous: TerminationStep | undefined,
  plan: TerminationPlan,
  now: number,
): TerminationStep | undefined {
  if (plan.step === 'done') return undefined;
  if (previous?.name === plan.step && !plan.escalated) return previous;
  return { name: plan.step, since: now, deadline: plan.deadline };
}
