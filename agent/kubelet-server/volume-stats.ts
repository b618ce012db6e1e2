/**
 * Usage of the persistent volumes pods of this node mount, for /stats/summary (a pod's `volume`
 * entries with their pvcRef) and the kubelet_volume_stats_* metrics. A volume is a folder on a
 * filesystem it shares: used bytes and inodes are counted by walking the folder (links not
 * followed, the walk bounded), capacity is what its PV was given, available is what is left of
 * that, never more than the filesystem has free; inodes are the filesystem's.
 */
import { lstat, readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClaimMount } from '../pods/volumes/claim-mount.ts';

export interface VolumeUsage {
  readonly podUid: string;
  readonly volume: string;
  readonly namespace: string;
  readonly claim: string;
  readonly capacityBytes: number;
  readonly usedBytes: number;
  readonly availableBytes: number;
  readonly inodes: number;
  readonly inodesFree: number;
  readonly inodesUsed: number;
}

/** Beyond this many entries a walk stops counting (a huge volume is not walked on every scrape). */
const maxEntries = 200_000;

async function walk(root: string): Promise<{ bytes: number; entries: number }> {
  let bytes = 0;
  let entries = 0;
  const pending = [root];
  while (pending.length > 0 && entries < maxEntries) {
    const path = pending.pop()!;
    const info = await lstat(path).catch(() => undefined);
    if (info === undefined) continue;
    entries++;
    bytes += info.blocks * 512;
    if (!info.isDirectory()) continue;
    for (const name of await readdir(path).catch(() => [] as string[])) pending.push(join(path, name));
  }
  return { bytes, entries };
}

export async function measureVolume(podUid: string, mount: ClaimMount): Promise<VolumeUsage | undefined> {
  const fs = await statfs(mount.path).catch(() => undefined);
  if (fs === undefined) return undefined;
  const { bytes, entries } = await walk(mount.path);
  const fsAvailable = fs.bavail * fs.bsize;
  const capacity = mount.capacityBytes > 0 ? mount.capacityBytes : fs.blocks * fs.bsize;
  return {
    podUid,
    volume: mount.volume,
    namespace: mount.namespace,
    claim: mount.claim,
    capacityBytes: capacity,
    usedBytes: bytes,
    availableBytes: Math.max(0, Math.min(capacity - bytes, fsAvailable)),
    inodes: fs.files,
    inodesFree: fs.ffree,
    inodesUsed: entries,
  };
}

/** Every volume of every pod (pods whose folder cannot be read are left out). */
export async function measureVolumes(
  mounts: readonly { readonly podUid: string; readonly mount: ClaimMount }[],
): Promise<VolumeUsage[]> {
  const measured = await Promise.all(mounts.map(({ podUid, mount }) => measureVolume(podUid, mount)));
  return measured.filter((m): m is VolumeUsage => m !== undefined);
}
