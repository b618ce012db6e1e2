/**
 * Writes a volume's files the way the kubelet's AtomicWriter does, so that a reader never sees a
 * half-updated set of files:
 *
 *   <dir>/..2024_05_01_10_00_00.123456   the files of one version (a fresh folder per write)
 *   <dir>/..data -> ..2024_05_01_...     swapped in one rename(2) from `..data_tmp`
 *   <dir>/<key>  -> ..data/<key>          one link per top-level name the user sees
 *
 * planAtomicWrite decides (pure); writeAtomically observes the folder and carries the plan out.
 * An unchanged payload writes nothing, so mounted files keep their inode until they change.
 */
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
  chmod,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface FileContent {
  data: Buffer;
  /** Permission bits, e.g. 0o644. */
  mode: number;
}

/** Relative path (may contain '/') → content. */
export type Payload = Map<string, FileContent>;

interface ObservedVolumeDir {
  /** The folder `..data` points to, if any. */
  dataDir: string | undefined;
  /** The files in that folder. */
  files: Payload;
  /** Top-level names the user sees (everything not starting with '..'). */
  visible: string[];
}

interface AtomicWritePlan {
  /** A new version folder is written and swapped in. */
  writeNewVersion: boolean;
  /** Top-level names that need a `name -> ..data/name` link. */
  links: string[];
  /** Top-level names of an earlier version that the payload no longer has. */
  stale: string[];
}

const dataDirLink = '..data';

/** Why a payload path is unusable, or undefined when it is fine (upstream's validatePath). */
function payloadPathProblem(path: string): string | undefined {
  if (path === '') return 'must not be empty';
  if (path.length > 4096) return 'must be shorter than 4096 characters';
  if (path.startsWith('/')) return 'must be relative';
  const parts = path.split('/');
  if (parts.includes('..')) return "must not contain '..'";
  if (parts[0]!.startsWith('..')) return "must not start with '..'";
  if (parts.some((p) => p === '')) return 'must not contain empty components';
  return undefined;
}

function topLevel(path: string): string {
  return path.split('/')[0]!;
}

function samePayload(a: Payload, b: Payload): boolean {
  if (a.size !== b.size) return false;
  for (const [path, content] of a) {
    const other = b.get(path);
    if (other === undefined || other.mode !== content.mode || !other.data.equals(content.data)) return false;
  }
  return true;
}

export function planAtomicWrite(payload: Payload, observed: ObservedVolumeDir): AtomicWritePlan {
  for (const path of payload.keys()) {
    const problem = payloadPathProblem(path);
    if (problem !== undefined) throw new Error(`invalid path ${JSON.stringify(path)} in the volume: ${problem}`);
  }
  const wanted = [...new Set([...payload.keys()].map(topLevel))].sort();
  const writeNewVersion = observed.dataDir === undefined || !samePayload(payload, observed.files);
  const present = new Set(observed.visible);
  return {
    writeNewVersion,
    // after a new version every link is checked again: a user path may have changed from file to folder
    links: writeNewVersion ? wanted : wanted.filter((name) => !present.has(name)),
    stale: observed.visible.filter((name) => !wanted.includes(name)).sort(),
  };
}

async function readTree(root: string, prefix: string, into: Payload): Promise<void> {
  for (const entry of await readdir(join(root, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) await readTree(root, rel, into);
    else if (entry.isFile()) {
      const path = join(root, rel);
      const [data, info] = await Promise.all([readFile(path), lstat(path)]);
      into.set(rel, { data, mode: info.mode & 0o7777 });
    }
  }
}

async function observeVolumeDir(dir: string): Promise<ObservedVolumeDir> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const visible = names.filter((n) => !n.startsWith('..'));
  const target = await readlink(join(dir, dataDirLink)).catch(() => undefined);
  const files: Payload = new Map();
  if (target !== undefined) await readTree(join(dir, target), '', files).catch(() => files.clear());
  return { dataDir: target, files, visible };
}

function timestampPrefix(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `..${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}.`;
}

/** Makes `dir` hold exactly `payload`; returns whether anything the user sees changed. */
export async function writeAtomically(dir: string, payload: Payload, now: Date = new Date()): Promise<boolean> {
  await mkdir(dir, { recursive: true });
  const observed = await observeVolumeDir(dir);
  const plan = planAtomicWrite(payload, observed);
  if (plan.writeNewVersion) {
    const version = await mkdtemp(join(dir, timestampPrefix(now)));
    await chmod(version, 0o755);
    for (const [path, content] of payload) {
      const file = join(version, path);
      await mkdir(dirname(file), { recursive: true, mode: 0o755 });
      await writeFile(file, content.data, { mode: content.mode });
      // writeFile's mode is filtered by the umask; the payload's mode is what the user asked for
      await chmod(file, content.mode);
    }
    const tmp = join(dir, `${dataDirLink}_tmp`);
    await rm(tmp, { force: true });
    await symlink(version.slice(dir.length + 1), tmp);
    await rename(tmp, join(dir, dataDirLink));
  }
  for (const name of plan.links) {
    const link = join(dir, name);
    const existing = await readlink(link).catch(() => undefined);
    if (existing === `${dataDirLink}/${name}`) continue;
    await rm(link, { recursive: true, force: true });
    await symlink(`${dataDirLink}/${name}`, link);
  }
  for (const name of plan.stale) await rm(join(dir, name), { recursive: true, force: true });
  if (plan.writeNewVersion && observed.dataDir !== undefined && observed.dataDir.startsWith('..')) {
    await rm(join(dir, observed.dataDir), { recursive: true, force: true });
  }
  return plan.writeNewVersion || plan.links.length > 0 || plan.stale.length > 0;
}
