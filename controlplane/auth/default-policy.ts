/**
 * The roles and bindings a fresh cluster starts with, as upstream's bootstrap policy has them:
 * cluster-admin; admin/edit/view with their aggregation labels and the system:aggregate-to-*
 * roles they gather; discovery, basic-user and public-info for everyone; the node-bootstrap roles
 * of TLS bootstrapping; service-account issuer discovery; and anonymous read of
 * kube-public/cluster-info. Missing ones are created at start; see reconcileDefaultRole for updates.
 */
import type { KubeObject } from '../../kube/types.ts';

const rbac = 'rbac.authorization.k8s.io/v1';
const bootstrapLabels = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const autoupdate = 'rbac.authorization.kubernetes.io/autoupdate';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

function clusterRole(
  name: string,
  rules: Rule[],
  extra: { labels?: Record<string, string>; aggregateFrom?: string } = {},
): KubeObject {
  return {
    apiVersion: rbac,
    kind: 'ClusterRole',
    metadata: { name, labels: { ...bootstrapLabels, ...extra.labels }, annotations: { [autoupdate]: 'true' } },
    ...(extra.aggregateFrom
      ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [extra.aggregateFrom]: 'true' } }] } }
      : {}),
    rules,
  };
}

function clusterBinding(name: string, role: string, subjects: object[]): KubeObject {
  return {
    apiVersion: rbac,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: bootstrapLabels, annotations: { [autoupdate]: 'true' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects,
  };
}

const group = (name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name });
const read = ['get', 'list', 'watch'];
const write = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const on = (apiGroups: string[], resources: string[], verbs: string[]): Rule => ({ apiGroups, resources, verbs });

const toAdmin = 'rbac.authorization.k8s.io/aggregate-to-admin';
const toEdit = 'rbac.authorization.k8s.io/aggregate-to-edit';
const toView = 'rbac.authorization.k8s.io/aggregate-to-view';

/** Reading what a namespace runs; no secrets, nothing that leads to them (exec, proxy). */
const viewRules: Rule[] = [
  on(
    [''],
    [
      'configmaps',
      'endpoints',
      'persistentvolumeclaims',
      'persistentvolumeclaims/status',
      'pods',
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'serviceaccounts',
      'services',
      'services/status',
    ],
    read,
  ),
  on(
    [''],
    [
      'bindings',
      'events',
      'limitranges',
      'namespaces/status',
      'pods/log',
      'pods/status',
      'replicationcontrollers/status',
      'resourcequotas',
      'resourcequotas/status',
    ],
    read,
  ),
  on([''], ['namespaces'], read),
  on(['discovery.k8s.io'], ['endpointslices'], read),
  on(
    ['apps'],
    [
      'controllerrevisions',
      'daemonsets',
      'daemonsets/status',
      'deployments',
      'deployments/scale',
      'deployments/status',
      'replicasets',
      'replicasets/scale',
      'replicasets/status',
      'statefulsets',
      'statefulsets/scale',
      'statefulsets/status',
    ],
    read,
  ),
  on(['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status'], read),
  on(['batch'], ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status'], read),
  on(
    ['extensions'],
    [
      'daemonsets',
      'daemonsets/status',
      'deployments',
      'deployments/scale',
      'deployments/status',
      'ingresses',
      'ingresses/status',
      'networkpolicies',
      'replicasets',
      'replicasets/scale',
      'replicasets/status',
      'replicationcontrollers/scale',
    ],
    read,
  ),
  on(['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status'], read),
  on(['networking.k8s.io'], ['ingresses', 'ingresses/status', 'networkpolicies'], read),
];

/**
 * Writing workloads. Not what the system owns: no /status, no quota or limit ranges, no
 * Endpoints or EndpointSlices (which would steer a Service's traffic anywhere), no RBAC.
 */
const editRules: Rule[] = [
  on([''], ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy'], read),
  on([''], ['serviceaccounts'], ['impersonate']),
  on([''], ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy'], write),
  on([''], ['pods/eviction'], ['create']),
  on(
    [''],
    [
      'configmaps',
      'events',
      'persistentvolumeclaims',
      'replicationcontrollers',
      'replicationcontrollers/scale',
      'secrets',
      'serviceaccounts',
      'services',
      'services/proxy',
    ],
    write,
  ),
  on([''], ['serviceaccounts/token'], ['create']),
  on(
    ['apps'],
    [
      'daemonsets',
      'deployments',
      'deployments/rollback',
      'deployments/scale',
      'replicasets',
      'replicasets/scale',
      'statefulsets',
      'statefulsets/scale',
    ],
    write,
  ),
  on(['autoscaling'], ['horizontalpodautoscalers'], write),
  on(['batch'], ['cronjobs', 'jobs'], write),
  on(
    ['extensions'],
    [
      'daemonsets',
      'deployments',
      'deployments/rollback',
      'deployments/scale',
      'ingresses',
      'networkpolicies',
      'replicasets',
      'replicasets/scale',
      'replicationcontrollers/scale',
    ],
    write,
  ),
  on(['policy'], ['poddisruptionbudgets'], write),
  on(['networking.k8s.io'], ['ingresses', 'networkpolicies'], write),
  on(['coordination.k8s.io'], ['leases'], [...write, ...read]),
];

/** Granting access inside the namespace (the escalation check still limits it to what admin holds). */
const adminRules: Rule[] = [
  on(['authorization.k8s.io'], ['localsubjectaccessreviews'], ['create']),
  on(['rbac.authorization.k8s.io'], ['rolebindings', 'roles'], [...write, ...read]),
];

/**
 * Reading the resource metrics API (`kubectl top`), which the server serves itself: the role
 * metrics-server's manifest installs, aggregated into view, edit and admin.
 */
const metricsReaderRules: Rule[] = [on(['metrics.k8s.io'], ['pods', 'nodes'], read)];

// admin, edit and view gather their rules by label (aggregationRule). The rules stored with them
// are what that gathering yields from the defaults, in upstream's order (roles sorted by name, each
// rule once): view = aggregate-to-view + aggregated-metrics-reader; edit = aggregate-to-edit +
// aggregated-metrics-reader + view; admin = edit + aggregate-to-admin.
const aggregatedView = [...viewRules, ...metricsReaderRules];
const aggregatedEdit = [...editRules, ...metricsReaderRules, ...viewRules];
const aggregatedAdmin = [...aggregatedEdit, ...adminRules];

export const defaultClusterRoles: KubeObject[] = [
  clusterRole('cluster-admin', [on(['*'], ['*'], ['*']), { nonResourceURLs: ['*'], verbs: ['*'] }]),
  clusterRole('admin', aggregatedAdmin, { aggregateFrom: toAdmin }),
  clusterRole('edit', aggregatedEdit, { aggregateFrom: toEdit, labels: { [toAdmin]: 'true' } }),
  clusterRole('view', aggregatedView, { aggregateFrom: toView, labels: { [toEdit]: 'true' } }),
  clusterRole('system:aggregate-to-admin', adminRules, { labels: { [toAdmin]: 'true' } }),
  clusterRole('system:aggregate-to-edit', editRules, { labels: { [toEdit]: 'true' } }),
  clusterRole('system:aggregate-to-view', viewRules, { labels: { [toView]: 'true' } }),
  clusterRole('system:aggregated-metrics-reader', metricsReaderRules, {
    labels: { [toView]: 'true', [toEdit]: 'true', [toAdmin]: 'true' },
  }),
  clusterRole('system:discovery', [
    {
      nonResourceURLs: [
        '/api',
        '/api/*',
        '/apis',
        '/apis/*',
        '/healthz',
        '/livez',
        '/openapi',
        '/openapi/*',
        '/readyz',
        '/version',
        '/version/',
      ],
      verbs: ['get'],
    },
  ]),
  clusterRole('system:public-info-viewer', [
    { nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] },
  ]),
  clusterRole('system:basic-user', [
    on(['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], ['create']),
    on(['authentication.k8s.io'], ['selfsubjectreviews'], ['create']),
  ]),
  clusterRole('system:service-account-issuer-discovery', [
    {
      nonResourceURLs: [
        '/.well-known/openid-configuration',
        '/.well-known/openid-configuration/',
        '/openid/v1/jwks',
        '/openid/v1/jwks/',
      ],
      verbs: ['get'],
    },
  ]),
  clusterRole('system:monitoring', [
    {
      nonResourceURLs: [
        '/healthz',
        '/healthz/*',
        '/livez',
        '/livez/*',
        '/metrics',
        '/metrics/slis',
        '/readyz',
        '/readyz/*',
      ],
      verbs: ['get'],
    },
  ]),
  // what an aggregated API server needs to check the callers it is sent: token and access reviews
  clusterRole('system:auth-delegator', [
    on(['authentication.k8s.io'], ['tokenreviews'], ['create']),
    on(['authorization.k8s.io'], ['subjectaccessreviews'], ['create']),
  ]),
  clusterRole('system:node-bootstrapper', [
    on(['certificates.k8s.io'], ['certificatesigningrequests'], ['create', 'get', 'list', 'watch']),
  ]),
  clusterRole('system:certificates.k8s.io:certificatesigningrequests:nodeclient', [
    on(['certificates.k8s.io'], ['certificatesigningrequests/nodeclient'], ['create']),
  ]),
  clusterRole('system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', [
    on(['certificates.k8s.io'], ['certificatesigningrequests/selfnodeclient'], ['create']),
  ]),
];

export const defaultClusterRoleBindings: KubeObject[] = [
  clusterBinding('cluster-admin', 'cluster-admin', [group('system:masters')]),
  clusterBinding('system:discovery', 'system:discovery', [group('system:authenticated')]),
  clusterBinding('system:public-info-viewer', 'system:public-info-viewer', [
    group('system:authenticated'),
    group('system:unauthenticated'),
  ]),
  clusterBinding('system:basic-user', 'system:basic-user', [group('system:authenticated')]),
  clusterBinding('system:service-account-issuer-discovery', 'system:service-account-issuer-discovery', [
    group('system:serviceaccounts'),
  ]),
  clusterBinding('system:monitoring', 'system:monitoring', [group('system:monitoring')]),
  clusterBinding('bosun:node-bootstrapper', 'system:node-bootstrapper', [group('system:bootstrappers')]),
  clusterBinding(
    'bosun:node-autoapprove-bootstrap',
    'system:certificates.k8s.io:certificatesigningrequests:nodeclient',
    [group('system:bootstrappers')],
  ),
  clusterBinding(
    'bosun:node-autoapprove-certificate-rotation',
    'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient',
    [group('system:nodes')],
  ),
];

/** Anonymous clients may read only kube-public/cluster-info (join discovery). */
export const clusterInfoRole: KubeObject = {
  apiVersion: rbac,
  kind: 'Role',
  metadata: { name: 'bosun:bootstrap-signer-clusterinfo', namespace: 'kube-public' },
  rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['cluster-info'], verbs: ['get'] }],
};

export const clusterInfoRoleBinding: KubeObject = {
  apiVersion: rbac,
  kind: 'RoleBinding',
  metadata: { name: 'bosun:bootstrap-signer-clusterinfo', namespace: 'kube-public' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'bosun:bootstrap-signer-clusterinfo' },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'system:anonymous' }],
};

/** Extension API servers read how to authenticate the front proxy (and clients) from this ConfigMap. */
export const extensionAuthenticationReaderRole: KubeObject = {
  apiVersion: rbac,
  kind: 'Role',
  metadata: {
    name: 'extension-apiserver-authentication-reader',
    namespace: 'kube-system',
    labels: bootstrapLabels,
    annotations: { [autoupdate]: 'true' },
  },
  rules: [
    { apiGroups: [''], resources: ['configmaps'], resourceNames: ['extension-apiserver-authentication'], verbs: read },
  ],
};

type Any = Record<string, any>;

/**
 * What a default ClusterRole already stored should become when the server starts, or undefined to
 * leave it: an operator opts out with the annotation autoupdate "false". Roles that gather by
 * label take exactly the gathered rules (upstream's aggregation controller rewrites them whole, so
 * permissions a role lost, such as edit writing EndpointSlices, go); others only gain the rules
 * they lack, as upstream's start-up reconciliation adds and never removes.
 */
export function reconcileDefaultRole(current: KubeObject, desired: KubeObject): KubeObject | undefined {
  if (current.metadata.annotations?.[autoupdate] === 'false') return undefined;
  const want = desired as Any;
  const have = current as Any;
  const currentRules = (have.rules ?? []) as Rule[];
  const key = (rule: Rule) =>
    JSON.stringify([
      rule.apiGroups ?? [],
      rule.resources ?? [],
      rule.resourceNames ?? [],
      rule.nonResourceURLs ?? [],
      rule.verbs,
    ]);
  const known = new Set(currentRules.map(key));
  const rules = want.aggregationRule
    ? (want.rules as Rule[])
    : [...currentRules, ...(want.rules as Rule[]).filter((r) => !known.has(key(r)))];
  const labels = { ...current.metadata.labels, ...desired.metadata.labels };
  const next = {
    ...have,
    metadata: { ...current.metadata, labels },
    rules,
    ...(want.aggregationRule ? { aggregationRule: want.aggregationRule } : {}),
  };
  const same =
    JSON.stringify([have.rules ?? [], have.aggregationRule, current.metadata.labels ?? {}]) ===
    JSON.stringify([next.rules, next.aggregationRule, labels]);
  return same ? undefined : (next as KubeObject);
}
