/**
 * The eviction signals, each read from the place upstream reads it (k/k#66961: pressure on the
 * wrong filesystem is worse than none):
 *
 *   memory.available   capacity − working set of the root memory cgroup (usage − inactive file
 *                      pages), as the kubelet computes it; /proc/meminfo's MemAvailable where the
 *                      root cgroup has no memory statistics (cgroup v2)
 *   nodefs.*           the filesystem of the agent's root folder (pod volumes), and of the pod log
 *                      folder when that is another filesystem: the fuller of the two counts
 *   imagefs.*          the filesystem CRI ImageFsInfo names (containerd's snapshotter root)
 *   pid.available      kernel.pid_max − tasks in use
 */
import { readFile, statfs } from 'node:fs/promises';
import type { CriRuntime } from '../../cri/runtime.ts';
import { imageFilesystem, type Filesystem } from '../images/image-gc.ts';
import type { Observations } from './eviction-plan.ts';

async function text(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

async function filesystemOf(path: string): Promise<Filesystem | undefined> {
  try {
    const fs = await statfs(path);
    return {
      mount: path,
      capacityBytes: fs.blocks * fs.bsize,
      availableBytes: fs.bavail * fs.bsize,
      inodes: fs.files,
      inodesFree: fs.ffree,
    };
  } catch {
    return undefined;
  }
}

async function memoryAvailable(): Promise<{ available: number; capacity: number } | undefined> {
  const meminfo = await text('/proc/meminfo');
  const total = /^MemTotal:\s+(\d+) kB$/m.exec(meminfo);
  if (total === null) return undefined;
  const capacity = Number(total[1]) * 1024;
  const [usage, stat] = await Promise.all([
    text('/sys/fs/cgroup/memory/memory.usage_in_bytes'),
    text('/sys/fs/cgroup/memory/memory.stat'),
  ]);
  const inactive = /^total_inactive_file (\d+)$/m.exec(stat);
  if (usage.trim() !== '' && inactive !== null) {
    const workingSet = Math.max(0, Number(usage.trim()) - Number(inactive[1]));
    return { available: Math.max(0, capacity - workingSet), capacity };
  }
  const available = /^MemAvailable:\s+(\d+) kB$/m.exec(meminfo);
  return available === null ? undefined : { available: Number(available[1]) * 1024, capacity };
}

interface SignalSources {
  runtime: CriRuntime;
  rootDir: string;
  podLogDir: string;
}

export async function observeSignals(sources: SignalSources): Promise<Observations> {
  const [memory, root, logs, image, pidMax, loadavg] = await Promise.all([
    memoryAvailable(),
    filesystemOf(sources.rootDir),
    filesystemOf(sources.podLogDir),
    imageFilesystem(sources.runtime),
    text('/proc/sys/kernel/pid_max'),
    text('/proc/loadavg'),
  ]);
  const observations: Observations = {};
  if (memory !== undefined) observations['memory.available'] = memory;
  const fuller = [root, logs]
    .filter((f) => f !== undefined && f.capacityBytes > 0)
    .sort((a, b) => a!.availableBytes / a!.capacityBytes - b!.availableBytes / b!.capacityBytes)[0];
  if (fuller !== undefined) {
    observations['nodefs.available'] = { available: fuller.availableBytes, capacity: fuller.capacityBytes };
    if (fuller.inodes > 0)
      observations['nodefs.inodesFree'] = { available: fuller.inodesFree, capacity: fuller.inodes };
  }
  if (image !== undefined) {
    observations['imagefs.available'] = { available: image.availableBytes, capacity: image.capacityBytes };
    if (image.inodes > 0) observations['imagefs.inodesFree'] = { available: image.inodesFree, capacity: image.inodes };
  }
  const tasks = /\s\d+\/(\d+)\s/.exec(loadavg);
  const max = Number(pidMax.trim());
  if (max > 0 && tasks !== null) observations['pid.available'] = { available: max - Number(tasks[1]), capacity: max };
  return observations;
}
