/**
 * The few mount(2) operations volumes need on the host: tmpfs for memory-backed volumes, a bind of
 * an already opened file (a resolved subPath), the mounts under a folder, and unmounting them.
 * Node has no mount API, so these run util-linux mount/umount. `HostMounts` is the seam the volume
 * manager uses, so a node without a host of its own (a hollow node) can pass one that mounts nothing.
 */
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

function oneLine(err: unknown): string {
  const e = err as { stderr?: string; message: string };
  return (e.stderr?.trim() || e.message).split('\n')[0]!;
}

/** Unescapes the octal escapes (\040 for a space) of /proc/self/mountinfo. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export interface MountEntry {
  mountPoint: string;
  fsType: string;
}

function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (fields.length < 5 || dash < 0) continue;
    entries.push({ mountPoint: unescapeMountPath(fields[4]!), fsType: fields[dash + 1] ?? '' });
  }
  return entries;
}

export async function mountsUnder(dir: string): Promise<MountEntry[]> {
  const entries = parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
  return entries.filter((e) => e.mountPoint === dir || e.mountPoint.startsWith(`${dir}/`));
}

export async function isMountPoint(dir: string, fsType?: string): Promise<boolean> {
  return (await mountsUnder(dir)).some((e) => e.mountPoint === dir && (fsType === undefined || e.fsType === fsType));
}

async function mountTmpfs(dir: string, sizeBytes?: number): Promise<void> {
  const options = sizeBytes !== undefined && sizeBytes > 0 ? ['-o', `size=${sizeBytes}`] : [];
  try {
    await run('mount', ['-t', 'tmpfs', ...options, 'tmpfs', dir]);
  } catch (err) {
    throw new Error(`cannot mount a tmpfs on ${dir}: ${oneLine(err)}`);
  }
}

/**
 * Bind-mounts exactly the file or folder that `fd` refers to onto `target`. The kernel follows
 * /proc/self/fd/3 to the open file itself, so whatever happened to the path since it was opened
 * and checked, the bind shows what was checked. `-c` keeps mount(8) from resolving the path first.
 */
export async function bindOpenFile(fd: number, target: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('mount', ['-c', '--bind', '/proc/self/fd/3', target], {
      stdio: ['ignore', 'ignore', 'pipe', fd],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `cannot bind the subPath onto ${target}: ${stderr.trim().split('\n')[0] || `mount exited ${code}`}`,
            ),
          ),
    );
  });
}

/** Unmounts every mount at or below `dir`, deepest first. */
export async function unmountAllUnder(dir: string): Promise<void> {
  const mounts = (await mountsUnder(dir)).map((e) => e.mountPoint).sort((a, b) => b.length - a.length);
  for (const point of mounts) {
    try {
      await run('umount', [point]);
    } catch (err) {
      throw new Error(`cannot unmount ${point}: ${oneLine(err)}`);
    }
  }
}

/** The mount operations the volume manager needs; `hostMounts` performs them on this host. */
export interface HostMounts {
  mountsUnder(dir: string): Promise<MountEntry[]>;
  isMountPoint(dir: string, fsType?: string): Promise<boolean>;
  mountTmpfs(dir: string, sizeBytes?: number): Promise<void>;
  unmountAllUnder(dir: string): Promise<void>;
}

export const hostMounts: HostMounts = { mountsUnder, isMountPoint, mountTmpfs, unmountAllUnder };
