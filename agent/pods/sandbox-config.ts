/**
 * The CRI sandbox config of a pod: identity and attempt, hostname, DNS per dnsPolicy, host
 * ports, log folder, labels, cgroup parent by QoS class, namespaces and the pod's security
 * context. Pure.
 */
import { join } from 'node:path';
import type { DNSConfig, LinuxSandboxSecurityContext, PodSandboxConfig, PortMapping } from '../../cri/types.ts';
import type { Pod, PodQOSClass } from '../../kube/corev1.ts';
import { dnsPolicyOf } from './defaults.ts';
import { requirePathPart } from './path-parts.ts';
import { sandboxLabels } from './cri-labels.ts';
import { qosClassOf } from './qos.ts';
import type { NodePodSettings } from './node-settings.ts';

const maxDnsSearches = 32;
const maxNameservers = 3;

export function podLogDirectory(settings: Pick<NodePodSettings, 'podLogRoot'>, pod: Pod): string {
  const m = pod.metadata;
  // each part must be what the API allows: none may hold '/' or '_' (the separator)
  const namespace = requirePathPart('namespace', m.namespace ?? 'default');
  return join(
    settings.podLogRoot,
    `${namespace}_${requirePathPart('pod name', m.name ?? '')}_${requirePathPart('pod UID', m.uid ?? '')}`,
  );
}

/** The pod's hostname: spec.hostname or the pod name, cut to a DNS label. */
export function podHostname(pod: Pod, clusterDomain: string): string {
  const label = (pod.spec.hostname ?? pod.metadata.name ?? '').slice(0, 63).replace(/[-.]+$/, '');
  if (pod.spec.setHostnameAsFQDN && pod.spec.subdomain) {
    return `${label}.${pod.spec.subdomain}.${pod.metadata.namespace ?? 'default'}.svc.${clusterDomain}`;
  }
  return label;
}

function unique(values: string[]): string[] {
  return [...new Set(values.filter((v) => v !== ''))];
}

export function podDnsConfig(
  pod: Pod,
  settings: Pick<NodePodSettings, 'clusterDNS' | 'clusterDomain' | 'hostDns'>,
): DNSConfig {
  let policy = dnsPolicyOf(pod);
  if (policy === 'ClusterFirst' && pod.spec.hostNetwork) policy = 'Default';
  if ((policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet') && settings.clusterDNS.length === 0)
    policy = 'Default';
  const namespace = pod.metadata.namespace ?? 'default';
  const domain = settings.clusterDomain;
  let servers: string[] = [];
  let searches: string[] = [];
  let options: string[] = [];
  if (policy === 'ClusterFirst' || policy === 'ClusterFirstWithHostNet') {
    servers = [...settings.clusterDNS];
    searches = [`${namespace}.svc.${domain}`, `svc.${domain}`, domain, ...settings.hostDns.searches];
    options = ['ndots:5'];
  } else if (policy === 'Default') {
    servers = [...settings.hostDns.servers];
    searches = [...settings.hostDns.searches];
    options = [...settings.hostDns.options];
  }
  const extra = pod.spec.dnsConfig;
  if (extra !== undefined) {
    servers.push(...(extra.nameservers ?? []));
    searches.push(...(extra.searches ?? []));
    // options merge by name; the pod's own value wins
    const byName = new Map(options.map((o) => [o.split(':')[0]!, o]));
    for (const option of extra.options ?? []) {
      byName.set(option.name, option.value === undefined ? option.name : `${option.name}:${option.value}`);
    }
    options = [...byName.values()];
  }
  return {
    servers: unique(servers).slice(0, maxNameservers),
    searches: unique(searches).slice(0, maxDnsSearches),
    options: unique(options),
  };
}

export function hostPortMappings(pod: Pod): PortMapping[] {
  const mappings: PortMapping[] = [];
  for (const container of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const port of container.ports ?? []) {
      if (!port.hostPort) continue;
      mappings.push({
        protocol: port.protocol ?? 'TCP',
        containerPort: port.containerPort,
        hostPort: port.hostPort,
        ...(port.hostIP ? { hostIp: port.hostIP } : {}),
      });
    }
  }
  return mappings;
}

/** cgroupfs: /kubepods/burstable/pod<uid>; systemd: kubepods-burstable-pod<uid>.slice. */
export function podCgroupParent(
  settings: Pick<NodePodSettings, 'cgroupRoot' | 'cgroupDriver'>,
  uid: string,
  qos: PodQOSClass,
): string | undefined {
  if (settings.cgroupRoot === undefined) return undefined;
  const tier = qos === 'Guaranteed' ? [] : [qos.toLowerCase()];
  if (settings.cgroupDriver === 'systemd') {
    const root = settings.cgroupRoot.replace(/^\/+|\.slice$/g, '') || 'kubepods';
    return `${[root, ...tier, `pod${uid.replaceAll('-', '_')}`].join('-')}.slice`;
  }
  return [settings.cgroupRoot.replace(/\/+$/, ''), ...tier, `pod${uid}`].join('/');
}

export function sandboxSecurityContext(pod: Pod): LinuxSandboxSecurityContext {
  const sc = pod.spec.securityContext ?? {};
  const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  const context: LinuxSandboxSecurityContext = {
    namespaceOptions: {
      network: pod.spec.hostNetwork ? 'NODE' : 'POD',
      pid: pod.spec.hostPID ? 'NODE' : pod.spec.shareProcessNamespace ? 'POD' : 'CONTAINER',
      ipc: pod.spec.hostIPC ? 'NODE' : 'POD',
    },
    privileged: containers.some((c) => c.securityContext?.privileged === true),
  };
  if (sc.runAsUser !== undefined) context.runAsUser = { value: sc.runAsUser };
  if (sc.runAsGroup !== undefined) context.runAsGroup = { value: sc.runAsGroup };
  const groups = [...(sc.supplementalGroups ?? []), ...(sc.fsGroup !== undefined ? [sc.fsGroup] : [])];
  if (groups.length > 0) context.supplementalGroups = groups;
  if (sc.seccompProfile !== undefined) {
    context.seccomp = {
      profileType: sc.seccompProfile.type,
      ...(sc.seccompProfile.localhostProfile ? { localhostRef: sc.seccompProfile.localhostProfile } : {}),
    };
  }
  return context;
}

export function buildSandboxConfig(pod: Pod, attempt: number, settings: NodePodSettings): PodSandboxConfig {
  const m = pod.metadata;
  const qos = qosClassOf(pod.spec);
  const cgroupParent = podCgroupParent(settings, m.uid ?? '', qos);
  const sysctls = Object.fromEntries((pod.spec.securityContext?.sysctls ?? []).map((s) => [s.name, s.value]));
  const config: PodSandboxConfig = {
    metadata: { name: m.name ?? '', namespace: m.namespace ?? 'default', uid: m.uid ?? '', attempt },
    logDirectory: podLogDirectory(settings, pod),
    dnsConfig: podDnsConfig(pod, settings),
    portMappings: hostPortMappings(pod),
    labels: sandboxLabels(pod),
    annotations: { ...m.annotations },
    linux: {
      ...(cgroupParent !== undefined ? { cgroupParent } : {}),
      securityContext: sandboxSecurityContext(pod),
      sysctls,
    },
  };
  if (!pod.spec.hostNetwork) config.hostname = podHostname(pod, settings.clusterDomain);
  return config;
}
