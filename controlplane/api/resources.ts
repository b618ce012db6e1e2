/**
 * Every resource the API serves, as data: names, scope, subresources and the extra field-selector
 * fields each one accepts. Discovery, routing, storage keys and admission all read this one table.
 */
import type { ListTypes } from './apply/field-set.ts';
export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export type Subresource =
  | 'status'
  | 'scale'
  | 'binding'
  | 'eviction'
  | 'approval'
  | 'token'
  | 'log'
  | 'exec'
  | 'attach'
  | 'portforward'
  | 'proxy'
  | 'ephemeralcontainers';

/** Pod subresources the server forwards to the node's agent (its kubelet port). */
export const kubeletSubresources: ReadonlySet<string> = new Set(['log', 'exec', 'attach', 'portforward']);

/** nodes/<name>/proxy/...: forwarded to the node's kubelet port as it is. */
export function isNodeProxy(request: {
  info: { group: string; resource: string };
  subresource: string | undefined;
}): boolean {
  return request.info.group === '' && request.info.resource === 'nodes' && request.subresource === 'proxy';
}

/** pods/<name>/proxy/... and services/<name>/proxy/...: sent on by the server to the pod itself. */
export function isWorkloadProxy(request: {
  info: { group: string; resource: string };
  subresource: string | undefined;
}): boolean {
  return (
    request.info.group === '' &&
    (request.info.resource === 'pods' || request.info.resource === 'services') &&
    request.subresource === 'proxy'
  );
}

export interface ResourceInfo {
  readonly group: string;
  readonly version: string;
  /** Plural, lower case: the URL segment. */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly subresources: readonly Subresource[];
  /** Field-selector fields beyond metadata.name and metadata.namespace. */
  readonly fields: readonly string[];
  /** Where objects live in the datastore: /registry/<storageName>/... */
  readonly storageName: string;
  /** Verbs on the main resource; virtual resources (reviews) only take create. */
  readonly verbs: readonly Verb[];
  /** Whether changes outside metadata and status bump metadata.generation. */
  readonly tracksGeneration: boolean;
  /** A custom resource's behaviour, from its CustomResourceDefinition; absent for built-in kinds. */
  readonly custom?: CustomResourceBehaviour;
}

/**
 * What a version of a custom resource does beyond what the registry does for every kind: its
 * schema applied on writes (defaults, pruning, validation, CEL rules) and reads (defaults), its
 * Table columns, its OpenAPI schema and its scale subresource (controlplane/apiextensions/).
 */
export interface CustomResourceBehaviour {
  /** Defaults, prunes and validates an object about to be stored; throws ApiError 422. */
  admit(
    object: Record<string, unknown>,
    old: Record<string, unknown> | undefined,
    subresource: string | undefined,
  ): void;
  /** Drops fields the schema does not know; returns their paths (for fieldValidation). */
  pruneUnknown(object: Record<string, unknown>): string[];
  /** Fills in the schema's defaults on an object read from the datastore. */
  defaultOnRead(object: Record<string, unknown>): void;
  /** The Table for these objects (additionalPrinterColumns). */
  table(
    objects: readonly Record<string, unknown>[],
    resourceVersion: string | undefined,
    includeObject: string,
    now: number,
  ): unknown;
  /** The kind's OpenAPI v3 schema (for kubectl explain and client-side validation). */
  openApiSchema(): Record<string, unknown>;
  /** The list types of the schema, for server-side apply and managedFields (x-kubernetes-list-type). */
  readonly listTypes: ListTypes;
  /** The Warning every request to a deprecated version gets (upstream's, or the definition's own). */
  readonly deprecationWarning?: string;
  /**
   * Conversion between versions by the definition's webhook (strategy Webhook); absent when only
   * the apiVersion differs between versions (strategy None).
   */
  readonly conversion?: VersionConversion;
  /** The scale subresource, when the version has one. */
  readonly scale?: {
    read(object: Record<string, unknown>): Record<string, unknown>;
    write(object: Record<string, unknown>, replicas: unknown): void;
  };
}

/** How a custom resource's objects move between its versions (see CustomResourceBehaviour.conversion). */
export interface VersionConversion {
  /** The apiVersion objects are written in (the definition's storage version). */
  readonly storageApiVersion: string;
  /** These objects in `apiVersion`, in the same order; throws ApiError (a 500) when they cannot be. */
  convert(objects: readonly Record<string, unknown>[], apiVersion: string): Promise<Record<string, unknown>[]>;
}

const allVerbs: readonly Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface Spec {
  group?: string;
  version?: string;
  resource: string;
  kind: string;
  namespaced?: boolean;
  shortNames?: string[];
  categories?: string[];
  subresources?: Subresource[];
  fields?: string[];
  storageName?: string;
  verbs?: Verb[];
  tracksGeneration?: boolean;
}

function define(spec: Spec): ResourceInfo {
  return {
    group: spec.group ?? '',
    version: spec.version ?? 'v1',
    resource: spec.resource,
    singular: spec.kind.toLowerCase(),
    kind: spec.kind,
    namespaced: spec.namespaced ?? true,
    shortNames: spec.shortNames ?? [],
    categories: spec.categories ?? [],
    subresources: spec.subresources ?? [],
    fields: spec.fields ?? [],
    storageName: spec.storageName ?? spec.resource,
    verbs: spec.verbs ?? allVerbs,
    tracksGeneration: spec.tracksGeneration ?? false,
  };
}

const apps = 'apps';
const storage = 'storage.k8s.io';

export const resources: readonly ResourceInfo[] = [
  define({
    resource: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    subresources: ['status'],
    fields: ['status.phase'],
  }),
  define({
    resource: 'nodes',
    kind: 'Node',
    namespaced: false,
    shortNames: ['no'],
    subresources: ['status', 'proxy'],
    fields: ['spec.unschedulable'],
  }),
  define({
    resource: 'pods',
    kind: 'Pod',
    shortNames: ['po'],
    categories: ['all'],
    subresources: [
      'status',
      'binding',
      'eviction',
      'log',
      'exec',
      'attach',
      'portforward',
      'proxy',
      'ephemeralcontainers',
    ],
    fields: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
  }),
  define({
    resource: 'services',
    kind: 'Service',
    shortNames: ['svc'],
    categories: ['all'],
    subresources: ['status', 'proxy'],
    fields: ['spec.clusterIP', 'spec.type'],
  }),
  define({ resource: 'endpoints', kind: 'Endpoints', shortNames: ['ep'] }),
  define({
    resource: 'replicationcontrollers',
    kind: 'ReplicationController',
    shortNames: ['rc'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    tracksGeneration: true,
    fields: ['status.replicas'],
  }),
  define({ resource: 'configmaps', kind: 'ConfigMap', shortNames: ['cm'] }),
  define({ resource: 'secrets', kind: 'Secret', fields: ['type'] }),
  define({ resource: 'serviceaccounts', kind: 'ServiceAccount', shortNames: ['sa'], subresources: ['token'] }),
  define({
    resource: 'events',
    kind: 'Event',
    shortNames: ['ev'],
    fields: [
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  }),
  define({ resource: 'limitranges', kind: 'LimitRange', shortNames: ['limits'] }),
  define({
    resource: 'persistentvolumes',
    kind: 'PersistentVolume',
    namespaced: false,
    shortNames: ['pv'],
    subresources: ['status'],
  }),
  define({
    resource: 'persistentvolumeclaims',
    kind: 'PersistentVolumeClaim',
    shortNames: ['pvc'],
    subresources: ['status'],
  }),
  define({ resource: 'resourcequotas', kind: 'ResourceQuota', shortNames: ['quota'], subresources: ['status'] }),
  define({ group: 'coordination.k8s.io', resource: 'leases', kind: 'Lease' }),
  define({
    group: 'policy',
    resource: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
    shortNames: ['pdb'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  define({
    group: 'scheduling.k8s.io',
    resource: 'priorityclasses',
    kind: 'PriorityClass',
    namespaced: false,
    shortNames: ['pc'],
  }),
  define({ group: 'discovery.k8s.io', resource: 'endpointslices', kind: 'EndpointSlice', fields: ['addressType'] }),
  define({
    group: 'networking.k8s.io',
    resource: 'networkpolicies',
    kind: 'NetworkPolicy',
    shortNames: ['netpol'],
    tracksGeneration: true,
  }),
  define({
    group: 'networking.k8s.io',
    resource: 'ingresses',
    kind: 'Ingress',
    shortNames: ['ing'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  define({ group: 'networking.k8s.io', resource: 'ingressclasses', kind: 'IngressClass', namespaced: false }),
  define({
    group: apps,
    resource: 'deployments',
    kind: 'Deployment',
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    tracksGeneration: true,
  }),
  define({
    group: apps,
    resource: 'replicasets',
    kind: 'ReplicaSet',
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    tracksGeneration: true,
    fields: ['status.replicas'],
  }),
  define({
    group: apps,
    resource: 'daemonsets',
    kind: 'DaemonSet',
    shortNames: ['ds'],
    categories: ['all'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  define({
    group: apps,
    resource: 'statefulsets',
    kind: 'StatefulSet',
    shortNames: ['sts'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    tracksGeneration: true,
    fields: ['status.successful'],
  }),
  define({ group: apps, resource: 'controllerrevisions', kind: 'ControllerRevision' }),
  // One stored (v2) object served through both versions (stored-forms.ts, hpa-conversion.ts).
  ...['v2', 'v1'].map((version) =>
    define({
      group: 'autoscaling',
      version,
      resource: 'horizontalpodautoscalers',
      kind: 'HorizontalPodAutoscaler',
      shortNames: ['hpa'],
      categories: ['all'],
      subresources: ['status'],
    }),
  ),
  define({
    group: 'batch',
    resource: 'jobs',
    kind: 'Job',
    categories: ['all'],
    subresources: ['status'],
    tracksGeneration: true,
    fields: ['status.successful'],
  }),
  define({
    group: 'batch',
    resource: 'cronjobs',
    kind: 'CronJob',
    shortNames: ['cj'],
    categories: ['all'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  define({
    group: storage,
    resource: 'storageclasses',
    kind: 'StorageClass',
    namespaced: false,
    shortNames: ['sc'],
  }),
  // Served so that CSI-era tooling finds what it lists; no CSI driver runs here.
  define({ group: storage, resource: 'csidrivers', kind: 'CSIDriver', namespaced: false }),
  define({ group: storage, resource: 'csinodes', kind: 'CSINode', namespaced: false }),
  define({
    group: storage,
    resource: 'volumeattachments',
    kind: 'VolumeAttachment',
    namespaced: false,
    subresources: ['status'],
  }),
  define({
    group: 'certificates.k8s.io',
    resource: 'certificatesigningrequests',
    kind: 'CertificateSigningRequest',
    namespaced: false,
    shortNames: ['csr'],
    subresources: ['status', 'approval'],
    fields: ['spec.signerName'],
  }),
  define({ group: 'rbac.authorization.k8s.io', resource: 'roles', kind: 'Role' }),
  define({ group: 'rbac.authorization.k8s.io', resource: 'clusterroles', kind: 'ClusterRole', namespaced: false }),
  define({ group: 'rbac.authorization.k8s.io', resource: 'rolebindings', kind: 'RoleBinding' }),
  define({
    group: 'rbac.authorization.k8s.io',
    resource: 'clusterrolebindings',
    kind: 'ClusterRoleBinding',
    namespaced: false,
  }),
  // The same objects as core events, converted on the way in and out (event-conversion.ts).
  define({
    group: 'events.k8s.io',
    resource: 'events',
    kind: 'Event',
    shortNames: ['ev'],
    storageName: 'events',
    fields: [
      'regarding.kind',
      'regarding.namespace',
      'regarding.name',
      'regarding.uid',
      'regarding.apiVersion',
      'regarding.resourceVersion',
      'regarding.fieldPath',
      'reason',
      'reportingController',
      'type',
    ],
  }),
  // Extension points: admission webhooks and policies, and aggregated API servers.
  define({
    group: 'admissionregistration.k8s.io',
    resource: 'mutatingwebhookconfigurations',
    kind: 'MutatingWebhookConfiguration',
    namespaced: false,
    categories: ['api-extensions'],
  }),
  define({
    group: 'admissionregistration.k8s.io',
    resource: 'validatingwebhookconfigurations',
    kind: 'ValidatingWebhookConfiguration',
    namespaced: false,
    categories: ['api-extensions'],
  }),
  define({
    group: 'admissionregistration.k8s.io',
    resource: 'validatingadmissionpolicies',
    kind: 'ValidatingAdmissionPolicy',
    namespaced: false,
    categories: ['api-extensions'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  define({
    group: 'admissionregistration.k8s.io',
    resource: 'validatingadmissionpolicybindings',
    kind: 'ValidatingAdmissionPolicyBinding',
    namespaced: false,
    categories: ['api-extensions'],
  }),
  define({
    group: 'apiregistration.k8s.io',
    resource: 'apiservices',
    kind: 'APIService',
    namespaced: false,
    categories: ['api-extensions'],
    subresources: ['status'],
  }),
  define({
    group: 'apiextensions.k8s.io',
    resource: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    subresources: ['status'],
    tracksGeneration: true,
  }),
  define({
    group: 'authorization.k8s.io',
    resource: 'selfsubjectaccessreviews',
    kind: 'SelfSubjectAccessReview',
    namespaced: false,
    verbs: ['create'],
  }),
  define({
    group: 'authorization.k8s.io',
    resource: 'selfsubjectrulesreviews',
    kind: 'SelfSubjectRulesReview',
    namespaced: false,
    verbs: ['create'],
  }),
  define({
    group: 'authorization.k8s.io',
    resource: 'subjectaccessreviews',
    kind: 'SubjectAccessReview',
    namespaced: false,
    verbs: ['create'],
  }),
  define({
    group: 'authentication.k8s.io',
    resource: 'selfsubjectreviews',
    kind: 'SelfSubjectReview',
    namespaced: false,
    verbs: ['create'],
  }),
];

let customResources: readonly ResourceInfo[] = [];

/**
 * The custom resources served now (every served version of every established
 * CustomResourceDefinition), set by the CRD controller whenever one changes; routing, discovery
 * and OpenAPI read them with the built-in ones.
 */
export function serveCustomResources(served: readonly ResourceInfo[]): void {
  customResources = served;
  customResourcesGeneration++;
}

let customResourcesGeneration = 0;

/** Changes whenever the served custom resources do (documents built from them are stale). */
export function servedGeneration(): number {
  return customResourcesGeneration;
}

/** Built-in resources, then the custom resources served now. */
export function servedResources(): readonly ResourceInfo[] {
  return customResources.length === 0 ? resources : [...resources, ...customResources];
}

/** Resources whose objects are not stored: the request is answered and forgotten. */
export function isVirtual(info: ResourceInfo): boolean {
  return !info.verbs.includes('get');
}

export interface GroupInfo {
  readonly name: string;
  readonly version: string;
  readonly resources: readonly ResourceInfo[];
}

/** Group versions in the order discovery lists them (core first); a group with two versions appears twice. */
export function groups(): GroupInfo[] {
  const byName = new Map<string, GroupInfo>();
  for (const info of servedResources()) {
    const key = `${info.group}/${info.version}`;
    const existing = byName.get(key);
    if (existing) (existing.resources as ResourceInfo[]).push(info);
    else byName.set(key, { name: info.group, version: info.version, resources: [info] });
  }
  return [...byName.values()];
}

export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  const builtIn = resources.find((r) => r.group === group && r.version === version && r.resource === resource);
  return builtIn ?? customResources.find((r) => r.group === group && r.version === version && r.resource === resource);
}

export function resourceByKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return servedResources().find(
    (r) => (r.group === '' ? r.version : `${r.group}/${r.version}`) === apiVersion && r.kind === kind,
  );
}
