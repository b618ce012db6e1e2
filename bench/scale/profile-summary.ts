/**
 * Where a CPU profile's time went: `node bench/scale/profile-summary.ts <file.cpuprofile> [--top 30]`
 * prints self time by function and by file (the server's profile from `npm run bench -- scale
 * --server-cpu-prof <dir>`), largest first, with each one's share of the sampled time.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileAndTop } from './summary-args.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

interface Row {
  name: string;
  ms: number;
}

/** Self time per profile node, from the samples and the time between them. */
function selfTimes(profile: Profile): Map<number, number> {
  const times = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (const [i, id] of samples.entries()) {
    // a sample's time is the gap to the next one
    const us = deltas[i + 1] ?? 0;
    times.set(id, (times.get(id) ?? 0) + us / 1000);
  }
  return times;
}

const repoRoot = `${resolve(import.meta.dirname, '../..')}/`;

function shortFile(url: string): string {
  if (url === '') return '(native)';
  const path = url.replace(/^file:\/\//, '');
  // a path in this checkout (wherever it is) or in an installed copy, relative to its root
  if (path.startsWith(repoRoot) && !path.includes('/node_modules/')) return path.slice(repoRoot.length);
  const inRepo = path.indexOf('/bosun/');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0)
    return path
      .slice(modules + 1)
      .split('/')
      .slice(0, 3)
      .join('/');
  if (inRepo >= 0) return path.slice(inRepo + '/bosun/'.length);
  return path.split('/').slice(-3).join('/');
}

/**
 * Self time summed by function (name and place) and by file, largest first; several profiles (one
 * per run of a short command) add up as if they were one.
 */
function summarizeProfiles(profiles: readonly Profile[]): { total: number; functions: Row[]; files: Row[] } {
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const profile of profiles) {
    const times = selfTimes(profile);
    for (const node of profile.nodes) {
      const ms = times.get(node.id) ?? 0;
      if (ms === 0) continue;
      total += ms;
      const { functionName, url, lineNumber } = node.callFrame;
      const file = shortFile(url);
      const name = `${functionName || '(anonymous)'} ${file}${url ? `:${lineNumber + 1}` : ''}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
      byFile.set(file, (byFile.get(file) ?? 0) + ms);
    }
  }
  const sorted = (map: Map<string, number>) =>
    [...map.entries()].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  return { total, functions: sorted(byFunction), files: sorted(byFile) };
}

/** What a report shows of one profile: the largest self times by function and by file, as shares. */
export interface ProfileDigest {
  file_mib: number;
  sampled_s: number;
  functions: { name: string; pct: number }[];
  files: { name: string; pct: number }[];
}

export function digestProfile(file: string, top = 12): ProfileDigest {
  return digestProfiles([file], top);
}

/** One digest of several profiles of the same command (each run of a short command writes its own). */
export function digestProfiles(files: readonly string[], top = 12): ProfileDigest {
  const {
    total,
    functions,
    files: byFile,
  } = summarizeProfiles(files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as Profile));
  const share = (rows: Row[]) =>
    rows
      .slice(0, top)
      .map((row) => ({ name: row.name, pct: total > 0 ? Math.round((row.ms / total) * 1000) / 10 : 0 }));
  return {
    file_mib: Math.round(files.reduce((sum, file) => sum + statSync(file).size, 0) / 2 ** 20),
    sampled_s: Math.round(total / 100) / 10,
    functions: share(functions),
    files: share(byFile),
  };
}

/**
 * The digest of the largest profile written into `dir` since `since` (ms): a server writes its
 * profile as it exits, one file per process. Undefined when there is none or it cannot be read.
 */
export function digestOfNewest(
  dir: string,
  since: number,
  onError?: (message: string) => void,
): ProfileDigest | undefined {
  const written = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => join(dir, name))
    .filter((file) => statSync(file).mtimeMs >= since)
    .sort((a, b) => statSync(b).size - statSync(a).size);
  if (written[0] === undefined) return undefined;
  try {
    return digestProfile(written[0]);
  } catch (err) {
    onError?.((err as Error).message.split('\n')[0] ?? '');
    return undefined;
  }
}

if (import.meta.main) {
  const { file, top } = fileAndTop('node bench/scale/profile-summary.ts <file.cpuprofile> [--top 30]');
  const { total, functions, files } = summarizeProfiles([JSON.parse(readFileSync(file, 'utf8')) as Profile]);
  const line = (row: Row) =>
    `${(row.ms / 1000).toFixed(1).padStart(8)} s ${((row.ms / total) * 100).toFixed(1).padStart(5)}%  ${row.name}\n`;
  process.stdout.write(`sampled ${(total / 1000).toFixed(1)} s\n\nby function (self time):\n`);
  for (const row of functions.slice(0, top)) process.stdout.write(line(row));
  process.stdout.write('\nby file (self time):\n');
  for (const row of files.slice(0, top)) process.stdout.write(line(row));
}
