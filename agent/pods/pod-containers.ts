/**
 * Which part a container plays in its pod: a regular init container (runs to completion, in
 * order), a native sidecar (an init container with restartPolicy Always: starts in init order,
 * then keeps running beside the main containers), or a main container.
 */
import type { Container, Pod } from '../../kube/corev1.ts';

export type ContainerRole = 'init' | 'sidecar' | 'main';

export interface PodContainer {
  role: ContainerRole;
  /** Position in spec.initContainers (init, sidecar) or spec.containers (main). */
  index: number;
  spec: Container;
}

export function isSidecar(container: Container): boolean {
  return container.restartPolicy === 'Always';
}

/** Init containers and sidecars in spec order. */
export function initSequence(pod: Pod): PodContainer[] {
  return (pod.spec.initContainers ?? []).map((spec, index) => ({ role: isSidecar(spec) ? 'sidecar' : 'init', index, spec }));
}

export function mainContainers(pod: Pod): PodContainer[] {
  return pod.spec.containers.map((spec, index) => ({ role: 'main', index, spec }));
}

export function sidecars(pod: Pod): PodContainer[] {
  return initSequence(pod).filter((c) => c.role === 'sidecar');
}

export function allContainers(pod: Pod): PodContainer[] {
  return [...initSequence(pod), ...mainContainers(pod)];
}

export function findContainer(pod: Pod, name: string): PodContainer | undefined {
  return allContainers(pod).find((c) => c.spec.name === name);
}

/** "namespace/name" for log lines and messages. */
export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
}
