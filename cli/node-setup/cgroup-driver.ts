/**
 * The cgroup driver for this host, the one containerd (runc's SystemdCgroup) and the agent must
 * agree on: systemd where systemd runs the machine on the unified cgroup v2 hierarchy, cgroupfs
 * otherwise (cgroup v1 or hybrid hosts, containers without systemd).
 */
export function chooseCgroupDriver(host: { systemdIsInit: boolean; cgroupV2Unified: boolean }): 'systemd' | 'cgroupfs' {
  return host.systemdIsInit && host.cgroupV2Unified ? 'systemd' : 'cgroupfs';
}
