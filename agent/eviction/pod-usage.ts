/**
 * What each pod uses, for ranking: working set and writable layer per container (CRI container
 * stats), container logs (its folder under the pod log root) and emptyDir volumes (their folders
 * under the agent's root), summed from the disk blocks the files hold.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CriRuntime } from '../../cri/runtime.ts';
import type { Pod } from '../../kube/corev1.ts';
import { resourceAmount } from '../../kube/quantity.ts';
import { criLabel } from '../pods/cri-labels.ts';
import { podPathProblems } from '../pods/path-parts.ts';
import { podLogDirectory } from '../pods/sandbox-config.ts';
import { podDir } from '../pods/volumes.ts';
import type { PodUsage } from './eviction-plan.ts';

/** Bytes held on disk by everything under `path` (not following symlinks); 0 when absent. */
async function diskUsage(path: string): Promise<number> {
  let info;
  try {
    info = await lstat(path);
  } catch {
    return 0;
  }
  let total = info.blocks * 512;
  if (info.isDirectory()) {
    const entries = await readdir(path).catch(() => [] as string[]);
    for (const entry of entries) total += await diskUsage(join(path, entry));
  }
  return total;
}

export function emptyDirRoot(podsDir: string, uid: string): string {
  return join(podDir({ podsDir }, uid), 'volumes', 'kubernetes.io~empty-dir');
}

function requestOf(value: string | number | undefined, resource: string): number {
  if (value === undefined) return 0;
  try {
    return resourceAmount(resource, value);
  } catch {
    return 0;
  }
}

export async function collectPodUsage(
  pods: readonly Pod[],
  runtime: CriRuntime,
  dirs: { podLogRoot: string; podsDir: string },
): Promise<PodUsage[]> {
  const stats = await runtime.listContainerStats().catch(() => []);
  const usage: PodUsage[] = [];
  for (const pod of pods) {
    const uid = pod.metadata.uid ?? '';
    // a pod whose names cannot form its folders was refused before anything was made for it
    if (podPathProblems(pod).length > 0) continue;
    const logDir = podLogDirectory({ podLogRoot: dirs.podLogRoot }, pod);
    const containers = await Promise.all(
      [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map(async (spec) => {
        const mine = stats.filter(
          (s) =>
            s.attributes?.labels[criLabel.podUid] === uid && s.attributes?.labels[criLabel.containerName] === spec.name,
        );
        const memory = mine.reduce((sum, s) => sum + (s.memory?.workingSetBytes?.value ?? 0), 0);
        const layer = mine.reduce((sum, s) => sum + (s.writableLayer?.usedBytes?.value ?? 0), 0);
        return {
          name: spec.name,
          memory,
          memoryRequest: requestOf(spec.resources?.requests?.memory, 'memory'),
          disk: layer + (await diskUsage(join(logDir, spec.name))),
          diskRequest: requestOf(spec.resources?.requests?.['ephemeral-storage'], 'ephemeral-storage'),
        };
      }),
    );
    usage.push({
      uid,
      name: pod.metadata.name ?? '',
      namespace: pod.metadata.namespace ?? 'default',
      priority: pod.spec.priority ?? 0,
      containers,
      volumesDisk: await diskUsage(emptyDirRoot(dirs.podsDir, uid)),
    });
  }
  return usage;
}
