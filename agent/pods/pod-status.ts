/**
 * The pod's API status, computed from the spec, what the runtime shows, probe results and the
 * planner's waiting reasons. Pure: the status manager decides when to write it.
 *
 * Phase: Pending until initialization is done and every main container has run at least once;
 * Running while a main container runs (or restarts per restartPolicy); Succeeded when all main
 * containers exited 0 and none restarts; Failed when one exited otherwise and none restarts, when
 * an init container failed under restartPolicy Never, or when the pod was stopped for deletion
 * and not every main container exited 0. Sidecars never decide the phase. A pod the node stopped
 * on its own (hard eviction, node shutdown) is Failed with the stop's reason and message, whatever
 * its containers show.
 *
 * Conditions: PodScheduled; PodReadyToStartContainers (the sandbox is up with its network);
 * Initialized (regular init containers exited 0 and sidecars started); ContainersReady (main
 * containers and sidecars ready); Ready (ContainersReady and every readiness gate's condition
 * True). A condition keeps its lastTransitionTime while its status stays the same.
 */
import type {
  Container,
  ContainerState,
  ContainerStatus,
  Pod,
  PodCondition,
  PodPhase,
  PodStatus,
} from '../../kube/corev1.ts';
import { restartPolicyOf } from './defaults.ts';
import { ephemeralContainers, initSequence, mainContainers, type PodContainer } from './pod-containers.ts';
import {
  attemptsOf,
  currentSandbox,
  latestInSandbox,
  podIPOf,
  type ObservedContainer,
  type ObservedPod,
} from './observed.ts';
import type { ContainerHealth, ContainerWait } from './planner.ts';
import { qosClassOf } from './qos.ts';
import { apiTime } from '../../kube/api-time.ts';

/** Probe-derived view of one running container. */
export interface ContainerProbeView extends ContainerHealth {
  /** The readiness probe's current result (ignored for containers without one). */
  ready: boolean;
}

export interface StatusInput {
  pod: Pod;
  observed: ObservedPod;
  /** By container ID. */
  probes: ReadonlyMap<string, ContainerProbeView>;
  /** By container name. */
  waiting: ReadonlyMap<string, ContainerWait>;
  nodeIP: string;
  now: number;
  /** The status last written, for startTime and the conditions' transition times. */
  previous: PodStatus | undefined;
  /** Everything of the pod has stopped for good (completed, or stopped for deletion). */
  terminal: boolean;
  /** An init container failed under restartPolicy Never. */
  initFailed: boolean;
  /** While terminating: the step the pod waits on and its deadline. */
  termination?: { step: string; deadline: number };
  /** Prefix of container IDs, as the API shows them ('containerd'). */
  runtimeName: string;
  /** The node stopped the pod on its own (hard eviction, node shutdown). */
  stoppedByNode?: { reason: string; message: string } | undefined;
}

/** The conditions the agent owns; any other (a readiness gate's, DisruptionTarget) belongs to someone else. */
const ownConditionTypes = new Set([
  'PodScheduled',
  'PodReadyToStartContainers',
  'Initialized',
  'ContainersReady',
  'Ready',
]);

/**
 * The status the next one is computed from: the one the agent computed last (or, before any, the
 * API's), with the conditions others own taken from the API's copy, where they change.
 */
export function previousStatusOf(
  lastComputed: PodStatus | undefined,
  api: PodStatus | undefined,
): PodStatus | undefined {
  const base = lastComputed ?? api;
  if (base === undefined) return undefined;
  return {
    ...base,
    conditions: [
      ...(base.conditions ?? []).filter((c) => ownConditionTypes.has(c.type)),
      ...(api?.conditions ?? []).filter((c) => !ownConditionTypes.has(c.type)),
    ],
  };
}

/** The readiness the API last showed for this very container (not for an earlier one of the same name). */
export function lastReportedReady(
  pod: Pod,
  runtimeName: string,
  name: string,
  containerId: string,
): boolean | undefined {
  const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  return statuses.find((s) => s.name === name && s.containerID === `${runtimeName}://${containerId}`)?.ready;
}

function terminatedReason(container: ObservedContainer): string {
  if (container.reason === 'OOMKilled') return 'OOMKilled';
  if (container.exitCode === 0) return 'Completed';
  return container.reason !== '' && container.reason !== 'Completed' ? container.reason : 'Error';
}

function terminatedState(container: ObservedContainer, runtimeName: string): ContainerState {
  return {
    terminated: {
      exitCode: container.exitCode,
      reason: terminatedReason(container),
      ...(container.message !== '' ? { message: container.message } : {}),
      startedAt: apiTime(container.startedAt),
      finishedAt: apiTime(container.finishedAt),
      containerID: `${runtimeName}://${container.id}`,
    },
  };
}

function probeView(input: StatusInput, container: ObservedContainer, spec: Container): ContainerProbeView {
  const known = input.probes.get(container.id);
  if (known !== undefined) return known;
  const running = container.state === 'running';
  return { started: running && spec.startupProbe === undefined, ready: spec.readinessProbe === undefined };
}

function isReady(input: StatusInput, c: PodContainer, latest: ObservedContainer | undefined): boolean {
  if (latest === undefined) return false;
  if (c.role === 'init') return latest.state === 'exited' && latest.exitCode === 0;
  // an ephemeral container never counts as ready: it serves no one (upstream)
  if (c.role === 'ephemeral' || latest.state !== 'running') return false;
  const view = probeView(input, latest, c.spec);
  return view.started && (c.spec.readinessProbe === undefined || view.ready);
}

function containerStatus(input: StatusInput, c: PodContainer, defaultWaiting: string): ContainerStatus {
  const [latest, previous] = attemptsOf(input.observed, c.spec.name);
  const wait = input.waiting.get(c.spec.name);
  const status: ContainerStatus = {
    name: c.spec.name,
    ready: isReady(input, c, latest),
    restartCount: latest?.attempt ?? 0,
    image: c.spec.image ?? '',
    imageID: latest?.imageRef ?? '',
    started: latest?.state === 'running' && probeView(input, latest, c.spec).started,
  };
  if (latest === undefined) {
    status.state = {
      waiting: { reason: wait?.reason ?? defaultWaiting, ...(wait?.message ? { message: wait.message } : {}) },
    };
    return status;
  }
  status.containerID = `${input.runtimeName}://${latest.id}`;
  const lastState = (c: ObservedContainer | undefined) =>
    c !== undefined && c.state === 'exited' ? terminatedState(c, input.runtimeName) : {};
  switch (latest.state) {
    case 'running':
      status.state = { running: { startedAt: apiTime(latest.startedAt) } };
      status.lastState = lastState(previous);
      break;
    case 'exited':
      if (wait !== undefined) {
        status.state = { waiting: { reason: wait.reason, message: wait.message } };
        status.lastState = terminatedState(latest, input.runtimeName);
      } else {
        status.state = terminatedState(latest, input.runtimeName);
        status.lastState = lastState(previous);
      }
      break;
    default:
      status.state = {
        waiting: { reason: wait?.reason ?? 'ContainerCreating', ...(wait?.message ? { message: wait.message } : {}) },
      };
      status.lastState = lastState(previous);
  }
  return status;
}

/** Regular init containers exited 0 and sidecars started, or main containers already began. */
function initializationDone(input: Pick<StatusInput, 'pod' | 'observed' | 'probes'>): boolean {
  const { pod, observed } = input;
  if (mainContainers(pod).some((c) => latestInSandbox(observed, c.spec.name) !== undefined)) return true;
  return initSequence(pod).every((c) => {
    const latest = latestInSandbox(observed, c.spec.name);
    if (latest === undefined) return false;
    if (c.role === 'init') return latest.state === 'exited' && latest.exitCode === 0;
    return latest.state === 'running' && probeView(input as StatusInput, latest, c.spec).started;
  });
}

function phaseOf(input: StatusInput, initDone: boolean): PodPhase {
  const { pod, observed, terminal } = input;
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of mainContainers(pod)) {
    const latest = attemptsOf(observed, c.spec.name)[0];
    if (latest === undefined || latest.state === 'created' || latest.state === 'unknown') waiting++;
    else if (latest.state === 'running') running++;
    else {
      stopped++;
      if (latest.exitCode === 0) succeeded++;
    }
  }
  let phase: PodPhase;
  if (input.initFailed) phase = 'Failed';
  else if (!initDone && !terminal) phase = 'Pending';
  else if (waiting > 0) phase = 'Pending';
  else if (running > 0) phase = 'Running';
  else if (terminal || restartPolicyOf(pod) !== 'Always') {
    phase =
      stopped === succeeded ? 'Succeeded' : restartPolicyOf(pod) === 'OnFailure' && !terminal ? 'Running' : 'Failed';
  } else phase = 'Running';
  if (terminal && phase !== 'Succeeded') phase = 'Failed';
  return phase;
}

function condition(input: StatusInput, type: string, ok: boolean, reason?: string, message?: string): PodCondition {
  const status = ok ? 'True' : 'False';
  const before = input.previous?.conditions?.find((c) => c.type === type);
  const result: PodCondition = {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime:
      before !== undefined && before.status === status && before.lastTransitionTime
        ? before.lastTransitionTime
        : apiTime(input.now),
  };
  if (!ok && reason !== undefined) result.reason = reason;
  if (!ok && message !== undefined) result.message = message;
  return result;
}

export function computePodStatus(input: StatusInput): PodStatus {
  const { pod, observed } = input;
  const sandbox = currentSandbox(observed);
  const hostNetwork = pod.spec.hostNetwork === true;
  const initDone = initializationDone(input);
  const phase = phaseOf(input, initDone);

  const inits = initSequence(pod);
  const mains = mainContainers(pod);
  const initStatuses = inits.map((c) => containerStatus(input, c, 'PodInitializing'));
  const mainStatuses = mains.map((c) => containerStatus(input, c, initDone ? 'ContainerCreating' : 'PodInitializing'));

  const incomplete = inits
    .filter((c, i) =>
      c.role === 'init' ? !initStatuses[i]!.ready && !initDone : !initStatuses[i]!.started && !initDone,
    )
    .map((c) => c.spec.name);
  const unready = [
    ...inits.filter((c, i) => c.role === 'sidecar' && !initStatuses[i]!.ready),
    ...mains.filter((_, i) => !mainStatuses[i]!.ready),
  ].map((c) => c.spec.name);
  const containersReady = unready.length === 0 && phase !== 'Succeeded' && phase !== 'Failed';
  const containersReadyReason = phase === 'Succeeded' || phase === 'Failed' ? 'PodCompleted' : 'ContainersNotReady';

  const gateProblems = (pod.spec.readinessGates ?? []).flatMap(({ conditionType }) => {
    const gate = input.previous?.conditions?.find((c) => c.type === conditionType);
    if (gate === undefined) return [`corresponding condition of pod readiness gate "${conditionType}" does not exist`];
    return gate.status === 'True'
      ? []
      : [`the status of pod readiness gate "${conditionType}" is not "True", but ${gate.status}`];
  });

  const sandboxUp = sandbox !== undefined && sandbox.ready && (hostNetwork || sandbox.ip !== '') && !input.terminal;
  const conditions: PodCondition[] = [
    input.previous?.conditions?.find((c) => c.type === 'PodScheduled') ?? condition(input, 'PodScheduled', true),
    condition(input, 'PodReadyToStartContainers', sandboxUp),
    condition(
      input,
      'Initialized',
      initDone || input.terminal,
      'ContainersNotInitialized',
      `containers with incomplete status: [${incomplete.join(' ')}]`,
    ),
    condition(
      input,
      'ContainersReady',
      containersReady,
      containersReadyReason,
      phase === 'Succeeded' || phase === 'Failed'
        ? undefined
        : `containers with unready status: [${unready.join(' ')}]`,
    ),
    condition(
      input,
      'Ready',
      containersReady && gateProblems.length === 0,
      containersReady ? 'ReadinessGatesNotReady' : containersReadyReason,
      containersReady
        ? gateProblems.join('; ')
        : phase === 'Succeeded' || phase === 'Failed'
          ? undefined
          : `containers with unready status: [${unready.join(' ')}]`,
    ),
    // conditions others own (readiness gates, DisruptionTarget) pass through
    ...(input.previous?.conditions ?? []).filter((c) => !ownConditionTypes.has(c.type)),
  ];

  const podIP = podIPOf(input.pod, sandbox, input.nodeIP);
  const status: PodStatus = {
    phase,
    conditions,
    hostIP: input.nodeIP,
    hostIPs: [{ ip: input.nodeIP }],
    startTime: input.previous?.startTime ?? apiTime(input.now),
    containerStatuses: mainStatuses,
    qosClass: qosClassOf(pod.spec),
  };
  if (podIP !== '' && !input.terminal) {
    status.podIP = podIP;
    status.podIPs = [{ ip: podIP }];
  } else if (input.previous?.podIP) {
    // the API keeps the last pod IP of a finished pod
    status.podIP = input.previous.podIP;
    status.podIPs = input.previous.podIPs ?? [{ ip: input.previous.podIP }];
  }
  if (initStatuses.length > 0) status.initContainerStatuses = initStatuses;
  const ephemeralStatuses = ephemeralContainers(pod).map((c) => containerStatus(input, c, 'ContainerCreating'));
  if (ephemeralStatuses.length > 0) status.ephemeralContainerStatuses = ephemeralStatuses;
  if (input.termination !== undefined) {
    status.message = `terminating: ${input.termination.step} (deadline ${apiTime(input.termination.deadline)})`;
  }
  if (input.stoppedByNode !== undefined) {
    status.phase = 'Failed';
    status.reason = input.stoppedByNode.reason;
    status.message = input.stoppedByNode.message;
  }
  return status;
}
