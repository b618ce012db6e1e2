/**
 * Which cgroup driver the agent uses. It must be the runtime's (containerd's SystemdCgroup runc
 * option): pods whose cgroup parent is in the other driver's form fail to start. As the kubelet
 * does since 1.28, ask the runtime first (CRI RuntimeConfig); containerd before 2.0 does not answer
 * that, and then the host decides the way install.sh configures containerd: systemd on a
 * cgroup v2 host whose PID 1 is systemd, cgroupfs otherwise.
 */
import { readFile, stat } from 'node:fs/promises';
import type { CgroupDriver } from '../../cri/types.ts';

export type CgroupDriverName = 'cgroupfs' | 'systemd';

export interface CgroupDriverClues {
  /** What CRI RuntimeConfig said; undefined when the runtime does not implement it. */
  fromRuntime: CgroupDriver | undefined;
  /** /sys/fs/cgroup is a cgroup2 mount (unified hierarchy). */
  unifiedHierarchy: boolean;
  /** PID 1 is systemd (/run/systemd/system exists, as sd_booted checks). */
  systemdBooted: boolean;
}

export function chooseCgroupDriver(clues: CgroupDriverClues): { driver: CgroupDriverName; why: string } {
  if (clues.fromRuntime === 'SYSTEMD') return { driver: 'systemd', why: 'the runtime reports the systemd driver' };
  if (clues.fromRuntime === 'CGROUPFS') return { driver: 'cgroupfs', why: 'the runtime reports the cgroupfs driver' };
  if (clues.unifiedHierarchy && clues.systemdBooted)
    return { driver: 'systemd', why: 'cgroup v2 host booted with systemd' };
  return { driver: 'cgroupfs', why: clues.systemdBooted ? 'cgroup v1 host' : 'systemd is not PID 1' };
}

export async function hostCgroupClues(): Promise<Omit<CgroupDriverClues, 'fromRuntime'>> {
  const mounts = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
  const unifiedHierarchy = mounts.split('\n').some((line) => {
    const [, mountPoint, fsType] = line.split(' ');
    return mountPoint === '/sys/fs/cgroup' && fsType === 'cgroup2';
  });
  const systemdBooted = await stat('/run/systemd/system').then(
    (s) => s.isDirectory(),
    () => false,
  );
  return { unifiedHierarchy, systemdBooted };
}
