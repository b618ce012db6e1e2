/**
 * The pod planner: the desired pod plus what the runtime shows (and what the agent knows from
 * probes and backoff records) in, the next actions out. No I/O and no clock of its own; the pod
 * worker observes, calls planPod, carries the actions out, and calls it again until there is
 * nothing left to do.
 *
 * Rules, in the order they apply:
 *  1. A pod whose main containers have all finished for good (per restartPolicy), or whose init
 *     container failed under restartPolicy Never, is `completed`: nothing more starts here; the
 *     termination plan stops its sidecars and sandbox.
 *  2. Containers run in the newest sandbox. When it is missing, not ready, or has no IP (outside
 *     host network), everything left is stopped and a sandbox with the next attempt number is
 *     created. Under restartPolicy Never a pod whose containers already ran gets no new sandbox.
 *  3. Until a main container exists in the sandbox, the init sequence runs strictly in order:
 *     a regular init container must exit 0 before the next entry starts (a failure restarts it
 *     unless the policy is Never); a native sidecar must be `started` (running, and past its
 *     startupProbe if it has one) before the next entry starts.
 *  4. Afterwards sidecars are kept running whatever the pod's restartPolicy, and main containers
 *     are started, and restarted per restartPolicy.
 *  5. A restart waits out the crash-loop backoff; a start that failed before waits out its
 *     start-failure backoff. Both show as the container's waiting reason.
 *  6. A running container is killed when its liveness or startup probe failed, or when its spec
 *     hash no longer matches; a container left in Created (a start cut short) is removed and
 *     started again; one in Unknown state is killed.
 *  7. Ephemeral containers start in the current sandbox as soon as it is usable (initialization
 *     need not be done), once each: one that ran in any sandbox of the pod, whatever its end, is
 *     never started again, nor killed for a probe or a spec change (it has neither).
 */
import type { Container, Pod } from '../../kube/corev1.ts';
import { restartPolicyOf, terminationGraceSecondsOf } from './defaults.ts';
import {
  ephemeralContainers,
  initSequence,
  mainContainers,
  type ContainerRole,
  type PodContainer,
} from './pod-containers.ts';
import {
  attemptsOf,
  currentSandbox,
  latestInSandbox,
  nextAttempt,
  type ObservedContainer,
  type ObservedPod,
} from './observed.ts';
import {
  backoffMessageFor,
  backoffReasonFor,
  restartDecision,
  startFailureRetryAt,
  type CrashLoopEntry,
  type StartFailure,
} from './backoff.ts';
import { specStillMatches } from './spec-hash.ts';

/** What the agent knows about a running container beyond the runtime's view, from its probes. */
export interface ContainerHealth {
  /** Past its startupProbe (true at once for a running container without one). */
  started: boolean;
  /** Set when the liveness or startup probe gave up on the container. */
  unhealthy?: { probe: 'liveness' | 'startup'; message: string };
}

export interface PlanInput {
  pod: Pod;
  observed: ObservedPod;
  /** By container ID; a running container without an entry is judged by its spec alone. */
  health: ReadonlyMap<string, ContainerHealth>;
  /** By container name. */
  crashLoops: ReadonlyMap<string, CrashLoopEntry>;
  /** By container name: the last start that failed, while its backoff applies. */
  startFailures: ReadonlyMap<string, StartFailure>;
  now: number;
  /** The lowest sandbox attempt number still free (a failed RunPodSandbox may keep its name reserved). */
  sandboxAttemptFloor?: number;
}

export type PodAction =
  | { kind: 'createSandbox'; attempt: number; reason: string }
  | { kind: 'killPod'; reason: string }
  | { kind: 'removeSandbox'; sandboxId: string; reason: string }
  | { kind: 'startContainer'; role: ContainerRole; index: number; name: string; attempt: number }
  | { kind: 'killContainer'; containerId: string; name: string; reason: string; message: string; graceSeconds: number }
  | { kind: 'removeContainer'; containerId: string; name: string; reason: string };

export interface ContainerWait {
  reason: string;
  message: string;
  /** When the wait ends by itself (a backoff), if it does. */
  until?: number;
}

export interface PodPlan {
  actions: PodAction[];
  /** By container name: why a container that should run does not (yet). */
  waiting: Map<string, ContainerWait>;
  /** By container name: crash-loop records to store because a restart was planned. */
  crashLoopUpdates: Map<string, CrashLoopEntry>;
  /** The earliest time the plan may change with nothing else happening (a backoff ending). */
  wakeAt: number | undefined;
  /** The pod is finished here: see rule 1. */
  completed: boolean;
  /** Why it finished unsuccessfully, when it did because of an init container. */
  initFailed: boolean;
}

function healthOf(input: PlanInput, container: ObservedContainer, spec: Container): ContainerHealth {
  return (
    input.health.get(container.id) ?? { started: container.state === 'running' && spec.startupProbe === undefined }
  );
}

/** Whether restartPolicy lets a container that exited with `exitCode` run again. */
function mayRestart(pod: Pod, exitCode: number): boolean {
  const policy = restartPolicyOf(pod);
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

class PlanBuilder {
  readonly plan: PodPlan = {
    actions: [],
    waiting: new Map(),
    crashLoopUpdates: new Map(),
    wakeAt: undefined,
    completed: false,
    initFailed: false,
  };
  readonly input: PlanInput;
  constructor(input: PlanInput) {
    this.input = input;
  }

  wait(name: string, wait: ContainerWait): void {
    this.plan.waiting.set(name, wait);
    if (wait.until !== undefined) this.wakeAt(wait.until);
  }

  wakeAt(at: number): void {
    if (this.plan.wakeAt === undefined || at < this.plan.wakeAt) this.plan.wakeAt = at;
  }

  /** Starts `c` unless a recent start failure still holds it back. */
  start(c: PodContainer): void {
    const name = c.spec.name;
    const failure = this.input.startFailures.get(name);
    if (failure !== undefined && this.input.now < startFailureRetryAt(failure)) {
      this.wait(name, {
        reason: backoffReasonFor(failure),
        message: backoffMessageFor(failure, c.spec.image ?? ''),
        until: startFailureRetryAt(failure),
      });
      return;
    }
    this.plan.actions.push({
      kind: 'startContainer',
      role: c.role,
      index: c.index,
      name,
      attempt: nextAttempt(this.input.observed, name),
    });
  }

  /** Starts `c` again after `exited`, once the crash-loop backoff allows it. */
  restart(c: PodContainer, exited: ObservedContainer): void {
    const name = c.spec.name;
    const decision = restartDecision(this.input.crashLoops.get(name), exited.finishedAt, this.input.now);
    if (decision.kind === 'wait') {
      this.wait(name, {
        reason: 'CrashLoopBackOff',
        message: `back-off ${Math.round(decision.delayMs / 1000)}s restarting failed container ${name}`,
        until: decision.until,
      });
      return;
    }
    const before = this.plan.actions.length;
    this.start(c);
    if (this.plan.actions.length > before) this.plan.crashLoopUpdates.set(name, decision.entry);
  }

  kill(container: ObservedContainer, reason: string, message: string, graceSeconds?: number): void {
    this.plan.actions.push({
      kind: 'killContainer',
      containerId: container.id,
      name: container.name,
      reason,
      message,
      graceSeconds: graceSeconds ?? terminationGraceSecondsOf(this.input.pod),
    });
  }

  /** A container left in Created never ran: remove it and start the same attempt again. */
  replaceCreated(c: PodContainer, created: ObservedContainer): void {
    this.plan.actions.push({
      kind: 'removeContainer',
      containerId: created.id,
      name: created.name,
      reason: 'left in Created state',
    });
    const before = this.plan.actions.length;
    this.start(c);
    const action = this.plan.actions[before];
    if (action?.kind === 'startContainer') action.attempt = created.attempt;
  }

  /**
   * Keeps a running container healthy and current. Returns false when it had to be killed (the
   * caller then treats it as not running).
   */
  checkRunning(c: PodContainer, running: ObservedContainer): boolean {
    const health = healthOf(this.input, running, c.spec);
    if (health.unhealthy !== undefined) {
      const probe = health.unhealthy.probe === 'liveness' ? c.spec.livenessProbe : c.spec.startupProbe;
      this.kill(
        running,
        health.unhealthy.probe === 'liveness' ? 'LivenessProbeFailed' : 'StartupProbeFailed',
        `container ${c.spec.name} failed ${health.unhealthy.probe} probe, will be restarted: ${health.unhealthy.message}`,
        probe?.terminationGracePeriodSeconds,
      );
      return false;
    }
    if (running.specHash !== '' && !specStillMatches(c.spec, running.specHash)) {
      this.kill(running, 'SpecChanged', `container ${c.spec.name} definition changed, will be restarted`);
      return false;
    }
    return true;
  }

  /**
   * Keeps one container going outside the ordered init phase: started, restarted when it exits
   * and `restarts` says so (sidecars always; main containers per restartPolicy), checked while it
   * runs.
   */
  keep(c: PodContainer, restarts: (exited: ObservedContainer) => boolean): void {
    const latest = latestInSandbox(this.input.observed, c.spec.name);
    if (latest === undefined) return this.start(c);
    switch (latest.state) {
      case 'created':
        return this.replaceCreated(c, latest);
      case 'unknown':
        return this.kill(latest, 'UnknownState', `container ${c.spec.name} is in an unknown state`);
      case 'exited':
        if (restarts(latest)) this.restart(c, latest);
        return;
      case 'running':
        this.checkRunning(c, latest);
    }
  }

  /** Starts an ephemeral container that never ran in this pod (rule 7); finishes a start cut short. */
  startOnce(c: PodContainer): void {
    const latest = attemptsOf(this.input.observed, c.spec.name)[0];
    if (latest === undefined) return this.start(c);
    if (latest.state === 'created' && latest.sandboxId === currentSandbox(this.input.observed)?.id)
      this.replaceCreated(c, latest);
  }

  /**
   * Walks the init sequence in order. Returns true when every entry is done (regular ones exited
   * 0, sidecars started), false when an entry still holds the sequence.
   */
  runInitSequence(): boolean {
    const { observed, pod } = this.input;
    for (const c of initSequence(pod)) {
      const latest = latestInSandbox(observed, c.spec.name);
      if (latest === undefined) {
        this.start(c);
        return false;
      }
      if (latest.state === 'created') {
        this.replaceCreated(c, latest);
        return false;
      }
      if (latest.state === 'unknown') {
        this.kill(latest, 'UnknownState', `container ${c.spec.name} is in an unknown state`);
        return false;
      }
      if (c.role === 'sidecar') {
        if (latest.state === 'exited') {
          this.restart(c, latest);
          return false;
        }
        if (!this.checkRunning(c, latest)) return false;
        if (!healthOf(this.input, latest, c.spec).started) return false;
        continue;
      }
      if (latest.state === 'running') return false;
      if (latest.exitCode === 0) continue;
      if (restartPolicyOf(pod) === 'Never') {
        this.plan.initFailed = true;
        this.plan.completed = true;
        return false;
      }
      this.restart(c, latest);
      return false;
    }
    return true;
  }
}

/** Whether every main container has exited and restartPolicy starts none of them again. */
function mainContainersFinished(pod: Pod, observed: ObservedPod): boolean {
  const mains = mainContainers(pod);
  return (
    mains.length > 0 &&
    mains.every((c) => {
      const latest = attemptsOf(observed, c.spec.name)[0];
      return latest !== undefined && latest.state === 'exited' && !mayRestart(pod, latest.exitCode);
    })
  );
}

export function planPod(input: PlanInput): PodPlan {
  const builder = new PlanBuilder(input);
  const { pod, observed } = input;
  const plan = builder.plan;

  if (mainContainersFinished(pod, observed)) {
    plan.completed = true;
    return plan;
  }

  const sandbox = currentSandbox(observed);
  const usable = sandbox !== undefined && sandbox.ready && (pod.spec.hostNetwork === true || sandbox.ip !== '');
  if (!usable) {
    const anythingRunning =
      observed.sandboxes.some((s) => s.ready) || observed.containers.some((c) => c.state === 'running');
    if (anythingRunning)
      plan.actions.push({ kind: 'killPod', reason: sandbox === undefined ? 'no sandbox' : 'sandbox not ready' });
    if (restartPolicyOf(pod) === 'Never' && sandbox !== undefined && observed.containers.length > 0) {
      plan.completed = true;
      return plan;
    }
    const attempt = observed.sandboxes.reduce((max, s) => Math.max(max, s.attempt + 1), input.sandboxAttemptFloor ?? 0);
    plan.actions.push({
      kind: 'createSandbox',
      attempt,
      reason: sandbox === undefined ? 'no sandbox yet' : 'sandbox is gone or not ready',
    });
    return plan;
  }

  for (const old of observed.sandboxes.slice(1)) {
    if (!old.ready)
      plan.actions.push({ kind: 'removeSandbox', sandboxId: old.id, reason: 'replaced by a newer sandbox' });
  }
  pruneOldAttempts(builder, sandbox.id);
  for (const c of ephemeralContainers(pod)) builder.startOnce(c);

  const mainsStarted = mainContainers(pod).some((c) => latestInSandbox(observed, c.spec.name) !== undefined);
  if (!mainsStarted && !builder.runInitSequence()) return plan;

  for (const c of initSequence(pod)) if (c.role === 'sidecar') builder.keep(c, () => true);
  for (const c of mainContainers(pod)) builder.keep(c, (exited) => mayRestart(pod, exited.exitCode));
  return plan;
}

/** Keeps the newest two attempts of each container (the current one and the one its lastState shows). */
function pruneOldAttempts(builder: PlanBuilder, sandboxId: string): void {
  const { observed } = builder.input;
  const names = new Set(observed.containers.map((c) => c.name));
  for (const name of names) {
    const old = attemptsOf(observed, name)
      .filter((c) => c.sandboxId === sandboxId)
      .slice(2);
    for (const c of old) {
      if (c.state === 'exited')
        builder.plan.actions.push({
          kind: 'removeContainer',
          containerId: c.id,
          name,
          reason: 'older than the last two attempts',
        });
    }
  }
}
