/**
 * The admission chain the registry calls before every write: defaulting, DefaultTolerationSeconds,
 * ClusterIP/NodePort allocation, namespace existence and termination, validation (one module per API
 * group, in ../validation/), then Pod Security (validating admission, so it sees the object as
 * mutated) and ResourceQuota.
 */
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Admit, AdmissionRequest } from '../api/registry.ts';
import { findResource, type ResourceInfo } from '../api/resources.ts';
import { currentUser, isDryRun } from '../api/request-context.ts';
import { applyLimitRanges } from './limit-range.ts';
import { nodeRestriction } from './node-restriction.ts';
import { stampRequester } from './csr-requester.ts';
import { admitCertificateRequest } from './csr-approval.ts';
import type { SignerPermission } from '../auth/signer-permission.ts';
import { recordRegisteredAddresses } from './registered-addresses.ts';
import { addUsage, checkQuotas, usageOf, type Usage } from './resource-quota.ts';
import { allocateIp, allocatePort, inRange, nodePortRange, parseCidr } from './allocators.ts';
import type { ClaimKind, ClaimOwner } from '../allocation/claims.ts';
import { defaultNamespace, defaultNetworkPolicy, defaultPod, defaultService, defaultWorkload } from './defaults.ts';
import { checkShape } from './shape.ts';
import { defaultExtensionObject } from './extension-defaults.ts';
import { runMutatingWebhooks, runValidatingWebhooks, type WebhookLookups } from './webhooks/dispatch.ts';
import { runValidatingAdmissionPolicies, type PolicyLookups } from './policies/admit-policies.ts';
import { defaultCrd } from '../apiextensions/crd-defaults.ts';
import { admitPodPriority, admitPriorityClass, defaultPreemptionPolicy } from './priority.ts';
import { defaultReplicationController } from './replication-controller.ts';
import { defaultPersistentVolume, defaultPersistentVolumeClaim, defaultStorageClass } from './storage-defaults.ts';
import { setDefaultStorageClass } from './default-storage-class.ts';
import { admitClaimResize } from './claim-resize.ts';
import { addDefaultTolerations, type DefaultTolerationSeconds } from './tolerations.ts';
import { inheritImagePullSecrets, mountServiceAccountToken } from './service-account.ts';
import { admitPodSecurity } from './pod-security/admit.ts';
import { defaultPodSecurityConfig, type PodSecurityConfig } from './pod-security/config.ts';
import { FieldErrors, validateEphemeralContainersWrite, validateObject, validateStatus } from '../validation/index.ts';

type Any = Record<string, any>;

interface AdmissionDeps {
  readonly serviceCidr: string;
  /** Every Service in the cluster (for IP and port allocation). */
  services(): Promise<readonly KubeObject[]>;
  /**
   * Claims each ClusterIP and NodePort in the datastore as it is handed out, so that servers
   * sharing one datastore never hand out a value twice (../allocation/claims.ts); absent: the
   * Services read decide alone (one server, whose Service writes run one at a time).
   */
  claims?: AllocationClaims;
  /** The namespace object, if it exists. */
  namespace(name: string): Promise<KubeObject | undefined>;
  /** Objects of a resource (by ResourceInfo) in one namespace. */
  listIn(info: ResourceInfo, namespace: string): Promise<readonly KubeObject[]>;
  /** The service account, if it exists (for the token volume of new pods); absent: no token volumes. */
  serviceAccount?(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** Whether a user may approve or sign for a CSR signer; absent: only system:masters may. */
  signerPermission?: SignerPermission;
  /** How long new pods tolerate not-ready and unreachable nodes (default 300 s each). */
  readonly defaultTolerationSeconds?: DefaultTolerationSeconds;
  /** Pod Security defaults and exemptions; absent: upstream's defaults (enforce privileged, warn and audit baseline). */
  podSecurity?: PodSecurityConfig;
  /** Where admission webhooks are configured and reached; absent: no webhooks are called. */
  webhooks?: WebhookLookups;
  /** Where ValidatingAdmissionPolicies and their bindings are read; absent: no policies apply. */
  policies?: PolicyLookups;
  /**
   * The stored PriorityClasses; one named `including` that was created a moment ago is read live
   * when the memory copy does not hold it yet. Absent: read through `listIn`.
   */
  priorityClasses?(including?: string): Promise<readonly KubeObject[]>;
  /** Records a quota's usage after an admitted create. */
  recordQuotaUsage(
    namespace: string,
    name: string,
    hard: Record<string, unknown>,
    used: Record<string, string>,
  ): Promise<void>;
}

interface AllocationClaims {
  /** True when the value is now the owner's (or already was); false when another Service holds it. */
  claim(kind: ClaimKind, value: string, owner: ClaimOwner): Promise<boolean>;
  release(kind: ClaimKind, value: string, ownerUid: string): Promise<void>;
}

/** A value claimed during one admission, freed again if the write does not happen. */
type NewClaim = readonly [ClaimKind, string];

/** How many values taken elsewhere meanwhile an allocation skips before it gives up. */
const maxClaimAttempts = 64;

const workloads = new Set(['Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet', 'Job', 'CronJob']);

export function admissionChain(deps: AdmissionDeps): Admit {
  const range = parseCidr(deps.serviceCidr);
  const limitRanges = findResource('', 'v1', 'limitranges')!;
  const resourceQuotas = findResource('', 'v1', 'resourcequotas')!;
  const nodes = findResource('', 'v1', 'nodes')!;
  const pods = findResource('', 'v1', 'pods')!;
  const storageClasses = findResource('storage.k8s.io', 'v1', 'storageclasses')!;
  const priorityClasses = findResource('scheduling.k8s.io', 'v1', 'priorityclasses')!;
  const storedClasses = (including?: string) => deps.priorityClasses?.(including) ?? deps.listIn(priorityClasses, '');
  const podSecurityLookups = { namespace: deps.namespace, pods: (namespace: string) => deps.listIn(pods, namespace) };

  async function allocate(request: AdmissionRequest, svc: Any, claimed: NewClaim[]): Promise<void> {
    const spec = svc.spec;
    const owner: ClaimOwner = {
      namespace: svc.metadata.namespace ?? '',
      name: svc.metadata.name ?? '',
      uid: svc.metadata.uid,
    };
    /** Whether this Service may hold `value`: claimed in the datastore now (or already its own). */
    const take = async (kind: ClaimKind, value: string): Promise<boolean> => {
      if (deps.claims === undefined || isDryRun()) return true;
      if (!(await deps.claims.claim(kind, value, owner))) return false;
      claimed.push([kind, value]);
      return true;
    };
    /** A free value by `pick`, skipping those another server claimed since the Services were read. */
    const allocateFree = async <T extends string | number>(
      kind: ClaimKind,
      pick: () => T,
      used: Set<T>,
    ): Promise<T> => {
      for (let attempt = 0; attempt < maxClaimAttempts; attempt++) {
        const candidate = pick();
        if (await take(kind, String(candidate))) return candidate;
        used.add(candidate);
      }
      throw new ApiError(
        'InternalError',
        `could not allocate a ${kind === 'ip' ? 'ClusterIP' : 'NodePort'}: every value tried was taken meanwhile`,
      );
    };
    const old = request.old?.spec as Any | undefined;
    const all = (await deps.services()).filter((s) => s.metadata.uid !== svc.metadata.uid);
    if (spec.type === 'ExternalName') return;
    if (old?.clusterIP && spec.clusterIP === undefined) spec.clusterIP = old.clusterIP;
    if (old?.clusterIP && spec.clusterIP !== old.clusterIP) {
      throw new ApiError(
        'Invalid',
        `Service "${svc.metadata.name}" is invalid: spec.clusterIP: Invalid value: "${spec.clusterIP}": field is immutable`,
        {
          kind: 'Service',
          name: svc.metadata.name,
          causes: [{ reason: 'FieldValueInvalid', field: 'spec.clusterIP', message: 'field is immutable' }],
        },
      );
    }
    const usedIps = new Set(
      all.map((s) => (s.spec as Any)?.clusterIP).filter((ip): ip is string => typeof ip === 'string'),
    );
    if (spec.clusterIP === undefined || spec.clusterIP === '') {
      spec.clusterIP = await allocateFree('ip', () => allocateIp(range, usedIps), usedIps);
    } else if (spec.clusterIP !== 'None' && !old?.clusterIP) {
      const errors = new FieldErrors();
      if (!inRange(range, spec.clusterIP))
        errors.invalid(
          'spec.clusterIP',
          spec.clusterIP,
          `provided IP is not in the valid range. The range of valid IPs is ${deps.serviceCidr}`,
        );
      else if (usedIps.has(spec.clusterIP) || !(await take('ip', spec.clusterIP)))
        errors.invalid('spec.clusterIP', spec.clusterIP, 'provided IP is already allocated');
      errors.throwIfAny('Service', '', svc.metadata.name);
    }
    spec.clusterIPs = spec.clusterIP === 'None' ? ['None'] : [spec.clusterIP];
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
      const usedPorts = new Set<number>();
      for (const s of all)
        for (const p of ((s.spec as Any)?.ports ?? []) as Any[]) if (p.nodePort) usedPorts.add(p.nodePort);
      const errors = new FieldErrors();
      for (const [i, port] of ((spec.ports ?? []) as Any[]).entries()) {
        const previous = (old?.ports as Any[] | undefined)?.find(
          (p) => p.port === port.port && p.protocol === port.protocol,
        )?.nodePort;
        if (port.nodePort === undefined)
          port.nodePort = previous ?? (await allocateFree('nodePort', () => allocatePort(usedPorts), usedPorts));
        else if (port.nodePort !== previous) {
          if (port.nodePort < nodePortRange.first || port.nodePort > nodePortRange.last)
            errors.invalid(
              `spec.ports[${i}].nodePort`,
              port.nodePort,
              `provided port is not in the valid range. The range of valid ports is ${nodePortRange.first}-${nodePortRange.last}`,
            );
          else if (usedPorts.has(port.nodePort) || !(await take('nodePort', String(port.nodePort))))
            errors.invalid(`spec.ports[${i}].nodePort`, port.nodePort, 'provided port is already allocated');
        }
        usedPorts.add(port.nodePort);
      }
      errors.throwIfAny('Service', '', svc.metadata.name);
    } else {
      for (const port of (spec.ports ?? []) as Any[]) delete port.nodePort;
    }
  }

  /** Refuses a create that would exceed a quota of its namespace, else records the new usage. */
  async function chargeQuota(info: ResourceInfo, object: Any, namespace: string): Promise<void> {
    const quotas = await deps.listIn(resourceQuotas, namespace);
    if (quotas.length === 0) return;
    const adding = usageOf(info.resource, info.group, object);
    const limited = new Set(quotas.flatMap((q) => Object.keys((q.spec as Any | undefined)?.hard ?? {})));
    if (!Object.keys(adding).some((k) => limited.has(k))) return;
    let current: Usage = {};
    for (const existing of await deps.listIn(info, namespace))
      current = addUsage(current, usageOf(info.resource, info.group, existing));
    const verdict = checkQuotas(quotas, current, adding);
    if (verdict.exceeded.length > 0) {
      throw new ApiError(
        'Forbidden',
        `${info.resource} "${object.metadata?.name ?? ''}" is forbidden: ${verdict.exceeded.join('; ')}`,
      );
    }
    if (isDryRun()) return;
    for (const quota of quotas) {
      await deps.recordQuotaUsage(
        namespace,
        quota.metadata.name!,
        (quota.spec as Any | undefined)?.hard ?? {},
        verdict.used[quota.metadata.name!] ?? {},
      );
    }
  }

  return async (request) => {
    const { info, object, operation, subresource } = request;
    const o = object as Any;
    await nodeRestriction(request, currentUser(), {
      nodeUid: async (name) => (await deps.listIn(nodes, '')).find((n) => n.metadata.name === name)?.metadata.uid,
    });
    stampRequester(request, currentUser());
    await admitCertificateRequest(request, currentUser(), deps.signerPermission ?? mastersOnly);
    recordRegisteredAddresses(request);
    if (info.namespaced && operation === 'CREATE') await requireNamespace(deps, info, object);
    if (subresource === 'status' && deps.webhooks) await runMutatingWebhooks(request, deps.webhooks);
    // a custom resource is checked by its definition's schema and rules (controlplane/apiextensions/),
    // between the mutating and the validating webhooks and policies, as upstream orders them
    if (info.custom !== undefined) {
      if (subresource === undefined && deps.webhooks) await runMutatingWebhooks(request, deps.webhooks);
      await info.custom.admit(o, request.old as Any | undefined, subresource);
      if (subresource === undefined && deps.policies) await runValidatingAdmissionPolicies(request, deps.policies);
      if ((subresource === undefined || subresource === 'status') && deps.webhooks)
        await runValidatingWebhooks(request, deps.webhooks);
      return;
    }
    if (subresource === 'status') validateStatus(info, o);
    if (subresource === 'ephemeralcontainers' && request.old !== undefined) {
      // The only subresource that changes a pod's spec: defaulted, validated and judged by Pod Security as upstream does.
      defaultPod(o);
      validateEphemeralContainersWrite(info, o, request.old as Any);
      await admitPodSecurity(request, deps.podSecurity ?? defaultPodSecurityConfig, podSecurityLookups);
      return;
    }
    if (subresource !== undefined) {
      if (subresource === 'status' && deps.webhooks) await runValidatingWebhooks(request, deps.webhooks);
      return;
    }
    const namespace = object.metadata.namespace ?? '';
    const claimed: NewClaim[] = [];
    checkShape(info.group === '' ? info.resource : `${info.group}/${info.resource}`, info.kind, o);
    try {
      // before defaulting fills in priority 0: the number a client sent must be seen as sent
      if (operation === 'CREATE' && info.group === '' && info.resource === 'pods')
        admitPodPriority(o, await storedClasses(o.spec?.priorityClassName));
      if (info === priorityClasses) {
        o.preemptionPolicy ??= defaultPreemptionPolicy;
        admitPriorityClass(object, await storedClasses());
      }
      mutate(info, o, request.old === undefined, deps.defaultTolerationSeconds);
      if (
        operation === 'CREATE' &&
        info.group === '' &&
        info.resource === 'pods' &&
        deps.serviceAccount !== undefined
      ) {
        const serviceAccount = await deps.serviceAccount(namespace, o.spec.serviceAccountName);
        mountServiceAccountToken(o, serviceAccount);
        inheritImagePullSecrets(o, serviceAccount);
      }
      if (operation === 'CREATE' && info.group === '' && info.resource === 'pods') {
        const violations = applyLimitRanges(o, await deps.listIn(limitRanges, namespace));
        if (violations.length > 0)
          throw new ApiError('Forbidden', `pods "${o.metadata.name ?? ''}" is forbidden: [${violations.join(', ')}]`);
      }
      const claims = info.group === '' && info.resource === 'persistentvolumeclaims';
      if (claims && operation === 'CREATE') setDefaultStorageClass(o, await deps.listIn(storageClasses, ''));
      if (info.group === '' && info.resource === 'services') await allocate(request, o, claimed);
      // MutatingAdmissionWebhook is the last mutating plugin; what it returns is checked and
      // defaulted again, as upstream decodes a webhook's answer
      if (deps.webhooks && (await runMutatingWebhooks(request, deps.webhooks))) {
        checkShape(info.group === '' ? info.resource : `${info.group}/${info.resource}`, info.kind, o);
        mutate(info, o, request.old === undefined, deps.defaultTolerationSeconds);
      }
      validateObject(info, o, request.old as Any | undefined);
      // validating admission: after the field rules, as upstream orders them
      if (claims && request.old !== undefined)
        admitClaimResize(o, request.old as Any, await deps.listIn(storageClasses, ''));
      await admitPodSecurity(request, deps.podSecurity ?? defaultPodSecurityConfig, podSecurityLookups);
      if (deps.policies) await runValidatingAdmissionPolicies(request, deps.policies);
      if (deps.webhooks) await runValidatingWebhooks(request, deps.webhooks);
      if (operation === 'CREATE' && info.namespaced) await chargeQuota(info, o, namespace);
    } catch (err) {
      // refused after values were claimed for it: they go back at once (the repair loop is the backstop)
      for (const [kind, value] of claimed)
        await deps.claims?.release(kind, value, o.metadata.uid).catch(() => undefined);
      // A shape that checkShape does not cover yet: refuse it as a bad request, never a server error.
      if (err instanceof TypeError)
        throw new ApiError('BadRequest', `${info.kind} has a field of an unexpected type: ${err.message}`);
      throw err;
    }
  };
}

const mastersOnly: SignerPermission = async (user) => user.groups.includes('system:masters');

async function requireNamespace(deps: AdmissionDeps, info: ResourceInfo, object: KubeObject): Promise<void> {
  const name = object.metadata.namespace ?? '';
  const ns = await deps.namespace(name);
  if (ns === undefined) throw new ApiError('NotFound', `namespaces "${name}" not found`, { name, kind: 'namespaces' });
  if ((ns.status as Any | undefined)?.phase === 'Terminating' || ns.metadata.deletionTimestamp) {
    throw new ApiError(
      'Forbidden',
      `${info.resource} "${object.metadata.name ?? ''}" is forbidden: unable to create new content in namespace ${name} because it is being terminated`,
    );
  }
}

function mutate(
  info: ResourceInfo,
  o: Any,
  creating: boolean,
  tolerationSeconds: DefaultTolerationSeconds | undefined,
): void {
  if (info.group === '') {
    switch (info.resource) {
      case 'pods':
        defaultPod(o);
        if (creating) addDefaultTolerations(o.spec, tolerationSeconds);
        return;
      case 'services':
        return defaultService(o);
      case 'namespaces':
        return defaultNamespace(o, creating);
      case 'secrets':
        o.type ??= 'Opaque';
        return;
      case 'replicationcontrollers':
        return defaultReplicationController(o);
      case 'persistentvolumes':
        return defaultPersistentVolume(o, creating);
      case 'persistentvolumeclaims':
        return defaultPersistentVolumeClaim(o, creating);
    }
  }
  if (info.group === 'storage.k8s.io' && info.resource === 'storageclasses') defaultStorageClass(o);
  if (info.group === 'apiextensions.k8s.io' && info.resource === 'customresourcedefinitions') return defaultCrd(o);
  if (info.group === 'networking.k8s.io' && info.resource === 'networkpolicies') return defaultNetworkPolicy(o);
  if (workloads.has(info.kind) && (info.group === 'apps' || info.group === 'batch'))
    defaultWorkload(info.kind, o, creating);
  defaultExtensionObject(info.group, info.resource, o);
}
