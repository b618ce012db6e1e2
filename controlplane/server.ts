/**
 * `bosun server`, start to finish: open the datastore, make sure the PKI exists, wire admission,
 * authentication and authorization, create the objects every cluster starts with, then serve.
 */
import { randomUUID } from 'node:crypto';
import type { InflightLimits } from './api/inflight.ts';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ApiError } from '../kube/errors.ts';
import type { KubeObject } from '../kube/types.ts';
import { admissionChain } from './admission/chain.ts';
import { deletionAdmission } from './admission/deletion.ts';
import type { WebhookLookups } from './admission/webhooks/dispatch.ts';
import type { PolicyLookups } from './admission/policies/admit-policies.ts';
import { systemPriorityClasses } from './admission/priority.ts';
import { defaultIngressClassAnnotation } from './admission/default-ingress-class.ts';
import { bosunIngressClassName, bosunIngressController } from '../kube/networkingv1.ts';
import type { PodSecurityConfig } from './admission/pod-security/config.ts';
import { numberToIp, parseCidr } from './admission/allocators.ts';
import type { DefaultTolerationSeconds } from './admission/tolerations.ts';
import { ApiServer } from './api/http-server.ts';
import { Registry } from './api/registry.ts';
import { ObjectCache } from './api/object-cache.ts';
import { findResource, resourceByKind, type ResourceInfo } from './api/resources.ts';
import { accessReviewHandler } from './auth/access-review.ts';
import { escalationCheck } from './auth/escalation-check.ts';
import { snapshotOf } from './auth/rule-resolver.ts';
import { currentUser } from './api/request-context.ts';
import { rulesReviewHandler } from './auth/rules-review.ts';
import { bootstrapTokenAuthenticator, clientCertificateAuthenticator } from './auth/authenticators.ts';
import {
  clusterInfoRole,
  clusterInfoRoleBinding,
  extensionAuthenticationReaderRole,
  defaultClusterRoleBindings,
  defaultClusterRoles,
  reconcileDefaultRole,
} from './auth/default-policy.ts';
import { NodeAuthorizer } from './auth/node-authorizer.ts';
import { signerPermission } from './auth/signer-permission.ts';
import { PolicyCache } from './auth/policy-cache.ts';
import { CrdController } from './apiextensions/crd-controller.ts';
import { defaultIssuer, serviceAccountAuthenticator, ServiceAccountTokens } from './auth/service-account-tokens.ts';
import { issuerDiscoveryDocument } from './auth/oidc-discovery.ts';
import { tokenRequestHandler } from './auth/token-request.ts';
import { mastersAuthorizer, RbacAuthorizer, unionAuthorizer } from './auth/rbac.ts';
import { ensureClusterPki, pkiDir } from './pki/cluster-pki.ts';
import { ensureFrontProxyPki, extensionAuthenticationConfigMap } from './pki/front-proxy.ts';
import { Aggregator } from './api/aggregator/aggregator.ts';
import { DialerAgent } from './api/dialer-agent.ts';
import { localApiServices } from './api/aggregator/local-api-services.ts';
import { CertificateRenewal } from './pki/renewal-loop.ts';
import { systemClock, type Clock } from '../kube/clock.ts';
import { kubeconfigYaml } from './pki/kubeconfig.ts';
import { CertificateLoop } from './certificates/loop.ts';
import { reservedServingNames } from './certificates/reserved-names.ts';
import { connectProxyDialer } from './api/kubelet-dialer.ts';
import { metricsApiService, metricsApiServiceName, ResourceMetrics } from './metrics/resource-metrics.ts';
import type { AutoscalerOptions } from './controllers/hpa/controller.ts';
import { startControlLoops } from './controllers/control-loops.ts';
import { ClaimStore } from './allocation/claims.ts';
import { droppedValues } from './allocation/held-values.ts';
import { AllocationRepair } from './allocation/repair-loop.ts';
import {
  ApiServerEndpointReconciler,
  defaultApiServerLeaseTimings,
  type ApiServerLeaseTimings,
} from './apiserver-leases/endpoint-reconciler.ts';
import type { LeaderElectionTimings } from './leader-election/election-config.ts';
import { candidateIdentity } from './leader-election/candidate-identity.ts';
import { kubeLeaseClient } from './leader-election/kube-lease-client.ts';
import { startElectedLoops } from './leader-election/elected-loops.ts';
import { leaderElectionMetrics } from './leader-election/election-metrics.ts';
import type { AddressPool } from './controllers/load-balancer-addresses.ts';
import { KubeClusterClient } from './controllers/kube-cluster-client.ts';
import type { NodeLifecycleOptions } from './controllers/node-lifecycle.ts';
import { KubeClient, type ClientConfig } from '../kube/client.ts';
import { loopbackClientConfig, type ControllersLoopback } from './loopback-client.ts';
import { startCompactor } from './storage/compactor.ts';
import { saveSnapshot } from './snapshots/save-snapshot.ts';
import { snapshotName } from './snapshots/snapshot-catalog.ts';
import { startSnapshotSchedule, type SnapshotSchedule } from './snapshots/snapshot-schedule.ts';
import { AuditLogWriter, type AuditLogOptions } from './audit/log-writer.ts';
import type { AuditPolicy } from './audit/policy.ts';
import { Auditor } from './audit/request-audit.ts';
import { EncryptingStorage } from './encryption/encrypting-storage.ts';
import type { EncryptionConfig } from './encryption/config.ts';
import { transformerForKeyFrom } from './encryption/resource-rules.ts';
import { EtcdStorage, type EtcdClientTls } from './storage/etcd.ts';
import { SqliteStorage } from './storage/sqlite.ts';
import type { Storage } from './storage/store.ts';

/** Upstream's --service-account-max-token-expiration is unset (no cap) by default; bosun caps at 48 h. */
export const defaultMaxTokenExpirationSeconds = 48 * 3600;

export interface ServerOptions {
  readonly dataDir: string;
  readonly datastore: 'sqlite' | 'etcd';
  readonly etcdEndpoints: readonly string[];
  /** Client TLS towards etcd (--etcd-cafile/--etcd-certfile/--etcd-keyfile). */
  readonly etcdTls?: EtcdClientTls;
  /** --encryption-provider-config: which resources are encrypted at rest, and how. */
  readonly encryption?: EncryptionConfig;
  /** --audit-policy-file and --audit-log-*: which requests are audited, and where events go. */
  readonly audit?: { readonly policy: AuditPolicy; readonly log: AuditLogOptions };
  readonly bindAddress: string;
  readonly securePort: number;
  /** Address clients and nodes use to reach this server (certificate SAN, kubeconfig, discovery). */
  readonly advertiseAddress: string;
  readonly serviceCidr: string;
  /** Extra names for the serving certificate. */
  readonly tlsSans: readonly string[];
  readonly compactionIntervalMs: number;
  readonly bookmarkIntervalMs: number;
  readonly logger: Logger;
  /** bosun's own version, in /version as `bosunVersion` (node agents check their skew against it). */
  readonly bosunVersion?: string;
  /** Kubernetes version this server reports (kubectl warns about skew beyond one minor). */
  readonly kubernetesVersion: string;
  /** Reach kubelet ports through an HTTP CONNECT proxy on this unix socket (else directly). */
  readonly kubeletEgressSocket?: string;
  /** --metric-resolution: how often every kubelet's /metrics/resource is scraped for metrics.k8s.io (default 15 s). */
  readonly metricResolutionMs?: number;
  /** The `iss` of service-account tokens (default https://kubernetes.default.svc.cluster.local). */
  readonly serviceAccountIssuer?: string;
  /** The longest lifetime a TokenRequest gets, in seconds; 0: as asked (default 48 h). */
  readonly serviceAccountMaxTokenExpirationSeconds?: number;
  /** DefaultTolerationSeconds admission: how long new pods tolerate not-ready and unreachable nodes (300 s each). */
  readonly defaultTolerationSeconds?: DefaultTolerationSeconds;
  /** Ceilings on requests in flight and watches per user (default: upstream's 400 read-only, 200 mutating; 1,000 watches). */
  readonly inflight?: InflightLimits;
  /** Pod Security admission's cluster-wide defaults and exemptions; absent: upstream's defaults, kube-system exempt. */
  readonly podSecurity?: PodSecurityConfig;
  /** Lifetime of the certificates the server issues itself, in ms (default one year; short ones are for tests). */
  readonly certificateLifetimeMs?: number;
  /** How often the server looks whether its certificates are due or were renewed on disk (default 1 min). */
  readonly certificateCheckIntervalMs?: number;
  /** Copies of admin.kubeconfig to keep current when the admin certificate is renewed (bosun init's). */
  readonly adminKubeconfigCopies?: readonly string[];
  /** Scheduled datastore snapshots (--snapshot-cron, --snapshot-retention, --snapshot-dir); absent or an empty cron: none. */
  readonly snapshots?: {
    readonly schedule: SnapshotSchedule;
    /** --encryption-provider-config's file, saved with each snapshot so secrets stay readable. */
    readonly encryptionConfig?: string | undefined;
    readonly bosunVersion: string;
  };
  /** This server's kube-system/apiserver-<id> Lease: how long it lasts and how often it is renewed (15 s, 10 s). */
  readonly apiServerLease?: ApiServerLeaseTimings;
  /** How often Services' ClusterIPs and NodePorts are checked against their claims (default upstream's 3 min). */
  readonly allocationRepairIntervalMs?: number;
  /**
   * How the scheduler, controllers and certificate signer reach this server's API: `in-process`
   * (default) through the request handler directly, `tcp` over loopback HTTPS (loopback-client.ts).
   */
  readonly controllersLoopback?: ControllersLoopback;
  /** The clock certificate renewal is judged by (default the system's). */
  readonly clock?: Clock;
  /** The scheduler and controllers; absent: the server only serves the API (tests of the API alone). */
  readonly controlLoops?: {
    readonly withoutScheduler?: boolean;
    readonly nodeLifecycle?: NodeLifecycleOptions;
    /** The --horizontal-pod-autoscaler-* flags; absent: upstream's defaults. */
    readonly horizontalPodAutoscaler?: Partial<AutoscalerOptions>;
    /**
     * Run the scheduler and the controllers only while this server leads their Leases
     * (kube-system/kube-scheduler, kube-system/kube-controller-manager); absent: always (one server).
     */
    readonly leaderElection?: LeaderElectionTimings;
    /** --lb-address-pool, parsed. */
    readonly loadBalancerPool?: AddressPool;
  };
}

export interface RunningServer {
  readonly port: number;
  readonly url: string;
  readonly kubeconfigPath: string;
  readonly storage: Storage;
  readonly api: ApiServer;
  /** Graceful stop; safe to call twice. */
  close(): Promise<void>;
}

type ElectionStatus = { readonly name: string; isLeader(): boolean };

/** The scheduler and the controllers, each under its own Lease when leader election is on. */
async function startLoops(
  options: ServerOptions,
  admin: ClientConfig,
): Promise<{ loops: { stop(): Promise<void> }; clients: KubeClient[]; leases: ElectionStatus[] }> {
  const settings = options.controlLoops!;
  const logger = options.logger.child({ component: 'controllers' });
  const userAgent = (component: string) => `${component}/${options.kubernetesVersion} (bosun)`;
  // each component its own connections and User-Agent (audit events and managedFields name it)
  const controllersHttp = new KubeClient({
    ...admin,
    maxConnections: 64,
    userAgent: userAgent('kube-controller-manager'),
  });
  const schedulerHttp = new KubeClient({ ...admin, maxConnections: 64, userAgent: userAgent('kube-scheduler') });
  const controllersOptions = {
    logger,
    rootCaPem: admin.ca,
    ...(settings.nodeLifecycle ? { nodeLifecycle: settings.nodeLifecycle } : {}),
    // the horizontal pod autoscaler reads scale subresources and metrics.k8s.io over HTTP
    http: controllersHttp,
    ...(settings.horizontalPodAutoscaler ? { horizontalPodAutoscaler: settings.horizontalPodAutoscaler } : {}),
    ...(settings.loadBalancerPool ? { loadBalancerPool: settings.loadBalancerPool } : {}),
  };
  // the scheduler and the controllers read this one API: their informers share objects per version
  const versionScope = randomUUID();
  if (settings.leaderElection === undefined) {
    const loops = await startControlLoops({
      ...controllersOptions,
      client: new KubeClusterClient(controllersHttp, versionScope),
      ...(settings.withoutScheduler
        ? { withoutScheduler: true }
        : { schedulerClient: new KubeClusterClient(schedulerHttp, versionScope) }),
    });
    return { loops, clients: [controllersHttp, schedulerHttp], leases: [] };
  }
  const timings = settings.leaderElection;
  // renewals on connections of their own, bounded so that a hung request cannot outlast the deadline
  const electionHttp = new KubeClient({
    ...admin,
    timeoutMs: Math.max(500, timings.renewDeadlineMs / 2),
    userAgent: userAgent('bosun-leader-election'),
  });
  const identity = candidateIdentity();
  logger.info({ identity }, 'leader election candidate');
  const elected = startElectedLoops({
    identity,
    timings,
    leases: kubeLeaseClient(electionHttp),
    clock: options.clock ?? systemClock,
    logger,
    controllers: { client: new KubeClusterClient(controllersHttp, versionScope), options: controllersOptions },
    ...(settings.withoutScheduler ? {} : { scheduler: new KubeClusterClient(schedulerHttp, versionScope) }),
  });
  await elected.firstRound;
  return {
    loops: elected,
    clients: [controllersHttp, schedulerHttp, electionHttp],
    leases: elected.components.map((c) => ({ name: c.lease, isLeader: () => c.elector.isLeader() })),
  };
}

function openDatastore(options: ServerOptions): Storage {
  if (options.datastore === 'etcd') {
    if (options.etcdEndpoints.length === 0) throw new Error('--datastore etcd needs --etcd-endpoints');
    return new EtcdStorage(options.etcdEndpoints, options.etcdTls);
  }
  return new SqliteStorage(join(options.dataDir, 'db', 'state.db'));
}

/** The datastore, behind encryption at rest when it is configured. */
function openStorage(options: ServerOptions): Storage {
  const datastore = openDatastore(options);
  return options.encryption ? new EncryptingStorage(datastore, transformerForKeyFrom(options.encryption)) : datastore;
}

async function ensureObject(registry: Registry, object: KubeObject): Promise<void> {
  const info = resourceByKind(object.apiVersion ?? '', object.kind ?? '');
  if (!info) throw new Error(`no resource for ${object.apiVersion} ${object.kind}`);
  try {
    // Look first: admission of a second create could fail for other reasons (an IP in use by itself).
    await registry.get(info, object.metadata.namespace, object.metadata.name ?? '');
    return;
  } catch (err) {
    if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
  }
  try {
    await registry.create(info, object.metadata.namespace, object);
  } catch (err) {
    if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
  }
}

/**
 * Creates `desired` when missing, else lets `update` bring the stored object in line (the server's
 * address and port can change between starts).
 */
async function reconcileObject(
  registry: Registry,
  desired: KubeObject,
  update: (current: KubeObject) => void,
): Promise<void> {
  const info = resourceByKind(desired.apiVersion ?? '', desired.kind ?? '')!;
  const name = desired.metadata.name ?? '';
  try {
    await registry.guaranteedUpdate(info, desired.metadata.namespace, name, undefined, (current) => {
      update(current);
      return current;
    });
  } catch (err) {
    if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
    await ensureObject(registry, desired);
  }
}

/** Creates a default ClusterRole, or brings a stored one up to date (reconcileDefaultRole). */
async function reconcileDefaultClusterRole(registry: Registry, desired: KubeObject): Promise<void> {
  const info = resourceByKind(desired.apiVersion ?? '', desired.kind ?? '')!;
  const current = await registry.get(info, undefined, desired.metadata.name ?? '').catch((err: unknown) => {
    if (err instanceof ApiError && err.reason === 'NotFound') return undefined;
    throw err;
  });
  if (current === undefined) return ensureObject(registry, desired);
  if (reconcileDefaultRole(current, desired) === undefined) return;
  await registry.guaranteedUpdate(
    info,
    undefined,
    desired.metadata.name ?? '',
    undefined,
    (latest) => reconcileDefaultRole(latest, desired) ?? latest,
  );
}

interface StartingObjects {
  readonly serviceIP: string;
  /** The cluster DNS address pods are told to use: the tenth of the service CIDR, as kubeadm picks it. */
  readonly clusterDnsIP: string;
  /** The port that the `kubernetes` Service leads to. */
  readonly port: number;
  readonly clusterKubeconfig: string;
}

/**
 * The class of every node's built-in ingress proxy, the default for Ingresses that name none (as
 * k3s marks Traefik's); an operator who removes the annotation or the class keeps it so until the
 * next start, when a missing class is made again.
 */
const builtInIngressClass: KubeObject = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'IngressClass',
  metadata: { name: bosunIngressClassName, annotations: { [defaultIngressClassAnnotation]: 'true' } },
  spec: { controller: bosunIngressController },
};

/** Namespaces, default policy, the built-in PriorityClasses, the proxy's IngressClass, the `kubernetes` Service, kube-public/cluster-info. */
async function createStartingObjects(registry: Registry, start: StartingObjects): Promise<void> {
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    await ensureObject(registry, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  for (const role of defaultClusterRoles) await reconcileDefaultClusterRole(registry, role);
  for (const object of [...defaultClusterRoleBindings, clusterInfoRole, clusterInfoRoleBinding]) {
    await ensureObject(registry, object);
  }
  for (const priorityClass of systemPriorityClasses) await ensureObject(registry, priorityClass);
  await ensureObject(registry, builtInIngressClass);
  const service: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      clusterIP: start.serviceIP,
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: start.port }],
    },
  };
  // The whole spec: admission fills the defaults again, the ClusterIP stays the same.
  await reconcileObject(registry, service, (current) => (current.spec = service.spec));
  // kube-dns holds the cluster DNS address (no other Service can take it); it has no endpoints in
  // the API: each agent serving DNS routes it to itself (agent/dns/node-local-endpoint.ts).
  await ensureObject(registry, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kube-dns',
      namespace: 'kube-system',
      labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'KubeDNS' },
    },
    spec: {
      clusterIP: start.clusterDnsIP,
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
      ],
    },
  });
  // its Endpoints and EndpointSlices list the live servers (apiserver-leases/endpoint-reconciler.ts)
  await reconcileObject(
    registry,
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cluster-info', namespace: 'kube-public' },
      data: { kubeconfig: start.clusterKubeconfig },
    },
    // Only the kubeconfig key: the jws-kubeconfig-<token> signatures beside it belong to the signer.
    (current) =>
      (current.data = { ...(current.data as Record<string, string> | undefined), kubeconfig: start.clusterKubeconfig }),
  );
}

/** Starts the snapshot schedule when one is set; returns what stops it. */
function scheduleSnapshots(options: ServerOptions, logger: Logger): () => void {
  const snapshots = options.snapshots;
  if (snapshots === undefined || snapshots.schedule.cron === '') return () => {};
  const source =
    options.datastore === 'sqlite'
      ? { datastore: 'sqlite' as const, path: join(options.dataDir, 'db', 'state.db') }
      : { datastore: 'etcd' as const, endpoints: options.etcdEndpoints, tls: options.etcdTls };
  return startSnapshotSchedule(
    snapshots.schedule,
    () =>
      saveSnapshot({
        source,
        dir: snapshots.schedule.dir,
        name: snapshotName('bosun-snapshot', hostname(), new Date()),
        dataDir: options.dataDir,
        encryptionConfig: snapshots.encryptionConfig,
        scheduled: true,
        bosunVersion: snapshots.bosunVersion,
      }),
    logger.child({ component: 'snapshots' }),
  );
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { logger } = options;
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const range = parseCidr(options.serviceCidr);
  const serviceIP = numberToIp(range.base + 1);

  const storage = openStorage(options);
  try {
    await storage.currentRevision();
  } catch (err) {
    await storage.close();
    throw new Error(`the ${options.datastore} datastore is not reachable: ${(err as Error).message}`);
  }

  const pods = findResource('', 'v1', 'pods')!;
  const services = findResource('', 'v1', 'services')!;
  const namespaces = findResource('', 'v1', 'namespaces')!;
  const secrets = findResource('', 'v1', 'secrets')!;
  let registry!: Registry;
  // ClusterIPs and NodePorts are claimed one key each in the datastore, so servers sharing it never
  // hand out a value twice; a Service's dropped values are freed as soon as the change is stored
  const claims = new ClaimStore(storage);
  const resourceQuotas = findResource('', 'v1', 'resourcequotas')!;
  const limitRanges = findResource('', 'v1', 'limitranges')!;
  const mutatingWebhooks = findResource('admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations')!;
  const validatingWebhooks = findResource('admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations')!;
  const endpointSlices = findResource('discovery.k8s.io', 'v1', 'endpointslices')!;
  const admissionPolicies = findResource('admissionregistration.k8s.io', 'v1', 'validatingadmissionpolicies')!;
  const admissionPolicyBindings = findResource(
    'admissionregistration.k8s.io',
    'v1',
    'validatingadmissionpolicybindings',
  )!;
  const priorityClasses = findResource('scheduling.k8s.io', 'v1', 'priorityclasses')!;
  // Looked up on every write: kept in memory (a miss still reads the datastore).
  const caches = new Map<ResourceInfo, ObjectCache>();
  // how the server reaches the cluster's nodes and pods: directly, or through an egress proxy
  const clusterDialer = options.kubeletEgressSocket ? connectProxyDialer(options.kubeletEgressSocket) : undefined;
  // extension points that judge writes: admission webhooks and ValidatingAdmissionPolicies
  const webhooks: WebhookLookups = {
    configurations: (kind) => caches.get(kind === 'mutating' ? mutatingWebhooks : validatingWebhooks)!.listIn(''),
    namespace: async (name) => caches.get(namespaces)!.get(undefined, name),
    service: (namespace, name) => registry.get(services, namespace, name).catch(() => undefined),
    endpointSlices: async (namespace) => (await registry.list(endpointSlices, namespace)).items,
    ...(clusterDialer
      ? {
          endpointConnections: new DialerAgent(clusterDialer, {
            keepAlive: true,
            maxSockets: 64,
            maxFreeSockets: 16,
            scheduling: 'lifo',
          }),
        }
      : {}),
  };
  const policies: PolicyLookups = {
    policies: () => caches.get(admissionPolicies)!.listIn(''),
    bindings: () => caches.get(admissionPolicyBindings)!.listIn(''),
    namespace: async (name) => caches.get(namespaces)!.get(undefined, name),
    params: async (apiVersion, kind, namespace) => {
      const info = resourceByKind(apiVersion, kind);
      if (info === undefined) return [];
      return (await registry.list(info, info.namespaced ? namespace : undefined)).items;
    },
  };
  const admit = admissionChain({
    serviceCidr: options.serviceCidr,
    ...(options.defaultTolerationSeconds !== undefined
      ? { defaultTolerationSeconds: options.defaultTolerationSeconds }
      : {}),
    ...(options.podSecurity !== undefined ? { podSecurity: options.podSecurity } : {}),
    listIn: async (info, namespace) =>
      caches.get(info)?.listIn(namespace) ?? (await registry.list(info, namespace)).items,
    priorityClasses: async (including) => {
      const cache = caches.get(priorityClasses)!;
      const all = await cache.listAll();
      if (typeof including !== 'string' || including === '' || all.some((c) => c.metadata.name === including))
        return all;
      const fresh = await cache.get(undefined, including);
      return fresh === undefined ? all : [...all, fresh];
    },
    recordQuotaUsage: async (namespace, name, hard, used) => {
      await registry
        .guaranteedUpdate(resourceQuotas, namespace, name, 'status', (quota) => ({ ...quota, status: { hard, used } }))
        .catch(() => undefined); // best effort: the next charge recomputes usage from the objects
    },
    services: async () => (await registry.list(services, undefined)).items,
    claims: {
      claim: async (kind, value, owner) => (await claims.claim(kind, value, owner)) !== 'taken',
      release: (kind, value, ownerUid) => claims.release(kind, value, ownerUid),
    },
    namespace: async (name) => caches.get(namespaces)!.get(undefined, name),
    serviceAccount: (namespace, name) =>
      registry.get(findResource('', 'v1', 'serviceaccounts')!, namespace, name).catch(() => undefined),
    webhooks,
    policies,
    // the authorizer is built below, before the first request
    signerPermission: (user, verb, signerName) => signerPermission(authorizer)(user, verb, signerName),
  });
  // RBAC escalation prevention needs the authorizer, which needs the registry: set once both exist
  // (before the API listens; the server's own writes at start-up carry no user and are not checked)
  let checkEscalation: ReturnType<typeof escalationCheck> | undefined;
  registry = new Registry(storage, async (request) => {
    await checkEscalation?.(request, currentUser());
    await admit(request);
  });
  registry.admitDeletesWith(deletionAdmission({ webhooks, policies }));
  registry.afterStoredChange(async (info, before, after) => {
    if (info !== services) return;
    for (const dropped of droppedValues(before, after))
      await claims.release(dropped.kind, dropped.value, before.metadata.uid ?? '');
  });
  const stopCaches = () => {
    for (const cache of caches.values()) cache.stop();
    podsByNode?.stop();
  };
  // pods by node for the node authorizer (not in `caches`: quota counting keeps reading live)
  let podsByNode: ObjectCache | undefined;
  try {
    for (const info of [
      namespaces,
      limitRanges,
      resourceQuotas,
      mutatingWebhooks,
      validatingWebhooks,
      admissionPolicies,
      admissionPolicyBindings,
      priorityClasses,
    ]) {
      const cache = new ObjectCache(registry, info);
      await cache.start();
      caches.set(info, cache);
    }
  } catch (err) {
    stopCaches();
    await storage.close();
    throw err;
  }

  try {
    // frozen: its pods go out as lists served from memory and to the node authorizer, and are the
    // very objects every pod watch of the same change serialises
    podsByNode = new ObjectCache(
      registry,
      pods,
      (pod) => (pod.spec as { nodeName?: string } | undefined)?.nodeName || undefined,
      { frozen: true },
    );
    await podsByNode.start();
    // a node's agent lists its pods on every start and relist: from the index, not every pod decoded
    const byNode = podsByNode;
    registry.serveListsFrom((info, selectors) => {
      if (info !== pods) return undefined;
      const node = selectors.fields?.find((r) => r.equal && r.field === 'spec.nodeName' && r.value !== '');
      return node === undefined ? undefined : byNode.indexedAt(node.value);
    });
  } catch (err) {
    stopCaches();
    await storage.close();
    throw err;
  }

  const policy = new PolicyCache(registry);
  try {
    await policy.start();
  } catch (err) {
    stopCaches();
    await storage.close();
    throw err;
  }
  // custom resources are served from the start, and from the moment their definition is established
  const crds = new CrdController(registry, logger.child({ component: 'apiextensions' }), webhooks);
  try {
    await crds.start();
  } catch (err) {
    policy.stop();
    stopCaches();
    await storage.close();
    throw err;
  }
  const authorizer = unionAuthorizer([
    mastersAuthorizer,
    new NodeAuthorizer({
      // from the pods-by-node index: listing every pod per check made each pod's token request
      // and ConfigMap read cost O(pods), 87% of the server's CPU during a 3,000-pod rollout
      podsOnNode: async (node, fresh) =>
        (fresh ? undefined : podsByNode?.indexed(node)) ??
        (await registry.list(pods, undefined, { fields: [{ field: 'spec.nodeName', equal: true, value: node }] }))
          .items,
      pod: async (namespace, name) => registry.get(pods, namespace, name).catch(() => undefined),
      persistentVolume: async (name) =>
        registry.get(findResource('', 'v1', 'persistentvolumes')!, undefined, name).catch(() => undefined),
      ingresses: async (namespace) =>
        (await registry.list(findResource('networking.k8s.io', 'v1', 'ingresses')!, namespace)).items,
    }),
    new RbacAuthorizer(policy),
  ]);
  checkEscalation = escalationCheck({ policy: () => snapshotOf(policy), authorizer });
  const readSecret = async (namespace: string, name: string) => {
    const secret = await registry.get(secrets, namespace, name).catch((err: unknown) => {
      if (err instanceof ApiError && err.reason === 'NotFound') return undefined;
      throw err;
    });
    if (!secret) return undefined;
    const data = (secret.data ?? {}) as Record<string, string>;
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  };

  const serverUrl = (port: number) =>
    `https://${options.advertiseAddress.includes(':') ? `[${options.advertiseAddress}]` : options.advertiseAddress}:${port}`;
  const pkiOptions = (port: number) => ({
    dataDir: options.dataDir,
    serverNames: [options.advertiseAddress, ...options.tlsSans],
    serverUrl: serverUrl(port),
    serviceIP,
    ...(options.certificateLifetimeMs !== undefined ? { lifetimeMs: options.certificateLifetimeMs } : {}),
    ...(options.adminKubeconfigCopies !== undefined ? { kubeconfigCopies: options.adminKubeconfigCopies } : {}),
  });
  const pkiFor = (port: number) => ensureClusterPki(pkiOptions(port));
  let pki = pkiFor(options.securePort);
  const serviceAccounts = findResource('', 'v1', 'serviceaccounts')!;
  const findObject = async (info: typeof pods, namespace: string, name: string) => {
    try {
      return await registry.get(info, namespace, name);
    } catch (err) {
      if (err instanceof ApiError && err.reason === 'NotFound') return undefined;
      throw err;
    }
  };
  const tokens = new ServiceAccountTokens(pki.serviceAccountKey, options.serviceAccountIssuer ?? defaultIssuer);
  const reviewAccess = accessReviewHandler(authorizer);
  const reviewRules = rulesReviewHandler(policy);
  const issueToken = tokenRequestHandler({
    tokens,
    serviceAccount: (namespace, name) => findObject(serviceAccounts, namespace, name),
    pod: (namespace, name) => findObject(pods, namespace, name),
    secret: (namespace, name) => findObject(secrets, namespace, name),
    maxExpirationSeconds: options.serviceAccountMaxTokenExpirationSeconds ?? defaultMaxTokenExpirationSeconds,
  });
  // every request with a pod-bound token looks its pod up: from the pods-by-node cache's memory
  const boundObjects = {
    pod: async (namespace: string, name: string) => (await podsByNode!.get(namespace, name))?.metadata.uid,
    secret: async (namespace: string, name: string) => (await findObject(secrets, namespace, name))?.metadata.uid,
  };
  const [major, minor] = options.kubernetesVersion.replace(/^v/, '').split('.');
  const auditor = options.audit
    ? new Auditor(
        options.audit.policy,
        new AuditLogWriter({ ...options.audit.log, onError: (err) => logger.error({ err }, 'audit log write failed') }),
      )
    : undefined;
  const frontProxy = ensureFrontProxyPki(pkiDir(options.dataDir));
  // metrics.k8s.io, served here as metrics-server would serve it behind its APIService
  const resourceMetrics = new ResourceMetrics({
    registry,
    pods: podsByNode!,
    kubeletClient: { ca: pki.ca.cert, cert: pki.kubeletClient.cert, key: pki.kubeletClient.key },
    ...(clusterDialer ? { dialer: clusterDialer } : {}),
    ...(options.metricResolutionMs !== undefined ? { resolutionMs: options.metricResolutionMs } : {}),
    logger: logger.child({ component: 'resource-metrics' }),
  });
  const aggregator = new Aggregator({
    registry,
    localBackends: new Map([[metricsApiServiceName, resourceMetrics.api]]),
    frontProxyClient: frontProxy.client,
    logger: logger.child({ component: 'aggregator' }),
    ...(clusterDialer ? { dial: clusterDialer } : {}),
  });
  // the leases this server campaigns for, once its loops start (leader_election_master_status)
  let electionStatus: readonly ElectionStatus[] = [];
  const api = new ApiServer({
    moreMetrics: () =>
      resourceMetrics.metricsText() + (electionStatus.length > 0 ? leaderElectionMetrics(electionStatus) : ''),
    ...(auditor ? { auditor } : {}),
    aggregator,
    registry,
    authenticators: [
      clientCertificateAuthenticator,
      bootstrapTokenAuthenticator(readSecret),
      serviceAccountAuthenticator(
        tokens,
        async (namespace, name) => (await findObject(serviceAccounts, namespace, name))?.metadata.uid,
        boundObjects,
      ),
    ],
    authorizer,
    virtual: async (call) =>
      call.request.subresource === 'token'
        ? issueToken(call)
        : call.request.info.resource === 'selfsubjectrulesreviews'
          ? reviewRules(call)
          : reviewAccess(call),
    tls: { key: pki.serving.key, cert: pki.serving.cert, ca: pki.ca.cert },
    kubeletClient: { ca: pki.ca.cert, cert: pki.kubeletClient.cert, key: pki.kubeletClient.key },
    ...(clusterDialer ? { kubeletDialer: clusterDialer } : {}),
    bindAddress: options.bindAddress,
    port: options.securePort,
    advertiseAddress: `${options.advertiseAddress}:${options.securePort}`,
    version: {
      major: major ?? '1',
      minor: minor ?? '0',
      gitVersion: `${options.kubernetesVersion}-bosun`,
      ...(options.bosunVersion !== undefined ? { bosunVersion: options.bosunVersion } : {}),
    },
    watch: { bookmarkIntervalMs: options.bookmarkIntervalMs, maxTimeoutSeconds: 1800 },
    ...(options.inflight ? { inflight: options.inflight } : {}),
    logger,
    documents: (path, port) => issuerDiscoveryDocument(tokens, path, serverUrl(port)),
    datastoreHealthy: async () => {
      try {
        await storage.currentRevision();
        return true;
      } catch {
        return false;
      }
    },
  });
  // this server's lease and the `kubernetes` Service's endpoints, once the port is known
  let endpointReconciler: ApiServerEndpointReconciler | undefined;
  const apiServerEndpoints = (port: number) =>
    (endpointReconciler ??= new ApiServerEndpointReconciler({
      registry,
      identity: { hostname: hostname(), advertiseAddress: options.advertiseAddress, port },
      timings: options.apiServerLease ?? defaultApiServerLeaseTimings,
      clock: options.clock ?? systemClock,
      logger: logger.child({ component: 'apiserver-lease' }),
    }));
  let port: number;
  try {
    port = await api.listen();
    // With port 0 the real port is known only now: rewrite the kubeconfig to name it.
    if (port !== options.securePort) pki = pkiFor(port);
    await createStartingObjects(registry, {
      serviceIP,
      clusterDnsIP: numberToIp(range.base + 10),
      port,
      clusterKubeconfig: kubeconfigYaml({ cluster: '', server: serverUrl(port), caPem: pki.ca.cert, user: '' }).split(
        'users:',
      )[0]!,
    });
    await reconcileObject(
      registry,
      extensionAuthenticationConfigMap(pki.ca.cert, frontProxy.ca.cert),
      (current) => (current.data = extensionAuthenticationConfigMap(pki.ca.cert, frontProxy.ca.cert).data),
    );
    await ensureObject(registry, extensionAuthenticationReaderRole);
    await apiServerEndpoints(port).renewAndReconcile();
    for (const apiService of localApiServices()) await ensureObject(registry, apiService);
    await ensureObject(registry, metricsApiService);
    await aggregator.start();
    await resourceMetrics.start();
  } catch (err) {
    await resourceMetrics.stop();
    aggregator.stop();
    policy.stop();
    stopCaches();
    await api.close();
    await registry.close();
    await storage.close();
    throw err;
  }

  const stopEndpoints = new AbortController();
  const reconcilingEndpoints = apiServerEndpoints(port).run(stopEndpoints.signal);
  const compactor = startCompactor(storage, options.compactionIntervalMs, logger);
  const stopRepair = new AbortController();
  const repairing = new AllocationRepair({
    registry,
    claims,
    serviceCidr: options.serviceCidr,
    clock: options.clock ?? systemClock,
    ...(options.allocationRepairIntervalMs !== undefined ? { intervalMs: options.allocationRepairIntervalMs } : {}),
    logger: logger.child({ component: 'allocation-repair' }),
  }).run(stopRepair.signal);
  const stopSnapshots = scheduleSnapshots(options, logger);
  // the server's own loops talk to it as its admin, in process or over loopback HTTPS
  const selfHost =
    options.bindAddress === '0.0.0.0' || options.bindAddress === '::' ? '127.0.0.1' : options.bindAddress;
  const selfAdmin = loopbackClientConfig(options.controllersLoopback ?? 'in-process', api, {
    server: `https://${selfHost.includes(':') ? `[${selfHost}]` : selfHost}:${port}`,
    ca: pki.ca.cert,
    cert: pki.admin.cert,
    key: pki.admin.key,
  });
  // signs cluster-info for joining nodes and issues node certificates
  const certificates = new CertificateLoop({
    client: selfAdmin,
    ca: pki.ca,
    logger: logger.child({ component: 'certificates' }),
    reserved: reservedServingNames(options.serviceCidr),
  });
  certificates.start();
  // the scheduler and controllers reach this server with the admin identity, as a separate
  // controller manager would (they meet the API only through HTTP, in process or over loopback)
  let loops: { stop(): Promise<void> } | undefined;
  let loopsClients: KubeClient[] = [];
  if (options.controlLoops) {
    try {
      const started = await startLoops(options, selfAdmin);
      loops = started.loops;
      loopsClients = started.clients;
      electionStatus = started.leases;
    } catch (err) {
      stopRepair.abort();
      stopEndpoints.abort();
      stopSnapshots();
      await resourceMetrics.stop();
      await certificates.stop();
      compactor.stop();
      policy.stop();
      await api.close();
      await registry.close();
      await storage.close();
      throw new Error(`the controllers could not start: ${(err as Error).message}`);
    }
  }
  // certificates renewed (here at a third of their life left, or by `bosun certs renew`) go to use in place
  const renewal = new CertificateRenewal({
    pki: pkiOptions(port),
    current: pki,
    clock: options.clock ?? systemClock,
    ...(options.certificateCheckIntervalMs !== undefined
      ? { checkIntervalMs: options.certificateCheckIntervalMs }
      : {}),
    logger: logger.child({ component: 'certificate-renewal' }),
    apply: (next) => {
      api.useCertificates({
        serving: next.serving,
        ca: next.ca.cert,
        kubeletClient: { ca: next.ca.cert, cert: next.kubeletClient.cert, key: next.kubeletClient.key },
      });
      resourceMetrics.useClientTls({ ca: next.ca.cert, cert: next.kubeletClient.cert, key: next.kubeletClient.key });
      certificates.useClientCertificate(next.admin.cert, next.admin.key);
      for (const client of loopsClients) client.useClientCertificate(next.admin.cert, next.admin.key);
    },
  });
  const stopRenewal = new AbortController();
  const renewing = renewal.run(stopRenewal.signal);
  logger.info({ port, datastore: options.datastore, kubeconfig: pki.kubeconfigPath }, 'bosun server is serving');
  let closed = false;
  return {
    port,
    url: serverUrl(port),
    kubeconfigPath: pki.kubeconfigPath,
    storage,
    api,
    close: async () => {
      if (closed) return;
      closed = true;
      // out of the `kubernetes` endpoints first, so that clients stop being sent here
      stopEndpoints.abort();
      await reconcilingEndpoints;
      await endpointReconciler?.leave().catch((err: unknown) => {
        logger.warn({ err: (err as Error).message }, 'could not leave the kubernetes endpoints; the lease will expire');
      });
      stopRenewal.abort();
      await renewing;
      await loops?.stop();
      for (const client of loopsClients) client.close();
      stopRepair.abort();
      await repairing;
      stopSnapshots();
      await certificates.stop();
      compactor.stop();
      crds.stop();
      policy.stop();
      await resourceMetrics.stop();
      aggregator.stop();
      stopCaches();
      await api.close();
      await auditor?.close();
      await registry.close();
      await storage.close();
    },
  };
}
