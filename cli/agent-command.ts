/**
 * `bosun agent`: the node agent (kubelet + kube-proxy). Runs in the foreground until SIGTERM or
 * SIGINT, then stops its loops and leaves every container running for the next agent to adopt.
 */
import { readFileSync } from 'node:fs';
import { logLevelOf, logLevelOption, verbosityOption } from './verbosity.ts';
import { hostname } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { defaultConfigFile, withConfigFile } from './config/daemon-config.ts';
import { kubeletConfiguration } from './config/kubelet-configuration.ts';
import { kubeProxyConfiguration } from './config/kube-proxy-configuration.ts';
import { optionTableOfCommand } from './config/option-table.ts';
import { serverCommand } from './server.ts';
import { housekeepingConfig, housekeepingOptions, type HousekeepingArgs } from './agent-housekeeping-flags.ts';
import { shutdownOptions, shutdownSettings, type ShutdownArgs } from './agent-shutdown-flags.ts';
import { CliError, ExitCode } from './exit.ts';
import { listOption } from './list-flag.ts';
import { parseDurationSeconds } from './duration.ts';
import { cgroupRootProblem } from '../agent/pods/pod-cgroups.ts';
import { bosunVersion } from './version.ts';
import { defaultHealthzBindAddress, parseHealthzBindAddress } from '../netproxy/health-server.ts';

interface AgentArgs extends ShutdownArgs {
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
const disableableComponents: readonly string[] = ['ingress'];

const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const isIPv4 = (text: string) => ipv4.test(text) && text.split('.').every((part) => Number(part) <= 255);

/**
 * The agent is long-lived and allocates in bursts (a pod list, 110 pod starts); V8 grows its
 * young generation for such bursts and keeps it. Measured with bench/agent-footprint.ts on this
 * machine: 250 MiB RSS with 110 pods by default, 141 MiB with 1 MiB semi-spaces.
 * The flag only takes effect at process start: bin/bosun and the single executable give it; started
 * any other way, the agent replaces its own process image with one that has it (same PID: a
 * supervisor or a test that signals the PID is not misled).
 */
const youngGenerationFlag = '--max-semi-space-size=1';

function reexecWithSmallYoungGeneration(): void {
  if (process.execve === undefined || process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) return;
  process.execve(
    process.execPath,
    [process.execPath, youngGenerationFlag, ...process.execArgv, ...process.argv.slice(1)],
    process.env,
  );
}

/** --tls-cert-file and --tls-private-key-file: both or neither, both readable. */
function readServingCertificate(
  certFile: string | undefined,
  keyFile: string | undefined,
): { certPem: string; keyPem: string } | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined)
    throw new CliError('--tls-cert-file and --tls-private-key-file go together; give both or neither', ExitCode.usage);
  try {
    return { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
  } catch (err) {
    throw new CliError(`cannot read the kubelet serving certificate: ${(err as Error).message}`, ExitCode.usage);
  }
}

/** `--config` (flags as keys, or a KubeletConfiguration) and `--proxy-config` (a KubeProxyConfiguration). */
function agentConfigFiles<T>(y: Argv<T>): Argv<T> {
  const elsewhere = () =>
    new Set(optionTableOfCommand(serverCommand as unknown as CommandModule<object, never>).keys());
  const withConfig = withConfigFile(
    y,
    'config',
    `YAML file of agent flags as keys (flags given here win), shared with bosun server (its keys are skipped); or a KubeletConfiguration (kubelet.config.k8s.io/v1beta1)`,
    {
      command: 'bosun agent',
      elsewhere,
      kinds: [kubeletConfiguration],
      optionalPath: defaultConfigFile,
      flagsAsKeys: true,
    },
  );
  return withConfigFile(
    withConfig,
    'proxy-config',
    'A KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1) file',
    {
      command: 'bosun agent',
      elsewhere,
      kinds: [kubeProxyConfiguration],
      flagsAsKeys: false,
    },
  );
}

export const agentCommand: CommandModule<object, AgentArgs> = {
  command: 'agent',
  describe: 'Run the node agent: register the node, run its pods on containerd, program service rules',
  builder: (y) =>
    agentConfigFiles(
      shutdownOptions(housekeepingOptions(y))
        .option('kubeconfig', {
          type: 'string',
          default: '/etc/bosun/agent.kubeconfig',
          describe: 'How to reach and authenticate to the API server',
        })
        .option(
          'server',
          listOption(
            "More API servers besides the kubeconfig's (https://host:port): the agent fails over between them, and the ones the cluster advertises, through a loopback balancer",
          ),
        )
        .option('node-name', { type: 'string', default: hostname(), describe: 'Name of this node in the cluster' })
        .option('node-ip', {
          type: 'string',
          describe: "The node's InternalIP (default: the address of the default route's interface)",
        })
        .option('container-runtime-endpoint', {
          type: 'string',
          default: 'unix:///run/containerd/containerd.sock',
          describe: 'CRI endpoint of containerd',
        })
        .option('pod-infra-image', {
          type: 'string',
          default: 'localhost/bosun/pause:3.10',
          describe: 'The sandbox (pause) image; checked at start, never removed',
        })
        .option('pod-log-dir', {
          type: 'string',
          default: '/var/log/pods',
          describe: 'Where container logs go (<ns>_<pod>_<uid>/<container>/N.log)',
        })
        .option('root-dir', {
          type: 'string',
          default: '/var/lib/bosun/agent',
          describe: "The agent's state (pod volumes); its filesystem is the node's nodefs",
        })
        .option(
          'allowed-host-paths',
          listOption(
            'Host path prefixes that hostPath volumes may use (default: none); a prefix ending in :ro may only be mounted with readOnly: true (e.g. /var/log:ro,/data); / (the whole node, for kubectl debug node/) only when listed itself; the agent state folder never',
          ),
        )
        .option('local-path-root', {
          type: 'string',
          describe:
            'Where the built-in local-path provisioner (StorageClass local-path) keeps volume folders, one per PersistentVolume (default: <root-dir>/storage)',
        })
        .option('cluster-dns', listOption('DNS server addresses pods with dnsPolicy ClusterFirst use', ['10.96.0.10']))
        .option('cluster-domain', { type: 'string', default: 'cluster.local', describe: "The cluster's DNS domain" })
        .option('cluster-cidr', {
          type: 'string',
          describe:
            "Pod addresses of the whole cluster: routed between nodes, not masqueraded among themselves; traffic from outside it to a ClusterIP is masqueraded (default: the pod network learns it from the bosun.io/cluster-cidr annotation the control plane puts on this node's Node)",
        })
        .option('pod-network-backend', {
          type: 'string',
          choices: ['auto', 'host-gw', 'vxlan', 'none'],
          default: 'auto',
          describe:
            "How pods reach other nodes' pods: host-gw (a route per peer on the same segment), vxlan (bosun.1, VNI 1, UDP 8472), auto (host-gw per peer where it shares a segment, else vxlan), none (bring your own CNI)",
        })
        .option('cni-conf-dir', {
          type: 'string',
          default: '/etc/cni/net.d',
          describe: "Where the agent writes the node's CNI conflist (containerd's CNI conf_dir)",
        })
        .option('cni-data-dir', {
          type: 'string',
          default: '/var/lib/cni/networks',
          describe: 'Where the CNI host-local plugin keeps the pod addresses it handed out',
        })
        .option('service-cidr', {
          type: 'string',
          default: '10.96.0.0/12',
          describe: 'Service ClusterIP range: pod traffic to it is never masqueraded by the pod network',
        })
        .option('node-labels', listOption('Labels to add when registering, key=value'))
        .option('register-with-taints', listOption('Taints to register the node with, key=value:Effect'))
        .option('max-pods', { type: 'number', default: 110, describe: 'Pods this node can run' })
        .option('system-reserved', listOption('Resources kept for the OS, e.g. cpu=100m,memory=256Mi'))
        .option('kube-reserved', listOption('Resources kept for the agent and runtime, e.g. cpu=100m,memory=256Mi'))
        .option('healthz-port', { type: 'number', default: 10248, describe: 'Port of /healthz on 127.0.0.1 (0: none)' })
        .option('address', {
          type: 'string',
          default: '0.0.0.0',
          describe: 'Address of the kubelet port (logs, exec, port-forward, stats)',
        })
        .option('port', {
          type: 'number',
          default: 10250,
          describe: 'The kubelet port: HTTPS, client certificates only, each request authorized (0: none)',
        })
        .option('tls-cert-file', {
          type: 'string',
          describe: 'Serving certificate of the kubelet port (PEM); default: requested from the cluster through a CSR',
        })
        .option('tls-private-key-file', { type: 'string', describe: 'Its private key (PEM), with --tls-cert-file' })
        .option('proxy-mode', {
          type: 'string',
          choices: ['iptables', 'ipvs', 'nftables', 'none'],
          default: 'iptables',
          describe: 'How Services are programmed; none leaves it to something else',
        })
        .option('disable-network-policy', {
          type: 'boolean',
          default: false,
          describe:
            "Leave NetworkPolicy to something else (as k3s' --disable-network-policy); by default the agent enforces it for this node's pods",
        })
        .option(
          'disable',
          listOption(
            `Built-in components not to run on this node, as k3s' --disable: ${disableableComponents.join(', ')} (the ingress proxy of the bosun IngressClass)`,
          ),
        )
        .option('ingress-http-port', {
          type: 'number',
          default: 80,
          describe: "The ingress proxy's HTTP port on every address of the node (0: none)",
        })
        .option('ingress-https-port', {
          type: 'number',
          default: 443,
          describe:
            "The ingress proxy's HTTPS port (TLS by SNI from the Ingresses' secrets, HTTP/2 and HTTP/1.1; 0: none)",
        })
        .option('proxy-healthz-bind-address', {
          type: 'string',
          default: defaultHealthzBindAddress,
          describe:
            "Where the proxy serves /healthz and /metrics, as kube-proxy's --healthz-bind-address (IP:port; empty: nowhere)",
        })
        .option('cluster-dns-serve', {
          type: 'boolean',
          default: true,
          describe:
            "Serve cluster DNS on the node IP, port 53, for this node's pods (--no-cluster-dns-serve when another DNS serves the cluster DNS address)",
        })
        .option('resolv-conf', {
          type: 'string',
          default: '/etc/resolv.conf',
          describe:
            "Resolver file for names outside the cluster and for dnsPolicy Default pods (as the kubelet's --resolv-conf)",
        })
        .option('cgroup-driver', {
          type: 'string',
          choices: ['auto', 'cgroupfs', 'systemd'],
          default: 'auto',
          describe:
            "Must match containerd's (SystemdCgroup in its runc options); auto asks the runtime, else systemd on cgroup v2 hosts booted with systemd, cgroupfs otherwise",
        })
        .option('cgroups-per-qos', {
          type: 'boolean',
          default: true,
          describe: 'Put pods under <cgroup-root>/kubepods/<qos class>/pod<uid>, as the kubelet does',
        })
        .option('cgroup-root', {
          type: 'string',
          default: '/',
          describe: 'The cgroup under which the kubepods hierarchy is made',
        })
        .option('pod-manifest-path', {
          type: 'string',
          default: '/etc/bosun/manifests',
          describe: "Folder of static pod manifests, run without the API and mirrored into it ('' for none)",
        })
        .option('file-check-frequency', {
          type: 'string',
          default: '20s',
          describe: 'How often the manifest folder is read again besides watching it',
        })
        .option('log-level', logLevelOption('info'))
        .option('v', verbosityOption),
    ),
  handler: async (args) => {
    reexecWithSmallYoungGeneration();
    const [{ Agent }, { AgentStartError }, flags, { pino }, { installProcessGuard }] = await Promise.all([
      import('../agent/agent.ts'),
      import('../agent/errors.ts'),
      import('../agent/node/node-flags.ts'),
      import('pino'),
      import('../agent/process-guard.ts'),
    ]);
    let labels, taints, reserved;
    try {
      labels = flags.parseNodeLabels(args['node-labels'].join(','));
      taints = flags.parseTaints(args['register-with-taints'].join(','));
      reserved = flags.addReserved(
        flags.parseReserved('system-reserved', args['system-reserved'].join(',')),
        flags.parseReserved('kube-reserved', args['kube-reserved'].join(',')),
      );
    } catch (err) {
      throw new CliError((err as Error).message, ExitCode.usage);
    }
    const nodeIP = args['node-ip'];
    if (nodeIP !== undefined && !isIPv4(nodeIP))
      throw new CliError(`--node-ip ${nodeIP} is not an IPv4 address`, ExitCode.usage);
    for (const flag of ['cluster-cidr', 'service-cidr'] as const) {
      const cidr = args[flag];
      if (cidr !== undefined && !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(cidr))
        throw new CliError(`--${flag} ${cidr} is not an IPv4 CIDR`, ExitCode.usage);
    }
    const clusterDNS = args['cluster-dns'];
    const badDns = clusterDNS.find((s) => !isIPv4(s));
    if (badDns !== undefined) throw new CliError(`--cluster-dns ${badDns} is not an IPv4 address`, ExitCode.usage);
    const port = args['healthz-port'];
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new CliError(`--healthz-port ${port} is not a port`, ExitCode.usage);
    if (args['node-name'] === '' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(args['node-name'])) {
      throw new CliError(
        `--node-name '${args['node-name']}' is not a valid node name (lower case letters, digits, '-' and '.')`,
        ExitCode.usage,
      );
    }
    // the same rule as bosun reset --cgroup-root: the root is joined below every cgroup mount
    const cgroupProblem = cgroupRootProblem(args['cgroup-root']);
    if (cgroupProblem !== undefined)
      throw new CliError(`--cgroup-root ${JSON.stringify(args['cgroup-root'])} ${cgroupProblem}`, ExitCode.usage);
    const kubeletPort = args.port;
    if (!Number.isInteger(kubeletPort) || kubeletPort < 0 || kubeletPort > 65535)
      throw new CliError(`--port ${kubeletPort} is not a port`, ExitCode.usage);
    if (args.address !== '0.0.0.0' && !isIPv4(args.address))
      throw new CliError(`--address ${args.address} is not an IPv4 address`, ExitCode.usage);
    const unknownComponent = args.disable.find((c) => !disableableComponents.includes(c));
    if (unknownComponent !== undefined)
      throw new CliError(
        `--disable ${unknownComponent}: not a component of the agent (known: ${disableableComponents.join(', ')})`,
        ExitCode.usage,
      );
    for (const flag of ['ingress-http-port', 'ingress-https-port'] as const) {
      const value = args[flag];
      if (!Number.isInteger(value) || value < 0 || value > 65535)
        throw new CliError(`--${flag} ${value} is not a port`, ExitCode.usage);
    }
    const proxyHealthz = parseHealthzBindAddress(args['proxy-healthz-bind-address']);
    if (proxyHealthz !== undefined && 'error' in proxyHealthz)
      throw new CliError(`--proxy-healthz-bind-address ${proxyHealthz.error}`, ExitCode.usage);
    const fileCheckSeconds = parseDurationSeconds(args['file-check-frequency']);
    if (fileCheckSeconds === undefined || fileCheckSeconds <= 0)
      throw new CliError(
        `--file-check-frequency ${args['file-check-frequency']} is not a duration such as 20s or 1m`,
        ExitCode.usage,
      );
    const servingCertificate = readServingCertificate(args['tls-cert-file'], args['tls-private-key-file']);
    const housekeeping = housekeepingConfig(args as unknown as HousekeepingArgs);
    const shutdown = shutdownSettings(args);
    const allowedHostPaths = (await import('../agent/pods/volumes.ts')).parseAllowedHostPaths(
      args['allowed-host-paths'].join(','),
    );
    const log = pino({ level: logLevelOf(args, 'info'), base: { component: 'agent', node: args['node-name'] } });
    const badServer = args.server.find((url) => !/^https:\/\/[^/\s]+$/.test(url.replace(/\/$/, '')));
    if (badServer !== undefined)
      throw new CliError(`--server ${badServer} is not an https://host:port URL of an API server`, ExitCode.usage);
    const agent = new Agent({
      kubeconfig: args.kubeconfig,
      ...(args.server.length > 0 ? { servers: args.server.map((url) => new URL(url).origin) } : {}),
      nodeName: args['node-name'],
      nodeIP,
      runtimeEndpoint: args['container-runtime-endpoint'],
      podInfraImage: args['pod-infra-image'],
      podLogDir: args['pod-log-dir'],
      rootDir: args['root-dir'],
      ...(args['local-path-root'] !== undefined ? { localPathRoot: args['local-path-root'] } : {}),
      allowedHostPaths: allowedHostPaths.allowed,
      readOnlyHostPaths: allowedHostPaths.readOnly,
      clusterDNS,
      clusterDomain: args['cluster-domain'],
      clusterCIDR: args['cluster-cidr'],
      ...(args['pod-network-backend'] === 'none'
        ? {}
        : {
            podNetwork: {
              backend: args['pod-network-backend'] as 'auto' | 'host-gw' | 'vxlan',
              cniConfDir: args['cni-conf-dir'],
              cniDataDir: args['cni-data-dir'],
              cniNetworkName: 'bosun',
              serviceCIDR: args['service-cidr'],
            },
          }),
      nodeLabels: labels,
      registerTaints: taints,
      maxPods: args['max-pods'],
      reserved,
      healthzAddress: '127.0.0.1',
      healthzPort: port,
      kubeletAddress: args.address,
      kubeletPort,
      kubeletServingCertificate: servingCertificate,
      proxyMode: args['proxy-mode'] as 'iptables' | 'ipvs' | 'nftables' | 'none',
      networkPolicy: !args['disable-network-policy'],
      ...(args.disable.includes('ingress')
        ? {}
        : { ingress: { httpPort: args['ingress-http-port'], httpsPort: args['ingress-https-port'] } }),
      ...(proxyHealthz !== undefined ? { proxyHealthz } : {}),
      dnsServe: args['cluster-dns-serve'],
      resolvConf: args['resolv-conf'],
      dnsPort: 53,
      cgroupDriver: args['cgroup-driver'] as 'cgroupfs' | 'systemd' | 'auto',
      cgroupsPerQOS: args['cgroups-per-qos'],
      cgroupRoot: args['cgroup-root'],
      version: `v${bosunVersion}`,
      housekeeping,
      shutdownGracePeriodSeconds: shutdown.gracePeriodSeconds,
      podManifestPath: args['pod-manifest-path'],
      fileCheckFrequencyMs: fileCheckSeconds * 1000,
      shutdownGracePeriodCriticalPodsSeconds: shutdown.criticalGracePeriodSeconds,
      log,
    });
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    const guard = installProcessGuard(log);
    try {
      await agent.run(abort.signal);
    } catch (err) {
      if (err instanceof AgentStartError) throw new CliError(err.message);
      throw new CliError(`agent failed: ${(err as Error).message}`);
    } finally {
      guard.uninstall();
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    }
  },
};
