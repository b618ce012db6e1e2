/**
 * mount(8) as a list in memory, for volume tests that must not mount anything on the host: it
 * records each tmpfs asked for (with its size) and answers mount point questions from the list.
 * `delayMs` makes each tmpfs mount take a while, long enough for a second set-up to look in between.
 */
import type { HostMounts, MountEntry } from '../../../agent/pods/volumes/host-mounts.ts';

interface FakeMounts {
  mounts: HostMounts;
  /** Every tmpfs mounted, in order. */
  mountCalls: { dir: string; sizeBytes?: number }[];
  /** What is mounted now. */
  mounted: MountEntry[];
}

export function fakeMounts(delayMs = 0): FakeMounts {
  const mounted: MountEntry[] = [];
  const mountCalls: FakeMounts['mountCalls'] = [];
  const under = (dir: string) => mounted.filter((m) => m.mountPoint === dir || m.mountPoint.startsWith(`${dir}/`));
  const mounts: HostMounts = {
    mountsUnder: async (dir) => under(dir),
    isMountPoint: async (dir, fsType) =>
      mounted.some((m) => m.mountPoint === dir && (fsType === undefined || m.fsType === fsType)),
    mountTmpfs: async (dir, sizeBytes) => {
      mountCalls.push({ dir, ...(sizeBytes !== undefined ? { sizeBytes } : {}) });
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      mounted.push({ mountPoint: dir, fsType: 'tmpfs' });
    },
    unmountAllUnder: async (dir) => {
      for (const entry of under(dir)) mounted.splice(mounted.indexOf(entry), 1);
    },
  };
  return { mounts, mountCalls, mounted };
}
