/**
 * What the runtime says about one pod, in the planner's terms: its sandboxes and containers,
 * with times in milliseconds and the bosun labels/annotations decoded. Built from CRI answers by
 * `observedFromCri` (pure) so planners never see CRI messages.
 */
import type { ContainerStatus, PodSandbox, PodSandboxStatus } from '../../cri/types.ts';
import type { Pod } from '../../kube/corev1.ts';
import { criAnnotation, criLabel } from './cri-labels.ts';

type ObservedContainerState = 'created' | 'running' | 'exited' | 'unknown';

export interface ObservedSandbox {
  id: string;
  attempt: number;
  ready: boolean;
  /** ms since the epoch */
  createdAt: number;
  /** The pod IP; '' when the runtime reports none (host network, or not yet). */
  ip: string;
}

export interface ObservedContainer {
  id: string;
  sandboxId: string;
  name: string;
  attempt: number;
  state: ObservedContainerState;
  /** From the annotation; '' for a container bosun did not hash. */
  specHash: string;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  /** The runtime's reason (OOMKilled, Completed, Error, or ''). */
  reason: string;
  /** The termination message, or the runtime's message. */
  message: string;
  /** The image as the pod spec named it. */
  image: string;
  /** The image ID the runtime ran. */
  imageRef: string;
}

export interface ObservedPod {
  /** Newest first. */
  sandboxes: ObservedSandbox[];
  containers: ObservedContainer[];
}

const nsPerMs = 1_000_000;
const ms = (ns: number) => Math.floor(ns / nsPerMs);

export function observedSandbox(sandbox: PodSandbox | PodSandboxStatus): ObservedSandbox {
  const network = (sandbox as PodSandboxStatus).network;
  return {
    id: sandbox.id,
    attempt: sandbox.metadata?.attempt ?? 0,
    ready: sandbox.state === 'SANDBOX_READY',
    createdAt: ms(sandbox.createdAt),
    ip: network?.ip ?? '',
  };
}

const states: Record<ContainerStatus['state'], ObservedContainerState> = {
  CONTAINER_CREATED: 'created',
  CONTAINER_RUNNING: 'running',
  CONTAINER_EXITED: 'exited',
  CONTAINER_UNKNOWN: 'unknown',
};

export function observedContainer(
  status: ContainerStatus,
  sandboxId: string,
  terminationMessage?: string,
): ObservedContainer {
  return {
    id: status.id,
    sandboxId,
    name: status.labels[criLabel.containerName] ?? status.metadata?.name ?? '',
    attempt: status.metadata?.attempt ?? Number(status.annotations[criAnnotation.restartCount] ?? 0),
    state: states[status.state],
    specHash: status.annotations[criAnnotation.specHash] ?? '',
    createdAt: ms(status.createdAt),
    startedAt: ms(status.startedAt),
    finishedAt: ms(status.finishedAt),
    exitCode: status.exitCode,
    reason: status.reason,
    message: terminationMessage ?? status.message,
    image: status.image?.userSpecifiedImage || status.image?.image || '',
    imageRef: status.imageRef,
  };
}

/** The sandbox containers run in now: the newest one. */
export function currentSandbox(observed: ObservedPod): ObservedSandbox | undefined {
  return observed.sandboxes[0];
}

/**
 * The pod's IP: a hostNetwork pod shares the node's network, so its IP is the node's; any other pod
 * has its sandbox's ('' while it has none). Status, env, probes and hooks all use this one answer.
 */
export function podIPOf(pod: Pod, sandbox: Pick<ObservedSandbox, 'ip'> | undefined, nodeIP: string): string {
  return pod.spec.hostNetwork === true ? nodeIP : (sandbox?.ip ?? '');
}

/** All containers of `name`, newest attempt first. */
export function attemptsOf(observed: ObservedPod, name: string): ObservedContainer[] {
  return observed.containers
    .filter((c) => c.name === name)
    .sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt);
}

/** The newest container of `name` in the current sandbox. */
export function latestInSandbox(observed: ObservedPod, name: string): ObservedContainer | undefined {
  const sandbox = currentSandbox(observed);
  if (sandbox === undefined) return undefined;
  return attemptsOf(observed, name).find((c) => c.sandboxId === sandbox.id);
}

/** The attempt number the next container of `name` gets: one past the highest seen in any sandbox. */
export function nextAttempt(observed: ObservedPod, name: string): number {
  const newest = attemptsOf(observed, name)[0];
  return newest === undefined ? 0 : newest.attempt + 1;
}
