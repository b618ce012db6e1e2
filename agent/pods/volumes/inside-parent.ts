/**
 * A folder the agent is about to make, chmod, mount on or write into must really lie inside the
 * parent it was built under (the pods folder, the pod log folder), also after symlinks. A name
 * from the API is checked lexically when the path is built (path-parts.ts); this is the check on
 * the disk, as the kubelet's securejoin does it: no component below the parent may be a symlink
 * (the agent makes none there, so one found was planted, e.g. by a container that writes into a
 * shared hostPath), and the real path of what exists must stay under the real parent. The parent
 * itself is the operator's choice and may be a link (say /var/lib/bosun -> /data/bosun).
 */
import { lstat, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { UnsafePodPathError } from '../path-parts.ts';

function under(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Resolves when `path` is inside `parent` on the disk as it is now; throws UnsafePodPathError otherwise. */
export async function checkInsideParent(parent: string, path: string): Promise<void> {
  const rest = relative(parent, path);
  const components = rest === '' ? [] : rest.split(sep);
  if (isAbsolute(rest) || components.includes('..')) {
    throw new UnsafePodPathError(`refusing ${path}`, [`it is not inside ${parent}`]);
  }
  const realParent = await realpath(parent).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  // no parent yet: the agent makes it and everything below it
  if (realParent === undefined) return;
  // each component is lstat-ed (a link is refused), and the real path is taken once, of the deepest
  // one that exists: realpath(3) walks the whole absolute path, so one per component made this
  // check, run for every mount of every container start, quadratic in the path's depth
  let current = parent;
  let deepest: string | undefined;
  for (const component of components) {
    current = join(current, component);
    const info = await lstat(current).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    // what does not exist yet is made by the agent itself, as a real folder
    if (info === undefined) break;
    if (info.isSymbolicLink()) {
      throw new UnsafePodPathError(`refusing ${path}`, [
        `${current} is a symbolic link; the agent does not follow links below ${parent}`,
      ]);
    }
    deepest = current;
  }
  if (deepest === undefined) return;
  const real = await realpath(deepest);
  if (!under(realParent, real))
    throw new UnsafePodPathError(`refusing ${path}`, [`${deepest} resolves to ${real}, outside ${parent}`]);
}
