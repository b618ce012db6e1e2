/**
 * `bosun agent` as one linear script:
 *
 *   validate -> runtime -> pods from files (PodManager, adopted containers, static pods: nothing
 *   here needs the API) -> API -> node -> lease + node status -> pods from the API (informer on
 *   spec.nodeName=<node>, garbage collection after the first list, mirror pods) -> services
 *   (proxy, DNS) -> healthz -> ready -> wait for the signal -> graceful stop
 *
 * Each step's failure names the step and what to do. Stopping (the signal aborts) ends the loops
 * and closes the connections but leaves every container running: they belong to containerd, and
 * the next agent re-adopts them by their CRI labels. Nothing the agent needs is kept only in its
 * memory, so SIGKILL at any point is safe too.
 *
 * Lifecycle: the constructor does nothing; run(signal) starts everything, resolves `ready` once
 * the node is registered and the first pod list is in, and returns after the signal aborted and
 * everything stopped.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { CriClient } from '../cri/client.ts';
import type { CriRuntime } from '../cri/runtime.ts';
import { KubeClient } from '../kube/client.ts';
import type { Pod, Taint } from '../kube/corev1.ts';
import { isApiError } from '../kube/errors.ts';
import { apiListWatch, Informer } from '../kube/informer.ts';
import { KubeconfigError } from '../kube/errors.ts';
import { loadKubeconfig, type LoadedKubeconfig } from '../kube/kubeconfig.ts';
import { balanceApiServers, type BalancedApi } from './api-servers.ts';
import { refs } from '../kube/resource-ref.ts';
import { resourceAmount } from '../kube/quantity.ts';
import { ProcessRunner, type CommandRunner } from '../netproxy/command-runner.ts';
import { defaultProxyConfig } from '../netproxy/iptables-renderer.ts';
import { ServiceProxy } from '../netproxy/service-proxy.ts';
import { IngressProxy } from './ingress/ingress-proxy.ts';
import { ingressProxyAnnotation } from '../kube/networkingv1.ts';
import { NetworkPolicyEnforcer } from './network-policy/enforcer.ts';
import { createProxyHealthServer, serveProxyHealth, type BindAddress } from '../netproxy/health-server.ts';
import { AgentStartError } from './errors.ts';
import { systemClock, type Clock } from '../kube/clock.ts';
import { ClusterServices } from './cluster-services.ts';
import { LoadBalancerAddressBinder } from './load-balancer/address-binder.ts';
import { ServiceHealthServers } from '../netproxy/service-health.ts';
import { readHostUpstreams } from './dns/forward.ts';
import { DnsServer } from './dns/server.ts';
import { EventRecorder } from './events/event-recorder.ts';
import { kubeEventSink } from './events/kube-event-sink.ts';
import { podEvents } from './events/pod-events.ts';
import { reportProxyRefusal } from './events/service-events.ts';
import { createHealthzServer } from './healthz.ts';
import { defaultHousekeeping, Housekeeping, type HousekeepingConfig } from './housekeeping.ts';
import { KubeletPort } from './kubelet-server/kubelet-port.ts';
import { measureVolumes } from './kubelet-server/volume-stats.ts';
import type { HostFacts } from './node/host-facts.ts';
import { kubeLeaseApi } from './node/kube-lease-api.ts';
import { kubeNodeApi } from './node/kube-node-api.ts';
import { NodeLease } from './node/lease.ts';
import type { Reserved } from './node/node-flags.ts';
import { detectNodeIP } from './node/node-ip.ts';
import { NodeObserver } from './node/node-observer.ts';
import { NodeStatusLoop } from './node/node-status-loop.ts';
import type { NodeVolume } from './node/node-plan.ts';
import { ImagePuller } from './pods/image-puller.ts';
import { kubePodApi } from './pods/kube-pod-api.ts';
import { parseResolvConf, type NodePodSettings } from './pods/node-settings.ts';
import { ApiConfigSource } from './pods/config-source.ts';
import { PodManager } from './pods/pod-manager.ts';
import { versionSkewProblem } from './node/version-skew.ts';
import { nodeResources } from './node/node-plan.ts';
import { StaticPods } from './static-pods/static-pods.ts';
import { isMirrorPod, isStaticPod } from './static-pods/static-pod-manifest.ts';
import { kubeMirrorApi, skippingStaticPodDeletes } from './static-pods/kube-mirror-api.ts';
import { GracefulShutdown } from './shutdown/graceful-shutdown.ts';
import { systemInhibitDelay } from './shutdown/inhibit-delay.ts';
import { systemLogind, type Logind } from './shutdown/logind.ts';
import { PodVolumes } from './pods/volume-manager.ts';
import { apiClaimSource } from './pods/volumes/claim-source.ts';
import { localPathRootOf } from './pods/volumes.ts';
import { LocalPathProvisioner } from './storage/local-path-provisioner.ts';
import { sandboxPodUids } from './pods/cri-labels.ts';
import type { HostMounts } from './pods/volumes/host-mounts.ts';
import { podCgroupRoot, sweepPodCgroupsEvery } from './pods/pod-cgroups.ts';
import { chooseCgroupDriver, hostCgroupClues, type CgroupDriverName } from './pods/cgroup-driver.ts';
import { nodeNetwork } from './pods/probe-network.ts';
import { SystemdNotifier, spawnNotifyRunner } from '../kube/systemd-notify.ts';
import { ClientCertRotator, requestClientCertificate } from './certs/client-cert-rotation.ts';
import { X509Certificate } from 'node:crypto';
import type { Node } from '../kube/corev1.ts';
import { IpCommandHost } from './pod-network/ip-host.ts';
import { nodeNetworkFacts } from './pod-network/node-facts.ts';
import { PodNetwork, type PodNetworkConfig } from './pod-network/pod-network.ts';

export interface AgentConfig {
  kubeconfig: string;
  /**
   * More API servers besides the kubeconfig's (--server): the agent then reaches them through a
   * loopback balancer that fails over between them and the ones the cluster advertises.
   */
  servers?: readonly string[];
  nodeName: string;
  /** undefined: detected from the default route's interface. */
  nodeIP: string | undefined;
  runtimeEndpoint: string;
  /** The container runtime; default: a CRI client for runtimeEndpoint. Hollow nodes pass a fake. */
  runtime?: CriRuntime;
  /** Runs the proxy's iptables tools; default: real processes. Hollow nodes pass one without effects. */
  proxyRunner?: CommandRunner;
  /** Mounts for pod volumes (tmpfs); default: this host. Hollow nodes pass one that mounts nothing. */
  hostMounts?: HostMounts;
  /**
   * Reads the host's fixed facts (cores, memory, identity, OS); default: read from /proc, /sys and /etc, once per
   * agent. Hollow nodes share one host, so they pass one reading for the whole process.
   */
  hostFacts?: () => Promise<HostFacts>;
  /** The sandbox (pause) image: checked at start and never removed. */
  podInfraImage: string;
  podLogDir: string;
  rootDir: string;
  clusterDNS: string[];
  clusterDomain: string;
  nodeLabels: Record<string, string>;
  registerTaints: Taint[];
  maxPods: number;
  reserved: Reserved;
  healthzAddress: string;
  /** 0: no healthz listener. */
  healthzPort: number;
  /** Host path prefixes hostPath volumes may use (--allowed-host-paths); default none. */
  allowedHostPaths?: string[];
  /** Of those, the prefixes that may only be mounted read-only (`:ro` in --allowed-host-paths). */
  readOnlyHostPaths?: string[];
  /** Where the local-path provisioner keeps volume folders (--local-path-root); default <rootDir>/storage. */
  localPathRoot?: string;
  /** Run the built-in local-path provisioner for this node (default true). */
  localPathProvisioner?: boolean;
  /** The kubelet port (logs, exec, port-forward, stats): address (default 0.0.0.0) and port; undefined or 0: none. */
  kubeletAddress?: string;
  kubeletPort?: number;
  /** Operator-provided serving certificate and key (PEM); undefined: requested through a CSR. */
  kubeletServingCertificate?: { certPem: string; keyPem: string } | undefined;
  proxyMode: 'iptables' | 'ipvs' | 'nftables' | 'none';
  /** Where the proxy's /healthz and /metrics listen (kube-proxy's port 10256); undefined: nowhere. */
  proxyHealthz?: BindAddress;
  /**
   * Enforce NetworkPolicy for this node's pods (iptables + ipset, run by `proxyRunner`); default
   * false. `bosun agent` turns it on unless --disable-network-policy.
   */
  networkPolicy?: boolean;
  /**
   * The built-in ingress proxy (agent/ingress/): the node's HTTP and HTTPS ports for Ingresses of
   * the bosun class; needs the service proxy (it sends to the endpoints that proxy knows).
   * Undefined: none. `bosun agent` turns it on unless --disable ingress.
   */
  ingress?: { address?: string; httpPort: number; httpsPort: number; secretPeriodMs?: number };
  /** Pod addresses of the whole cluster (traffic from outside it to a ClusterIP is masqueraded). */
  clusterCIDR: string | undefined;
  /**
   * The node's pod network (CNI conflist, routes to peers, masquerade), agent/pod-network/;
   * undefined: the user brings a CNI (--pod-network-backend none), or a hollow node.
   */
  podNetwork?: Omit<PodNetworkConfig, 'nodeName' | 'nodeIP' | 'clusterCIDR'>;
  /** Serve cluster DNS on the node IP, port `dnsPort`. */
  dnsServe: boolean;
  /** The resolv.conf whose resolvers answer names outside the cluster (kubelet's --resolv-conf); default /etc/resolv.conf. */
  resolvConf?: string;
  dnsPort: number;
  /** 'auto': asked of the runtime, else chosen from the host (agent/pods/cgroup-driver.ts). */
  cgroupDriver: 'cgroupfs' | 'systemd' | 'auto';
  /**
   * The kubelet's --cgroups-per-QoS (default true): pods' cgroups go under
   * <cgroupRoot>/kubepods/<qos>/pod<uid>; false leaves each sandbox's cgroup to the runtime.
   */
  cgroupsPerQOS?: boolean;
  /** The kubelet's --cgroup-root (default '/'). */
  cgroupRoot?: string;
  /** bosun's version, as the Node's kubeletVersion shows it. */
  version: string;
  /** Default 10 s (the kubelet's nodeStatusUpdateFrequency). */
  nodeStatusIntervalMs?: number;
  /**
   * How often each pod is synced when nothing else happens (default 5 s). containerd 1.6 pushes
   * no container events, so this bounds how late a container exit is seen; each sync costs two
   * CRI list calls, which is what makes a shorter period expensive at 110 pods.
   */
  podResyncMs?: number;
  /** Log rotation, image GC and eviction settings (default: upstream's). */
  housekeeping?: HousekeepingConfig;
  /**
   * The kubelet's --shutdown-grace-period and --shutdown-grace-period-critical-pods, in seconds
   * (default 0: graceful node shutdown off, as upstream).
   */
  shutdownGracePeriodSeconds?: number;
  /** --pod-manifest-path: static pods from these files; undefined or '': none. */
  podManifestPath?: string | undefined;
  /** --file-check-frequency: how often the manifest folder is read besides its watch (default 20 s). */
  fileCheckFrequencyMs?: number;
  shutdownGracePeriodCriticalPodsSeconds?: number;
  /** How the node learns of an imminent shutdown; default: systemd-logind. */
  logind?: Logind;
  log: Logger;
  clock?: Clock;
  /** Default: systemd-notify when NOTIFY_SOCKET is set, else nothing. */
  notifier?: SystemdNotifier;
}

/** One line for a failed API call at start-up. */
function apiUnreachable(loaded: LoadedKubeconfig, err: unknown): AgentStartError {
  if (isApiError(err, 'Unauthorized') || isApiError(err, 'Forbidden')) {
    return new AgentStartError(
      'BOSUN_AGENT_API_UNREACHABLE',
      `the API server at ${loaded.client.server} refused ${loaded.path}'s credentials (${(err as Error).message}); get a new kubeconfig with bosun join`,
    );
  }
  return new AgentStartError(
    'BOSUN_AGENT_API_UNREACHABLE',
    `cannot reach the API server at ${loaded.client.server} (${(err as Error).message}); check that bosun server runs and that this node can reach it`,
  );
}

/**
 * Waits until the API server answers, as the kubelet does: an unreachable server (not started yet,
 * restarting, a partition) is retried, 1 s doubling to 30 s, with one warning per try, so a node
 * started before its control plane joins once it is there. Refused credentials end the start with
 * one line (trying again cannot help).
 */
async function waitForApi(loaded: LoadedKubeconfig, nodeName: string, log: Logger, signal: AbortSignal): Promise<void> {
  let retryMs = 1_000;
  while (!signal.aborted) {
    const probeClient = new KubeClient({ ...loaded.client, timeoutMs: 10_000 });
    try {
      await kubeNodeApi(probeClient).get(nodeName);
      return;
    } catch (err) {
      const refusal = apiUnreachable(loaded, err);
      if (isApiError(err, 'Unauthorized') || isApiError(err, 'Forbidden')) throw refusal;
      log.warn({ retryMs }, `${refusal.message}; trying again`);
    } finally {
      probeClient.close();
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, retryMs);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
    retryMs = Math.min(retryMs * 2, 30_000);
  }
}

export class Agent {
  readonly #config: AgentConfig;
  #markReady: () => void = () => {};
  /** Resolves once the node is registered and the first pod list was handed to the pod manager. */
  readonly ready: Promise<void>;

  constructor(config: AgentConfig) {
    this.#config = config;
    this.ready = new Promise((resolve) => {
      this.#markReady = resolve;
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    const config = this.#config;
    const { log } = config;
    const clock = config.clock ?? systemClock;
    const startedAt = clock.now();
    // everything opened below is closed in the finally block, in reverse order
    const closers: (() => unknown)[] = [];
    const loops: Promise<unknown>[] = [];
    try {
      // -- validate
      if (!Number.isInteger(config.maxPods) || config.maxPods < 1)
        throw new AgentStartError(
          'BOSUN_AGENT_BAD_CONFIG',
          `--max-pods ${config.maxPods} must be a positive whole number`,
        );
      let loaded: LoadedKubeconfig;
      try {
        loaded = loadKubeconfig(config.kubeconfig);
      } catch (err) {
        if (err instanceof KubeconfigError)
          throw new AgentStartError(
            'BOSUN_AGENT_KUBECONFIG',
            `${err.message}; run bosun join on this node, or pass --kubeconfig`,
          );
        throw err;
      }
      let balanced: BalancedApi | undefined;
      if (config.servers !== undefined && config.servers.length > 0) {
        balanced = await balanceApiServers(loaded.client, config.servers, log.child({ loop: 'api-servers' }));
        const { close } = balanced;
        closers.push(close);
        loaded = { ...loaded, client: balanced.client };
      }
      const nodeIP = config.nodeIP ?? (await detectNodeIP());
      if (nodeIP === undefined)
        throw new AgentStartError(
          'BOSUN_AGENT_BAD_CONFIG',
          "this host has no IPv4 address to report as the node's InternalIP; pass --node-ip",
        );
      await mkdir(config.rootDir, { recursive: true });
      await mkdir(config.podLogDir, { recursive: true });

      // -- runtime
      const runtime = config.runtime ?? new CriClient(config.runtimeEndpoint);
      closers.push(() => runtime.close());
      let housekeeping: Housekeeping | undefined;
      let shutdown: GracefulShutdown | undefined;
      const observer = new NodeObserver({
        runtime,
        rootDir: config.rootDir,
        ...(config.hostFacts ? { readHostFacts: config.hostFacts } : {}),
        pressure: () => housekeeping?.pressure(),
        shuttingDown: () => shutdown?.shuttingDown ?? false,
      });
      let runtimeVersion: string;
      try {
        runtimeVersion = await observer.runtimeVersion();
      } catch (err) {
        throw new AgentStartError(
          'BOSUN_AGENT_RUNTIME_UNREACHABLE',
          `cannot reach the container runtime at ${config.runtimeEndpoint} (${(err as Error).message.split('\n')[0]}); start containerd, or pass --container-runtime-endpoint`,
        );
      }
      const pause = await runtime.imageStatus(config.podInfraImage).catch(() => undefined);
      if (pause?.image === undefined)
        log.warn(
          { image: config.podInfraImage },
          'the pod infra (pause) image is not in the runtime; pods cannot start until it is imported',
        );
      log.info({ runtime: runtimeVersion, endpoint: config.runtimeEndpoint }, 'container runtime reachable');
      let cgroupDriver: CgroupDriverName;
      if (config.cgroupDriver === 'auto') {
        const fromRuntime = (await runtime.runtimeConfig().catch(() => ({ cgroupDriver: undefined }))).cgroupDriver;
        const chosen = chooseCgroupDriver({ fromRuntime, ...(await hostCgroupClues()) });
        cgroupDriver = chosen.driver;
        log.info({ cgroupDriver, why: chosen.why }, 'cgroup driver chosen');
      } else {
        cgroupDriver = config.cgroupDriver;
      }
      const podRoot =
        config.cgroupsPerQOS === false ? undefined : podCgroupRoot(cgroupDriver, config.cgroupRoot ?? '/');

      // -- API: one client for pods and the node, its own for the heartbeat (a slow pod write
      // must never delay the lease)
      const client = new KubeClient(loaded.client);
      closers.push(() => client.close());
      // events are written in the background, off the pod workers' path
      const recorder = new EventRecorder({
        sink: kubeEventSink(client),
        clock,
        log: log.child({ loop: 'events' }),
        component: 'kubelet',
        host: config.nodeName,
      });
      closers.push(() => recorder.close());
      const events = podEvents(recorder);
      const leaseClient = new KubeClient({ ...loaded.client, timeoutMs: 10_000 });
      if (balanced !== undefined) loops.push(balanced.learn(client));
      closers.push(() => leaseClient.close());
      // -- node
      const settings = {
        nodeName: config.nodeName,
        nodeIP,
        labels: config.nodeLabels,
        taints: config.registerTaints,
        maxPods: config.maxPods,
        reserved: config.reserved,
        // advertised only when served: a scraper dials what a node advertises
        kubeletPort: config.kubeletPort !== undefined && config.kubeletPort > 0 ? config.kubeletPort : 0,
        kubeletVersion: config.version,
      };
      // set once the pod informer runs: its watch may have died silently while the API was away
      let apiReachableAgain = () => {};
      // the persistent volumes pods mount, once the pod machinery is up (below)
      let volumesInUse: () => readonly NodeVolume[] = () => [];
      const nodeStatus = new NodeStatusLoop({
        api: kubeNodeApi(client),
        settings,
        observe: async () => ({ ...(await observer.observe()), volumes: volumesInUse() }),
        pingRuntime: () => observer.ping(),
        clock,
        log: log.child({ loop: 'node-status' }),
        onReachableAgain: () => apiReachableAgain(),
        ...(config.nodeStatusIntervalMs !== undefined ? { updateIntervalMs: config.nodeStatusIntervalMs } : {}),
      });
      // -- pods, before the API is needed: static pods run from files whether or not the server
      // answers (as the kubelet's do), and containers already running here are adopted first
      const observedAtStart = await observer.observe();
      const { allocatable } = nodeResources(settings, observedAtStart.host, observedAtStart.signals);
      const resolvConf = await readFile(config.resolvConf ?? '/etc/resolv.conf', 'utf8').catch(() => '');
      const podSettings: NodePodSettings = {
        nodeName: config.nodeName,
        nodeIP,
        podLogRoot: config.podLogDir,
        podsDir: join(config.rootDir, 'pods'),
        clusterDNS: config.clusterDNS,
        clusterDomain: config.clusterDomain,
        hostDns: parseResolvConf(resolvConf),
        cgroupRoot: podRoot,
        cgroupDriver,
        runtimeName: runtimeVersion.split('://')[0] ?? 'containerd',
        allocatable: {
          cpuMilli: resourceOr(allocatable.cpu, 'cpu'),
          memoryBytes: resourceOr(allocatable.memory, 'memory'),
        },
        hostPathAllowList: config.allowedHostPaths ?? [],
        hostPathReadOnlyList: config.readOnlyHostPaths ?? [],
        rootDir: config.rootDir,
        localPathRoot: config.localPathRoot ?? join(config.rootDir, 'storage'),
      };
      // -- storage: volume folders on this node for the claims the scheduler sent here
      const provisioner =
        config.localPathProvisioner === false
          ? undefined
          : new LocalPathProvisioner({
              client,
              nodeName: config.nodeName,
              localPathRoot: localPathRootOf(podSettings),
              recorder,
              log: log.child({ loop: 'local-path' }),
            });
      if (provisioner !== undefined) {
        closers.push(() => provisioner.stop());
        loops.push(...provisioner.run());
      }
      // ConfigMaps, Secrets and tokens through the node's own identity (the node authorizer's view)
      const configSource = new ApiConfigSource(client, clock);
      const volumes = new PodVolumes({
        settings: podSettings,
        config: configSource,
        log: log.child({ loop: 'volumes' }),
        ...(config.hostMounts ? { mounts: config.hostMounts } : {}),
        claims: provisioner?.claimSource(apiClaimSource(client)) ?? apiClaimSource(client),
        nodeLabels: () => nodeStatus.node?.metadata.labels ?? settings.labels,
      });
      volumesInUse = () => volumes.volumesInUse();
      // -- NetworkPolicy: before the pods, so that no new pod starts before its rules apply
      const networkPolicy = config.networkPolicy
        ? new NetworkPolicyEnforcer({
            client,
            nodeName: config.nodeName,
            runner: config.proxyRunner ?? new ProcessRunner(),
            log: log.child({ loop: 'network-policy' }),
          })
        : undefined;
      if (networkPolicy !== undefined) {
        loops.push(networkPolicy.run(signal));
        closers.push(() => networkPolicy.stop());
      }
      const manager = new PodManager({
        ...(networkPolicy
          ? {
              networkPolicy: {
                // a static pod starting before the API ever answered cannot wait for policies it
                // cannot read (it would never start); once rules were applied, it waits as any pod
                admitPod: (pod: Pod, ip: string) =>
                  isStaticPod(pod) && !networkPolicy.everApplied ? Promise.resolve() : networkPolicy.admitPod(pod, ip),
              },
            }
          : {}),
        runtime,
        settings: podSettings,
        volumes,
        images: new ImagePuller(runtime),
        network: nodeNetwork,
        clock,
        config: configSource,
        log: log.child({ loop: 'pods' }),
        agentStartedAt: startedAt,
        events,
        resyncMs: config.podResyncMs ?? 5_000,
        api: skippingStaticPodDeletes(kubePodApi(client)),
        admissionNode: () => {
          // before registration: what this agent registers with
          const current = nodeStatus.node;
          const alloc = current?.status?.allocatable ?? allocatable;
          return {
            name: config.nodeName,
            labels: current?.metadata.labels ?? settings.labels,
            taints: current?.spec?.taints ?? settings.taints,
            allocatable: {
              cpu: resourceOr(alloc.cpu, 'cpu'),
              memory: resourceOr(alloc.memory, 'memory'),
              pods: config.maxPods,
            },
            ...(housekeeping !== undefined ? { pressure: housekeeping.admissionPressure() } : {}),
          };
        },
      });
      closers.push(() => manager.close());
      // statuses that someone else's write replaced (MarkPodsNotReady in a partition) are written again
      manager.statuses.startReconciling();
      // pods that already run here are adopted, never admitted again
      await manager.loadAdopted();
      // static pods run from files, before and whatever the API says; their mirrors follow once the Node exists
      let staticPods: StaticPods | undefined;
      if (config.podManifestPath) {
        const fromFiles = new StaticPods({
          dir: config.podManifestPath,
          nodeName: config.nodeName,
          rescanMs: config.fileCheckFrequencyMs ?? 20_000,
          clock,
          log: log.child({ loop: 'static-pods' }),
          runner: manager,
          onMirror: (pod) => manager.statuses.observed(pod),
        });
        fromFiles.start();
        closers.push(() => fromFiles.close());
        staticPods = fromFiles;
      }
      await waitForApi(loaded, config.nodeName, log, signal);
      if (signal.aborted) return;
      // upstream's skew policy: servers first, so an agent newer than its server is a mistake
      const serverVersion = await client
        .getPath<{ bosunVersion?: string }>('/version')
        .then((v) => v.bosunVersion)
        .catch(() => undefined);
      const skew = versionSkewProblem(config.version, serverVersion);
      if (skew !== undefined) throw new AgentStartError('BOSUN_AGENT_VERSION_SKEW', skew);

      const node = await nodeStatus.register(signal);
      log.info({ node: config.nodeName, nodeIP }, 'node registered');

      // -- the node's client certificate, renewed at about 2/3 of its life (a kubeconfig with a token has none)
      if (loaded.client.cert !== undefined) {
        const rotator = new ClientCertRotator({
          kubeconfigPath: config.kubeconfig,
          clock,
          request: () => requestClientCertificate(client, config.nodeName, 15 * 60_000, signal),
          onRotated: (cert, key) => {
            for (const c of [client, leaseClient]) c.useClientCertificate(cert, key);
            log.info(
              { kubeconfig: config.kubeconfig, validTo: new X509Certificate(cert).validTo },
              'client certificate renewed',
            );
          },
          onError: (err) => log.warn({ err: err.message }, 'client certificate renewal failed; retrying in 30 s'),
        });
        loops.push(rotator.run(signal));
      }

      // -- heartbeat and status, each on its own loop
      const lease = new NodeLease({
        api: kubeLeaseApi(leaseClient),
        nodeName: config.nodeName,
        nodeUid: node.metadata.uid,
        clock,
        log: log.child({ loop: 'lease' }),
      });
      loops.push(lease.run(signal), nodeStatus.run(signal));

      // -- pod network: before the pods, so the CNI conflist is there when the first sandbox starts
      if (config.podNetwork !== undefined) {
        const nodes = new Informer<Node>(apiListWatch(client, refs.nodes));
        const network = new PodNetwork(
          { ...config.podNetwork, nodeName: config.nodeName, nodeIP, clusterCIDR: config.clusterCIDR },
          {
            host: new IpCommandHost(new ProcessRunner()),
            nodes: () => nodes.list(),
            publish: async (annotations) => {
              await client.patch(refs.nodes, config.nodeName, { metadata: { annotations } }, { type: 'merge' });
            },
            log: log.child({ loop: 'pod-network' }),
          },
        );
        const changed = () => network.request();
        // most Node writes are status; only a change of what routing reads is worth a sync
        const routingChanged = (before: Node, after: Node) =>
          JSON.stringify(nodeNetworkFacts(before)) !== JSON.stringify(nodeNetworkFacts(after));
        nodes.addHandlers({
          onAdd: changed,
          onUpdate: (before, after) => routingChanged(before, after) && changed(),
          onDelete: changed,
        });
        closers.push(() => nodes.stop());
        loops.push(nodes.run(), network.run(signal));
      }

      const pods = new Informer<Pod>(
        apiListWatch(client, refs.pods, { fieldSelector: `spec.nodeName=${config.nodeName}` }),
      );
      // a mirror pod is the API's view of a static pod: never a pod to run
      pods.addHandlers({
        onAdd: (pod) => {
          staticPods?.observeApiPod(pod);
          if (!isMirrorPod(pod)) manager.upsert(pod);
        },
        onUpdate: (_previous, pod) => {
          staticPods?.observeApiPod(pod);
          if (!isMirrorPod(pod)) manager.upsert(pod);
        },
        onDelete: (pod) => {
          staticPods?.forgetApiPod(pod);
          if (!isMirrorPod(pod)) void manager.remove(pod);
        },
      });
      closers.push(() => pods.stop());
      loops.push(pods.run());
      apiReachableAgain = () => {
        log.info('the API answers again: resuming the pod watch, so what changed meanwhile is seen now');
        pods.resumeWatch();
      };
      await Promise.race([pods.synced, aborted(signal)]);
      if (signal.aborted) return;
      // only now is the list of this node's pods complete: anything else bosun runs is garbage
      const known = new Set([
        ...pods
          .list()
          .filter((p) => !isMirrorPod(p))
          .map((p) => p.metadata.uid ?? ''),
        ...(staticPods?.uids() ?? []),
      ]);
      const removed = await manager.collectGarbage(known);
      staticPods?.useApi(kubeMirrorApi(client), { name: config.nodeName, uid: node.metadata.uid ?? '' });
      if (removed.length > 0) log.info({ sandboxes: removed.length }, 'removed sandboxes of pods that no longer exist');

      // -- graceful node shutdown: regular pods, then critical ones, before logind lets the machine go
      shutdown = new GracefulShutdown({
        settings: {
          gracePeriodSeconds: config.shutdownGracePeriodSeconds ?? 0,
          criticalGracePeriodSeconds: config.shutdownGracePeriodCriticalPodsSeconds ?? 0,
        },
        logind: config.logind ?? systemLogind,
        // the machine's logind cap, unless a test brought its own logind
        ...(config.logind === undefined ? { inhibitDelay: systemInhibitDelay } : {}),
        pods: () => manager.shutdownCandidates(),
        stopPod: (kill) => manager.stopForShutdown(kill),
        log: log.child({ loop: 'shutdown' }),
        clock,
      });
      shutdown.start();
      const started = shutdown;
      closers.push(() => started.close());

      // -- the node defends itself: log rotation, image GC, eviction under pressure
      housekeeping = new Housekeeping({
        config: config.housekeeping ?? defaultHousekeeping,
        runtime,
        clock,
        log,
        nodeName: config.nodeName,
        rootDir: config.rootDir,
        podsDir: join(config.rootDir, 'pods'),
        podLogDir: config.podLogDir,
        podInfraImage: config.podInfraImage,
        manager,
        recorder,
      });
      loops.push(...housekeeping.start(signal));
      // volumes follow their ConfigMaps and Secrets; those of pods gone (also before a restart) are torn down
      loops.push(
        volumes.run(
          signal,
          config.podResyncMs ?? 5_000,
          () => pods.list(),
          () => sandboxPodUids(runtime),
          clock,
        ),
      );
      if (podRoot !== undefined && cgroupDriver === 'cgroupfs' && config.runtime === undefined) {
        loops.push(sweepPodCgroupsEvery(runtime, podRoot, signal, clock, log.child({ loop: 'pod-cgroups' })));
      }

      // -- services: proxy and DNS
      // healthCheckNodePorts of externalTrafficPolicy: Local Services, where the proxy serves its own
      // health (a node that serves no proxy port, such as a hollow node, opens none)
      const healthCheckPorts =
        config.proxyMode === 'none' || config.proxyHealthz === undefined ? undefined : new ServiceHealthServers();
      if (healthCheckPorts !== undefined) closers.push(() => healthCheckPorts.close());
      const proxy =
        config.proxyMode === 'none'
          ? undefined
          : new ServiceProxy({
              nodeName: config.nodeName,
              runner: config.proxyRunner ?? new ProcessRunner(),
              config: { ...defaultProxyConfig, ...(config.clusterCIDR ? { clusterCIDR: config.clusterCIDR } : {}) },
              mode: config.proxyMode,
              logger: log.child({ loop: 'proxy' }),
              onRefused: (refusal) => reportProxyRefusal(recorder, refusal),
              ...(healthCheckPorts ? { serviceHealth: healthCheckPorts } : {}),
            });
      let ingressProxy: IngressProxy | undefined;
      if (proxy !== undefined && config.proxyHealthz !== undefined) {
        loops.push(
          serveProxyHealth(
            createProxyHealthServer(
              proxy,
              () => (networkPolicy?.metricsText() ?? '') + (ingressProxy?.metricsText() ?? ''),
            ),
            config.proxyHealthz,
            signal,
            log.child({ loop: 'proxy-healthz' }),
          ),
        );
      }
      let dns: DnsServer | undefined;
      if (config.dnsServe) {
        dns = new DnsServer({
          address: nodeIP,
          port: config.dnsPort,
          zone: config.clusterDomain,
          upstreams: readHostUpstreams(config.resolvConf ?? '/etc/resolv.conf', [nodeIP, ...config.clusterDNS]),
        });
        await listenOrFail(() => dns!.listen(), `cluster DNS on ${nodeIP}:${config.dnsPort}`);
        const listening = dns;
        closers.push(() => listening.close());
      }
      const nodeLocalDns = { nodeName: config.nodeName, nodeIP, clusterDNS: config.clusterDNS, port: config.dnsPort };
      // load-balancer pool addresses the server gives this node: bound where the proxy takes their traffic
      const addressBinder =
        proxy === undefined
          ? undefined
          : new LoadBalancerAddressBinder({
              nodeName: config.nodeName,
              nodeIP,
              runner: config.proxyRunner ?? new ProcessRunner(),
              services: () => services.services(),
              log: log.child({ loop: 'lb-addresses' }),
            });
      const services: ClusterServices = new ClusterServices({
        client,
        nodeName: config.nodeName,
        zone: config.clusterDomain,
        log,
        nodeLocalDns,
        ...(proxy ? { proxy } : {}),
        ...(dns ? { dns } : {}),
        ...(addressBinder ? { onServiceChange: () => addressBinder.loop.request() } : {}),
      });
      services.start(signal);
      closers.push(() => services.stop());
      if (addressBinder !== undefined) {
        // not before the first list: an empty cache would unbind what a previous run bound
        const stopped = new Promise<boolean>((resolve) =>
          signal.addEventListener('abort', () => resolve(false), { once: true }),
        );
        loops.push(
          Promise.race([services.synced.then(() => true), stopped]).then((go) =>
            go ? addressBinder.loop.run(signal) : undefined,
          ),
        );
      }
      if (config.ingress !== undefined && proxy === undefined) {
        log.warn('the ingress proxy needs the service proxy (--proxy-mode none): not started');
      } else if (config.ingress !== undefined && proxy !== undefined) {
        const started = new IngressProxy({
          client,
          endpoints: proxy,
          log: log.child({ loop: 'ingress' }),
          address: config.ingress.address ?? '0.0.0.0',
          httpPort: config.ingress.httpPort,
          httpsPort: config.ingress.httpsPort,
          ...(config.ingress.secretPeriodMs !== undefined ? { secretPeriodMs: config.ingress.secretPeriodMs } : {}),
        });
        try {
          await listenOrFail(
            () => started.start(signal),
            `the ingress proxy on ports ${config.ingress.httpPort} and ${config.ingress.httpsPort}`,
          );
          ingressProxy = started;
          closers.push(() => started.close());
        } catch (err) {
          // another server holds 80/443 on this machine: the node still runs pods; its Node says
          // it serves no Ingress, so Ingress status does not send clients here
          log.error(
            { err: (err as Error).message },
            'ingress proxy not started (--disable ingress to run without one)',
          );
        }
      }
      await announceIngressProxy(
        client,
        nodeStatus.node,
        config.nodeName,
        ingressProxy ? config.ingress : undefined,
        log,
      );

      // -- healthz
      if (config.healthzPort > 0) {
        const healthz = createHealthzServer(async () => {
          const health = await observer.ping();
          if (!health.reachable) return { ok: false, reason: `container runtime is down: ${health.message}` };
          return nodeStatus.node === undefined ? { ok: false, reason: 'the node is not registered' } : { ok: true };
        });
        await listenOrFail(
          () => listen(healthz, config.healthzPort, config.healthzAddress),
          `healthz on ${config.healthzAddress}:${config.healthzPort}`,
        );
        closers.push(() => new Promise((resolve) => healthz.close(resolve)));
      }

      // -- kubelet port: comes up in the background (its certificate may wait for the signer)
      if (config.kubeletPort !== undefined && config.kubeletPort > 0) {
        const kubeletPort = new KubeletPort({
          nodeName: config.nodeName,
          nodeIP,
          address: config.kubeletAddress ?? '0.0.0.0',
          port: config.kubeletPort,
          certificate: config.kubeletServingCertificate,
          caPem: loaded.client.ca,
          client,
          runtime,
          pods: () => pods.list(),
          volumes: () => measureVolumes(volumes.claimMounts()),
          podLogDir: config.podLogDir,
          rootDir: config.rootDir,
          log: log.child({ loop: 'kubelet-server' }),
        });
        closers.push(() => kubeletPort.close());
      }

      log.info({ node: config.nodeName, pods: pods.list().length, startMs: clock.now() - startedAt }, 'agent ready');
      this.#markReady();
      const notifier = config.notifier ?? new SystemdNotifier(spawnNotifyRunner, log);
      await notifier.ready(`node ${config.nodeName} registered, ${pods.list().length} pods`);
      notifier.watchdog(signal);
      await aborted(signal);
      log.info('stopping; containers keep running');
      await notifier.stopping();
    } finally {
      for (const close of closers.reverse()) {
        try {
          await close();
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'while stopping');
        }
      }
      await Promise.allSettled(loops);
    }
  }
}

/**
 * Tells the control plane (an annotation on the own Node) whether this node serves Ingresses and
 * on which ports, so Ingress status lists only nodes that answer; a failure is logged, not fatal.
 */
async function announceIngressProxy(
  client: KubeClient,
  node: Node | undefined,
  nodeName: string,
  ingress: { httpPort: number; httpsPort: number } | undefined,
  log: Logger,
): Promise<void> {
  const value = ingress === undefined ? null : `http=${ingress.httpPort},https=${ingress.httpsPort}`;
  // the Node already says so (the usual restart): no write
  if ((node?.metadata.annotations?.[ingressProxyAnnotation] ?? null) === value) return;
  try {
    await client.patch(
      refs.nodes,
      nodeName,
      { metadata: { annotations: { [ingressProxyAnnotation]: value } } },
      { type: 'merge' },
    );
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not record the ingress proxy on the Node');
  }
}

/** An allocatable amount in the pod machinery's units (millicores, bytes); 0 when absent or unreadable. */
function resourceOr(value: string | number | undefined, name: 'cpu' | 'memory'): number {
  if (value === undefined) return 0;
  try {
    return resourceAmount(name, value);
  } catch {
    return 0;
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function listen(server: Server, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Binds a port, trying again for a few seconds while it is in use: an agent started right after
 * its predecessor was killed can find the port still held while that process goes away.
 */
async function listenOrFail(start: () => Promise<void>, what: string): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      await start();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && Date.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        continue;
      }
      throw new AgentStartError(
        'BOSUN_AGENT_LISTEN_FAILED',
        `cannot listen for ${what} (${(err as Error).message}); is another agent running on this node?`,
      );
    }
  }
}
