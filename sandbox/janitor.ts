/**
 * Removes what a sandbox created, by the names and paths it recorded: processes whose command line
 * or root lies in its folder (its containerd, shims, containers, server, agents), mounts under that
 * folder, its namespaces, its pods' cgroup subtree, and the folder itself. Run as a script, it removes test beds whose owner
 * process is gone (a crashed or killed test run) and namespaces with test-bed names but no record.
 */
import { readdirSync, readFileSync, readlinkSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../host/process/run.ts';

import { sandboxCgroupParent, sandboxCgroupRoot, sandboxRoots } from './names.ts';
import { hostCgroupMounts, removeCgroupTree, removeEmptyCgroup } from '../agent/pods/pod-cgroups.ts';

const bedRoot = sandboxRoots.tests;
/** Every namespace a test bed creates is named like this (see test/bed/index.ts). */
const bedNetnsPattern = /^bsn[0-9a-z]+-(hub|sink|n\d+)$/;

/** What the janitor needs of a sandbox's record (sandbox.json). */
export interface BedRecord {
  id: string;
  /** The process that owns the sandbox (a test run); 0 for a sandbox that lives until `down`. */
  ownerPid: number;
  netns: string[];
  stateDir: string;
}

export const recordFile = 'sandbox.json';

function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      let root = '';
      try {
        root = readlinkSync(`/proc/${pid}/root`);
      } catch {
        /* exited or not ours to read */
      }
      if (cmdline.includes(`${dir}/`) || root.startsWith(`${dir}/`)) pids.push(pid);
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
}

/**
 * The processes in a cgroup subtree, in every hierarchy: a sandbox's pods, and the processes of a
 * system container a test booted, whose root does not show as the sandbox's folder from here.
 */
function processesInCgroups(mounts: readonly string[], relative: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    try {
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n'))
        if (/^\d+$/.test(line) && Number(line) !== process.pid) pids.add(Number(line));
    } catch {
      // gone while we looked
    }
    for (const entry of entries) if (entry.isDirectory()) walk(join(dir, entry.name));
  };
  for (const mount of mounts) walk(join(mount, relative));
  return [...pids];
}

function mountsUnder(dir: string): string[] {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const points = lines
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && point.startsWith(`${dir}/`))
    .map((point) => point.replace(/\\040/g, ' '));
  return [...new Set(points)].sort((a, b) => b.length - a.length); // deepest first
}

export async function removeBedLeftovers(record: BedRecord): Promise<void> {
  if (!Object.values(sandboxRoots).some((root) => record.stateDir.startsWith(`${root}/`))) {
    throw new Error(`refusing to clean outside ${Object.values(sandboxRoots).join(' or ')}: ${record.stateDir}`);
  }
  const mounts = await hostCgroupMounts();
  for (let round = 0; round < 3; round++) {
    const pids = [
      ...new Set([
        ...processesUnder(record.stateDir),
        ...(record.id === '' ? [] : processesInCgroups(mounts, sandboxCgroupRoot(record.id))),
      ]),
    ];
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100 * (round + 1)));
  }
  for (const point of mountsUnder(record.stateDir)) {
    await run(['umount', '-l', point]);
  }
  for (const name of record.netns) {
    if (existsSync(`/run/netns/${name}`)) await run(['ip', 'netns', 'del', name]);
  }
  // the pod-level cgroups its agents' pods had (the runtime removes only the containers' own)
  await removeCgroupTree(mounts, sandboxCgroupRoot(record.id));
  await removeEmptyCgroup(mounts, sandboxCgroupParent);
  rmSync(record.stateDir, { recursive: true, force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Cleans every bed whose owner is gone; returns the ids it removed. */
async function cleanOrphanedBeds(): Promise<string[]> {
  const removed: string[] = [];
  const recorded = new Set<string>();
  if (existsSync(bedRoot)) {
    for (const id of readdirSync(bedRoot)) {
      if (id.startsWith('.')) continue; // shared caches (built images), not a bed
      const file = join(bedRoot, id, recordFile);
      let record: BedRecord;
      try {
        record = JSON.parse(readFileSync(file, 'utf8')) as BedRecord;
      } catch {
        record = { id, ownerPid: -1, netns: [], stateDir: join(bedRoot, id) };
      }
      if (record.ownerPid > 0 && isAlive(record.ownerPid)) {
        for (const ns of record.netns) recorded.add(ns);
        continue;
      }
      await removeBedLeftovers(record);
      removed.push(id);
    }
  }
  const list = await run(['ip', 'netns', 'list']);
  for (const line of list.stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (bedNetnsPattern.test(name) && !recorded.has(name)) {
      await run(['ip', 'netns', 'del', name]);
      removed.push(name);
    }
  }
  return removed;
}

if (import.meta.main) {
  void cleanOrphanedBeds().then((removed) =>
    process.stdout.write(
      removed.length > 0
        ? `test bed janitor: removed ${removed.join(', ')}\n`
        : 'test bed janitor: nothing left behind\n',
    ),
  );
}
