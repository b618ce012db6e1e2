/**
 * Baseline checks on what a pod shares with its node: Windows HostProcess, host namespaces,
 * host ports and sysctls beyond the set that is namespaced per pod.
 */
import {
  containerList,
  containersWhere,
  pluralize,
  setters,
  sortedSet,
  type PodMetaView,
  type PodSpecView,
  type Violation,
} from './pod-view.ts';

export function hostProcess(_meta: PodMetaView, spec: PodSpecView): Violation | undefined {
  const pod = spec.securityContext?.windowsOptions?.hostProcess === true;
  const containers = containersWhere(spec, (c) => c.securityContext?.windowsOptions?.hostProcess === true);
  if (!pod && containers.length === 0) return undefined;
  return {
    reason: 'hostProcess',
    detail: `${setters(pod, containers)} must not set securityContext.windowsOptions.hostProcess=true`,
  };
}

export function hostNamespaces(_meta: PodMetaView, spec: PodSpecView): Violation | undefined {
  const shared = (['hostNetwork', 'hostPID', 'hostIPC'] as const)
    .filter((field) => spec[field] === true)
    .map((field) => `${field}=true`);
  if (shared.length === 0) return undefined;
  return { reason: 'host namespaces', detail: sortedSet(shared).join(', ') };
}

export function hostPorts(_meta: PodMetaView, spec: PodSpecView): Violation | undefined {
  const ports: string[] = [];
  const containers = containersWhere(spec, (c) => {
    const used = (c.ports ?? [])
      .filter((p) => p.hostPort !== undefined && p.hostPort !== 0)
      .map((p) => String(p.hostPort));
    ports.push(...used);
    return used.length > 0;
  });
  if (containers.length === 0) return undefined;
  const listed = sortedSet(ports);
  return {
    reason: 'hostPort',
    detail: `${containerList(containers)} ${pluralize('uses', 'use', containers.length)} ${pluralize('hostPort', 'hostPorts', listed.length)} ${listed.join(', ')}`,
  };
}

/** Sysctls that are namespaced per pod and isolated from the node and other pods, by the version that allowed them. */
const safeSysctls: readonly { since: number; names: readonly string[] }[] = [
  {
    since: 0,
    names: [
      'kernel.shm_rmid_forced',
      'net.ipv4.ip_local_port_range',
      'net.ipv4.tcp_syncookies',
      'net.ipv4.ping_group_range',
      'net.ipv4.ip_unprivileged_port_start',
    ],
  },
  { since: 27, names: ['net.ipv4.ip_local_reserved_ports'] },
  {
    since: 29,
    names: [
      'net.ipv4.tcp_keepalive_time',
      'net.ipv4.tcp_fin_timeout',
      'net.ipv4.tcp_keepalive_intvl',
      'net.ipv4.tcp_keepalive_probes',
    ],
  },
  { since: 32, names: ['net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem'] },
];

/** The sysctls check as of a minor version of the standard. */
export function sysctlsAsOf(minor: number): (meta: PodMetaView, spec: PodSpecView) => Violation | undefined {
  const allowed = new Set(safeSysctls.filter((s) => s.since <= minor).flatMap((s) => s.names));
  return (_meta, spec) => {
    const forbidden = (spec.securityContext?.sysctls ?? [])
      .map((s) => s.name ?? '')
      .filter((name) => !allowed.has(name));
    return forbidden.length === 0 ? undefined : { reason: 'forbidden sysctls', detail: forbidden.join(', ') };
  };
}
