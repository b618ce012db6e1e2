/**
 * Where a CPU profile's time went: `node bench/scale/profile-summary.ts <file.cpuprofile> [--top 30]`
 * prints self time by function and by file (the server's profile from `npm run bench -- scale
 * --server-cpu-prof <dir>`), largest first, with each one's share of the sampled time.
 */
import { readFileSync } from 'node:fs';
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

function shortFile(url: string): string {
  if (url === '') return '(native)';
  const inRepo = url.indexOf('/bosun/');
  const path = url.replace(/^file:\/\//, '');
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

/** Self time summed by function (name and place) and by file, largest first. */
function summarizeProfile(profile: Profile): { total: number; functions: Row[]; files: Row[] } {
  const times = selfTimes(profile);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
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
  const sorted = (map: Map<string, number>) =>
    [...map.entries()].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  return { total, functions: sorted(byFunction), files: sorted(byFile) };
}

if (import.meta.main) {
  const { file, top } = fileAndTop('node bench/scale/profile-summary.ts <file.cpuprofile> [--top 30]');
  const { total, functions, files } = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as Profile);
  const line = (row: Row) =>
    `${(row.ms / 1000).toFixed(1).padStart(8)} s ${((row.ms / total) * 100).toFixed(1).padStart(5)}%  ${row.name}\n`;
  process.stdout.write(`sampled ${(total / 1000).toFixed(1)} s\n\nby function (self time):\n`);
  for (const row of functions.slice(0, top)) process.stdout.write(line(row));
  process.stdout.write('\nby file (self time):\n');
  for (const row of files.slice(0, top)) process.stdout.write(line(row));
}
