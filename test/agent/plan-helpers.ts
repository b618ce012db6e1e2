/** Runs the planner on a compact description and returns its actions as short strings. */
import { planPod, type ContainerHealth, type PlanInput, type PodAction } from '../../agent/pods/planner.ts';
import type { CrashLoopEntry, StartFailure } from '../../agent/pods/backoff.ts';
import type { Pod } from '../../kube/corev1.ts';
import type { ObservedPod } from '../../agent/pods/observed.ts';
import { sec } from './fixtures.ts';

export interface PlanRow {
  pod: Pod;
  observed: ObservedPod;
  now?: number;
  health?: Record<string, ContainerHealth>;
  crashLoops?: Record<string, CrashLoopEntry>;
  startFailures?: Record<string, StartFailure>;
  sandboxAttemptFloor?: number;
}

function describeAction(a: PodAction): string {
  switch (a.kind) {
    case 'createSandbox':
      return `sandbox#${a.attempt}`;
    case 'killPod':
      return 'kill pod';
    case 'removeSandbox':
      return `remove sandbox ${a.sandboxId}`;
    case 'startContainer':
      return `start ${a.role} ${a.name}#${a.attempt}`;
    case 'killContainer':
      return `kill ${a.name} ${a.reason}`;
    case 'removeContainer':
      return `remove ${a.containerId}`;
  }
}

export function runPlan(row: PlanRow) {
  const input: PlanInput = {
    pod: row.pod,
    observed: row.observed,
    health: new Map(Object.entries(row.health ?? {})),
    crashLoops: new Map(Object.entries(row.crashLoops ?? {})),
    startFailures: new Map(Object.entries(row.startFailures ?? {})),
    now: row.now ?? sec(5),
    ...(row.sandboxAttemptFloor !== undefined ? { sandboxAttemptFloor: row.sandboxAttemptFloor } : {}),
  };
  const plan = planPod(input);
  return {
    plan,
    actions: plan.actions.map(describeAction),
    waiting: Object.fromEntries([...plan.waiting].map(([name, w]) => [name, w.reason])),
  };
}
