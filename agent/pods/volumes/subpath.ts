/**
 * Resolves a volumeMount's subPath inside its volume without ever following a symlink out of it
 * (CVE-2017-1002101, CVE-2021-25741: a container can plant `esc -> /` in a shared volume and a
 * later mount of subPath `esc` would expose the host). Each component is examined with lstat; a
 * symlink is followed only when its target stays inside the volume. Missing components are
 * created as folders, as the kubelet does.
 *
 * The path found is then opened and, through /proc/self/fd, checked once more to lie inside the
 * volume: that closes the window in which a component could be swapped for a link after the
 * walk. The caller bind-mounts that open file (never the path) for the container.
 */
import { lstat, mkdir, open, readlink, realpath, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { isAbsolute, join, posix, sep } from 'node:path';

class SubPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubPathError';
  }
}

const maxLinks = 40;
/** Linux O_PATH (Node's constants do not list it). */
const oPath = 0o10000000;

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Lexical problems, found before touching the disk. */
export function subPathProblem(subPath: string): string | undefined {
  if (isAbsolute(subPath)) return 'must be a relative path';
  if (subPath.split('/').includes('..')) return "must not contain '..'";
  return undefined;
}

/** The real path of `subPath` inside `volumeRoot` (which must itself be a real path). */
export async function resolveSubPath(volumeRoot: string, subPath: string, create = true): Promise<string> {
  const problem = subPathProblem(subPath);
  if (problem !== undefined) throw new SubPathError(`subPath ${subPath} ${problem}`);
  const pending = subPath.split('/').filter((c) => c !== '' && c !== '.');
  let current = volumeRoot;
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      // only reachable through a link target; the lexical walk keeps it inside
      const parent = posix.dirname(current);
      if (!inside(volumeRoot, parent)) throw new SubPathError(`subPath ${subPath} leaves the volume`);
      current = parent;
      continue;
    }
    const next = join(current, part);
    const info = await lstat(next).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (info === undefined) {
      if (!create) throw new SubPathError(`subPath ${subPath} does not exist in the volume`);
      await mkdir(next, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      const made = await lstat(next);
      if (!made.isDirectory()) throw new SubPathError(`subPath ${subPath} changed while it was being created`);
      current = next;
      continue;
    }
    if (info.isSymbolicLink()) {
      if (++links > maxLinks) throw new SubPathError(`subPath ${subPath} has too many levels of symbolic links`);
      const target = await readlink(next);
      if (isAbsolute(target))
        throw new SubPathError(`subPath ${subPath} is a symlink to ${target}, outside the volume`);
      const resolved = posix.normalize(join(current, target));
      if (!inside(volumeRoot, resolved))
        throw new SubPathError(`subPath ${subPath} is a symlink to ${target}, outside the volume`);
      // walk the target's components again, from the volume root
      pending.unshift(
        ...resolved
          .slice(volumeRoot.length)
          .split('/')
          .filter((c) => c !== ''),
      );
      current = volumeRoot;
      continue;
    }
    if (pending.length > 0 && !info.isDirectory())
      throw new SubPathError(`subPath ${subPath}: ${part} is not a folder`);
    current = next;
  }
  return current;
}

/**
 * Opens the resolved subPath (never following a final link) and checks what was opened really
 * lies inside the volume. The caller closes the handle.
 */
export async function openInsideVolume(volumeRoot: string, resolved: string): Promise<FileHandle> {
  // O_PATH: a handle to the inode only, so a FIFO or device is never actually opened
  const handle = await open(resolved, oPath | constants.O_NOFOLLOW);
  try {
    const [opened, root] = await Promise.all([readlink(`/proc/self/fd/${handle.fd}`), realpath(volumeRoot)]);
    if (!inside(root, opened)) throw new SubPathError(`subPath resolves to ${opened}, outside the volume`);
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}
