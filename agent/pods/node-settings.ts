/**
 * What the pod machinery needs to know about its node, gathered once at agent start and passed
 * to every pod worker.
 */
interface HostDns {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface NodePodSettings {
  nodeName: string;
  nodeIP: string;
  /** Root of the per-pod log folders (the kubelet's /var/log/pods). */
  podLogRoot: string;
  /** Root of per-pod state: emptyDir volumes, termination message files. */
  podsDir: string;
  /** Cluster DNS server addresses (10.96.0.10). Empty: pods use the node's resolver. */
  clusterDNS: string[];
  clusterDomain: string;
  /** The node's own resolver settings, for dnsPolicy Default. */
  hostDns: HostDns;
  /** Root cgroup for pods ('/kubepods'); undefined leaves the cgroup parent to the runtime. */
  cgroupRoot: string | undefined;
  cgroupDriver: 'cgroupfs' | 'systemd';
  /** Prefix of container IDs in the API ('containerd'). */
  runtimeName: string;
  /** Allocatable CPU (millicores) and memory (bytes): resourceFieldRef values for unset limits, and OOM scores. */
  allocatable: { cpuMilli: number; memoryBytes: number };
  /** Host paths a hostPath volume may use; empty allows none. */
  hostPathAllowList: string[];
  /** Allowed prefixes that hostPath mounts may use only read-only (`--allowed-host-paths /x:ro`). */
  hostPathReadOnlyList?: string[];
  /** The agent's own state folder: never mountable as a hostPath. Default: the parent of podsDir. */
  rootDir?: string;
  /** Where the local-path provisioner keeps volume folders (--local-path-root). Default: <rootDir>/storage. */
  localPathRoot?: string;
}

export const defaultClusterDNS = '10.96.0.10';

/** Reads nameserver/search/options lines of a resolv.conf text. */
export function parseResolvConf(text: string): HostDns {
  const dns: HostDns = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [keyword, ...values] = line.split(/\s+/);
    if (keyword === 'nameserver' && values[0]) dns.servers.push(values[0]);
    else if (keyword === 'search' || keyword === 'domain') dns.searches = values;
    else if (keyword === 'options') dns.options.push(...values);
  }
  return dns;
}
