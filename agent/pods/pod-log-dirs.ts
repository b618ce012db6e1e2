/**
 * Pod log folders (<pod-log-dir>/<namespace>_<name>_<uid>) outlive their pod unless someone
 * removes them: the runtime deletes a container's log file with the container but never the
 * folders. The kubelet's container GC removes the folders of pods it no longer has
 * (evictPodLogsDirectories); the agent does the same on its volume sync, with the same rule as
 * for volumes — the pod is gone from the API and no sandbox of it is left.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** The pod UID a pod log folder belongs to; undefined for a name not in that form. */
export function podUidOfLogDir(name: string): string | undefined {
  // namespace and pod names are DNS labels/subdomains, so they hold no '_'
  const parts = name.split('_');
  return parts.length === 3 && parts.every((p) => p !== '') ? parts[2] : undefined;
}

/** Removes the log folders of pods not in `keep`; returns the folders removed. */
export async function removeLogDirsOfGonePods(podLogDir: string, keep: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(podLogDir).catch(() => [] as string[])) {
    const uid = podUidOfLogDir(name);
    if (uid === undefined || keep.has(uid)) continue;
    await rm(join(podLogDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
