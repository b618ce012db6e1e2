/**
 * Which part a container plays in its pod: a regular init container (runs to completion, in
 * order), a native sidecar (an init container with restartPolicy Always: starts in init order,
 * then keeps running beside the main containers), a main container, or an ephemeral container
 * (added later for debugging: started once, never restarted).
 */
import type { Container, EphemeralContainer, Pod } from '../../kube/corev1.ts';

export type ContainerRole = 'init' | 'sidecar' | 'main' | 'ephemeral';

export interface PodContainer {
  role: ContainerRole;
  /** Position in spec.initContainers (init, sidecar), spec.containers (main) or spec.ephemeralContainers. */
  index: number;
  spec: Container;
}

export function isSidecar(container: Container): boolean {
  return container.restartPolicy === 'Always';
}

/** Init containers and sidecars in spec order. */
export function initSequence(pod: Pod): PodContainer[] {
  return (pod.spec.initContainers ?? []).map((spec, index) => ({
    role: isSidecar(spec) ? 'sidecar' : 'init',
    index,
    spec,
  }));
}

export function mainContainers(pod: Pod): PodContainer[] {
  return pod.spec.containers.map((spec, index) => ({ role: 'main', index, spec }));
}

export function ephemeralContainers(pod: Pod): PodContainer[] {
  return (pod.spec.ephemeralContainers ?? []).map((spec, index) => ({ role: 'ephemeral', index, spec }));
}

/** The container whose process namespace an ephemeral container asks to join, if any. */
export function pidTargetOf(c: PodContainer): string | undefined {
  const target = c.role === 'ephemeral' ? (c.spec as EphemeralContainer).targetContainerName : undefined;
  return target === undefined || target === '' ? undefined : target;
}

export function sidecars(pod: Pod): PodContainer[] {
  return initSequence(pod).filter((c) => c.role === 'sidecar');
}

export function allContainers(pod: Pod): PodContainer[] {
  return [...initSequence(pod), ...mainContainers(pod), ...ephemeralContainers(pod)];
}

export function findContainer(pod: Pod, name: string): PodContainer | undefined {
  return allContainers(pod).find((c) => c.spec.name === name);
}

/** "namespace/name" for log lines and messages. */
export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
}
