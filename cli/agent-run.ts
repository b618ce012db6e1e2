/**
 * What `bosun agent` does with its parsed flags: check them, build the agent and run it until
 * SIGTERM or SIGINT. Reached from yargs (cli/agent-command.ts) and from the plain command-line
 * reader (cli/agent-command-line.ts) alike, so both start the same agent from the same arguments.
 */
import { readFileSync } from 'node:fs';
import { logLevelOf } from './verbosity.ts';
import { disableableComponents, type AgentArgs } from './agent-flags.ts';
import { housekeepingConfig } from './agent-housekeeping-flags.ts';
import { shutdownSettings } from './agent-shutdown-flags.ts';
import { CliError, ExitCode } from './exit.ts';
import { parseDurationSeconds } from './duration.ts';
import { cgroupRootProblem } from '../agent/pods/pod-cgroups.ts';
import { bosunVersion } from './version.ts';
import { parseHealthzBindAddress } from '../netproxy/health-server.ts';

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

export async function runAgent(args: AgentArgs): Promise<void> {
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
  const housekeeping = housekeepingConfig(args);
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
}
