/**
 * Removes exited containers of bosun's pods to reclaim disk under pressure, keeping the newest
 * exited one of each (pod, container name): the pod's status reads its exit code and restart
 * count from it. Containers bosun did not create are never touched.
 */
import type { CriRuntime } from '../../cri/runtime.ts';
import type { Container } from '../../cri/types.ts';
import { criLabel, managedSelector } from '../pods/cri-labels.ts';

export function deadContainersToRemove(containers: readonly Container[]): Container[] {
  const newest = new Map<string, Container>();
  const remove: Container[] = [];
  const exited = containers.filter((c) => c.state === 'CONTAINER_EXITED').sort((a, b) => b.createdAt - a.createdAt);
  for (const c of exited) {
    const key = `${c.labels[criLabel.podUid] ?? ''}/${c.labels[criLabel.containerName] ?? ''}`;
    if (newest.has(key)) remove.push(c);
    else newest.set(key, c);
  }
  return remove;
}

export async function removeDeadContainers(runtime: CriRuntime): Promise<number> {
  const containers = await runtime.listContainers({ labelSelector: managedSelector });
  let removed = 0;
  for (const c of deadContainersToRemove(containers)) {
    await runtime.removeContainer(c.id).then(
      () => removed++,
      () => undefined,
    );
  }
  return removed;
}
