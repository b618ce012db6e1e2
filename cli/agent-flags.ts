/**
 * The flags of `bosun agent`, as data: yargs builds the command's parser and help from these records
 * (cli/agent-command.ts), and the plain command lines that systemd and join run are read with the
 * same records without yargs (cli/agent-command-line.ts), so the two cannot disagree on a name,
 * kind or default.
 */
import { hostname } from 'node:os';
import type { Options } from 'yargs';
import { defaultHealthzBindAddress } from '../netproxy/health-server.ts';
import { housekeepingFlags, type HousekeepingArgs } from './agent-housekeeping-flags.ts';
import { shutdownFlags, type ShutdownArgs } from './agent-shutdown-flags.ts';
import { defaultConfigFile } from './config/daemon-config.ts';
import { kubeletConfiguration } from './config/kubelet-configuration.ts';
import { kubeProxyConfiguration } from './config/kube-proxy-configuration.ts';
import type { DocumentSchema } from './config/upstream-document.ts';
import { listOption } from './list-flag.ts';
import { logLevelOption, verbosityOption } from './verbosity.ts';

/** What the agent's handler reads: every flag under its own name. */
export interface AgentArgs extends ShutdownArgs, HousekeepingArgs {
  kubeconfig: string;
  server: string[];
  'node-name': string;
  'node-ip': string | undefined;
  'container-runtime-endpoint': string;
  'pod-infra-image': string;
  'pod-log-dir': string;
  'root-dir': string;
  'allowed-host-paths': string[];
  'local-path-root': string | undefined;
  'cluster-dns': string[];
  'cluster-domain': string;
  'cluster-cidr': string | undefined;
  'pod-network-backend': string;
  'cni-conf-dir': string;
  'cni-data-dir': string;
  'service-cidr': string;
  'node-labels': string[];
  'register-with-taints': string[];
  'max-pods': number;
  'system-reserved': string[];
  'kube-reserved': string[];
  'healthz-port': number;
  address: string;
  port: number;
  'tls-cert-file': string | undefined;
  'tls-private-key-file': string | undefined;
  'proxy-mode': string;
  'disable-network-policy': boolean;
  disable: string[];
  'ingress-http-port': number;
  'ingress-https-port': number;
  'proxy-healthz-bind-address': string;
  'cluster-dns-serve': boolean;
  'resolv-conf': string;
  'pod-manifest-path': string;
  'file-check-frequency': string;
  'cgroup-driver': string;
  'cgroups-per-qos': boolean;
  'cgroup-root': string;
  'log-level'?: string | undefined;
  v?: number | undefined;
}

/** What --disable may name. */
export const disableableComponents: readonly string[] = ['ingress'];

/** The agent's own flags, in the order `bosun agent --help` lists them after the housekeeping and shutdown flags. */
const ownFlags = {
  kubeconfig: {
    type: 'string',
    default: '/etc/bosun/agent.kubeconfig',
    describe: 'How to reach and authenticate to the API server',
  },
  server: listOption(
    "More API servers besides the kubeconfig's (https://host:port): the agent fails over between them, and the ones the cluster advertises, through a loopback balancer",
  ),
  'node-name': { type: 'string', default: hostname(), describe: 'Name of this node in the cluster' },
  'node-ip': {
    type: 'string',
    describe: "The node's InternalIP (default: the address of the default route's interface)",
  },
  'container-runtime-endpoint': {
    type: 'string',
    default: 'unix:///run/containerd/containerd.sock',
    describe: 'CRI endpoint of containerd',
  },
  'pod-infra-image': {
    type: 'string',
    default: 'localhost/bosun/pause:3.10',
    describe: 'The sandbox (pause) image; checked at start, never removed',
  },
  'pod-log-dir': {
    type: 'string',
    default: '/var/log/pods',
    describe: 'Where container logs go (<ns>_<pod>_<uid>/<container>/N.log)',
  },
  'root-dir': {
    type: 'string',
    default: '/var/lib/bosun/agent',
    describe: "The agent's state (pod volumes); its filesystem is the node's nodefs",
  },
  'allowed-host-paths': listOption(
    'Host path prefixes that hostPath volumes may use (default: none); a prefix ending in :ro may only be mounted with readOnly: true (e.g. /var/log:ro,/data); / (the whole node, for kubectl debug node/) only when listed itself; the agent state folder never',
  ),
  'local-path-root': {
    type: 'string',
    describe:
      'Where the built-in local-path provisioner (StorageClass local-path) keeps volume folders, one per PersistentVolume (default: <root-dir>/storage)',
  },
  'cluster-dns': listOption('DNS server addresses pods with dnsPolicy ClusterFirst use', ['10.96.0.10']),
  'cluster-domain': { type: 'string', default: 'cluster.local', describe: "The cluster's DNS domain" },
  'cluster-cidr': {
    type: 'string',
    describe:
      "Pod addresses of the whole cluster: routed between nodes, not masqueraded among themselves; traffic from outside it to a ClusterIP is masqueraded (default: the pod network learns it from the bosun.io/cluster-cidr annotation the control plane puts on this node's Node)",
  },
  'pod-network-backend': {
    type: 'string',
    choices: ['auto', 'host-gw', 'vxlan', 'none'],
    default: 'auto',
    describe:
      "How pods reach other nodes' pods: host-gw (a route per peer on the same segment), vxlan (bosun.1, VNI 1, UDP 8472), auto (host-gw per peer where it shares a segment, else vxlan), none (bring your own CNI)",
  },
  'cni-conf-dir': {
    type: 'string',
    default: '/etc/cni/net.d',
    describe: "Where the agent writes the node's CNI conflist (containerd's CNI conf_dir)",
  },
  'cni-data-dir': {
    type: 'string',
    default: '/var/lib/cni/networks',
    describe: 'Where the CNI host-local plugin keeps the pod addresses it handed out',
  },
  'service-cidr': {
    type: 'string',
    default: '10.96.0.0/12',
    describe: 'Service ClusterIP range: pod traffic to it is never masqueraded by the pod network',
  },
  'node-labels': listOption('Labels to add when registering, key=value'),
  'register-with-taints': listOption('Taints to register the node with, key=value:Effect'),
  'max-pods': { type: 'number', default: 110, describe: 'Pods this node can run' },
  'system-reserved': listOption('Resources kept for the OS, e.g. cpu=100m,memory=256Mi'),
  'kube-reserved': listOption('Resources kept for the agent and runtime, e.g. cpu=100m,memory=256Mi'),
  'healthz-port': { type: 'number', default: 10248, describe: 'Port of /healthz on 127.0.0.1 (0: none)' },
  address: {
    type: 'string',
    default: '0.0.0.0',
    describe: 'Address of the kubelet port (logs, exec, port-forward, stats)',
  },
  port: {
    type: 'number',
    default: 10250,
    describe: 'The kubelet port: HTTPS, client certificates only, each request authorized (0: none)',
  },
  'tls-cert-file': {
    type: 'string',
    describe: 'Serving certificate of the kubelet port (PEM); default: requested from the cluster through a CSR',
  },
  'tls-private-key-file': { type: 'string', describe: 'Its private key (PEM), with --tls-cert-file' },
  'proxy-mode': {
    type: 'string',
    choices: ['iptables', 'ipvs', 'nftables', 'none'],
    default: 'iptables',
    describe: 'How Services are programmed; none leaves it to something else',
  },
  'disable-network-policy': {
    type: 'boolean',
    default: false,
    describe:
      "Leave NetworkPolicy to something else (as k3s' --disable-network-policy); by default the agent enforces it for this node's pods",
  },
  disable: listOption(
    `Built-in components not to run on this node, as k3s' --disable: ${disableableComponents.join(', ')} (the ingress proxy of the bosun IngressClass)`,
  ),
  'ingress-http-port': {
    type: 'number',
    default: 80,
    describe: "The ingress proxy's HTTP port on every address of the node (0: none)",
  },
  'ingress-https-port': {
    type: 'number',
    default: 443,
    describe: "The ingress proxy's HTTPS port (TLS by SNI from the Ingresses' secrets, HTTP/2 and HTTP/1.1; 0: none)",
  },
  'proxy-healthz-bind-address': {
    type: 'string',
    default: defaultHealthzBindAddress,
    describe:
      "Where the proxy serves /healthz and /metrics, as kube-proxy's --healthz-bind-address (IP:port; empty: nowhere)",
  },
  'cluster-dns-serve': {
    type: 'boolean',
    default: true,
    describe:
      "Serve cluster DNS on the node IP, port 53, for this node's pods (--no-cluster-dns-serve when another DNS serves the cluster DNS address)",
  },
  'resolv-conf': {
    type: 'string',
    default: '/etc/resolv.conf',
    describe:
      "Resolver file for names outside the cluster and for dnsPolicy Default pods (as the kubelet's --resolv-conf)",
  },
  'cgroup-driver': {
    type: 'string',
    choices: ['auto', 'cgroupfs', 'systemd'],
    default: 'auto',
    describe:
      "Must match containerd's (SystemdCgroup in its runc options); auto asks the runtime, else systemd on cgroup v2 hosts booted with systemd, cgroupfs otherwise",
  },
  'cgroups-per-qos': {
    type: 'boolean',
    default: true,
    describe: 'Put pods under <cgroup-root>/kubepods/<qos class>/pod<uid>, as the kubelet does',
  },
  'cgroup-root': {
    type: 'string',
    default: '/',
    describe: 'The cgroup under which the kubepods hierarchy is made',
  },
  'pod-manifest-path': {
    type: 'string',
    default: '/etc/bosun/manifests',
    describe: "Folder of static pod manifests, run without the API and mirrored into it ('' for none)",
  },
  'file-check-frequency': {
    type: 'string',
    default: '20s',
    describe: 'How often the manifest folder is read again besides watching it',
  },
  'log-level': logLevelOption('info'),
  v: verbosityOption,
} as const satisfies Record<string, Options>;

/** Every flag of `bosun agent` but its config files, in the order the builder declares them. */
export const agentFlags = {
  ...housekeepingFlags,
  ...shutdownFlags,
  ...ownFlags,
} as const satisfies Record<string, Options>;

/** A config-file flag: `--config FILE` read under the command line (cli/config/daemon-config.ts). */
interface ConfigFileFlag {
  readonly describe: string;
  readonly kinds: readonly DocumentSchema[];
  readonly flagsAsKeys: boolean;
  /** A missing file at this path is no error (the default location). */
  readonly optionalPath?: string;
}

/** `--config` (flags as keys, or a KubeletConfiguration) and `--proxy-config` (a KubeProxyConfiguration), read in this order. */
export const agentConfigFileFlags = {
  config: {
    describe:
      'YAML file of agent flags as keys (flags given here win), shared with bosun server (its keys are skipped); or a KubeletConfiguration (kubelet.config.k8s.io/v1beta1)',
    kinds: [kubeletConfiguration],
    optionalPath: defaultConfigFile,
    flagsAsKeys: true,
  },
  'proxy-config': {
    describe: 'A KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) file',
    kinds: [kubeProxyConfiguration],
    flagsAsKeys: false,
  },
} as const satisfies Record<'config' | 'proxy-config', ConfigFileFlag>;
