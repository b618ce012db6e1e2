/**
 * fsGroup on a pod's persistent volume, as the kubelet's SetVolumeOwnership does it: every file and
 * folder gets the group, group read-write (folders also the setgid bit, so what the pod makes later
 * inherits the group). `OnRootMismatch` skips the walk when the volume's root already has the group
 * and the bits; `Always` (the default) walks every time. Links are never followed, and nothing
 * outside the volume is touched.
 */
import { chmod, lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

const groupReadWrite = 0o060;
const folderBits = 0o2070;

function rootMatches(mode: number, gid: number, wantGid: number): boolean {
  return gid === wantGid && (mode & folderBits) === folderBits;
}

async function own(path: string, gid: number, readOnly: boolean): Promise<void> {
  const info = await lstat(path);
  if (info.isSymbolicLink()) return;
  await lchown(path, info.uid, gid);
  const bits = info.isDirectory() ? folderBits : readOnly ? 0o040 : groupReadWrite;
  await chmod(path, (info.mode & 0o7777) | bits);
  if (!info.isDirectory()) return;
  for (const name of await readdir(path)) await own(join(path, name), gid, readOnly);
}

export async function applyFsGroup(
  root: string,
  gid: number,
  policy: 'Always' | 'OnRootMismatch' | undefined,
  readOnly = false,
): Promise<boolean> {
  const info = await lstat(root);
  if (policy === 'OnRootMismatch' && rootMatches(info.mode, info.gid, gid)) return false;
  await own(root, gid, readOnly);
  return true;
}
