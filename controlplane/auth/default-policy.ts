/**
 * The roles and bindings a fresh cluster starts with (created when missing, never overwritten):
 * cluster-admin/admin/edit/view, discovery and public-info for everyone, the node-bootstrap roles
 * of TLS bootstrapping, and anonymous read of kube-public/cluster-info.
 */
import type { KubeObject } from '../../kube/types.ts';

const rbac = 'rbac.authorization.k8s.io/v1';
const bootstrapLabels = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };

function clusterRole(name: string, rules: object[]): KubeObject {
  return { apiVersion: rbac, kind: 'ClusterRole', metadata: { name, labels: bootstrapLabels }, rules };
}

function clusterBinding(name: string, role: string, subjects: object[]): KubeObject {
  return {
    apiVersion: rbac,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: bootstrapLabels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects,
  };
}

const group = (name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name });
const readVerbs = ['get', 'list', 'watch'];
const writeVerbs = ['create', 'delete', 'deletecollection', 'patch', 'update'];

const workloadResources = [
  { apiGroups: [''], resources: ['pods', 'pods/log', 'pods/status', 'services', 'endpoints', 'configmaps', 'persistentvolumeclaims', 'serviceaccounts', 'events', 'limitranges', 'resourcequotas', 'replicationcontrollers'] },
  { apiGroups: ['apps'], resources: ['deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'daemonsets', 'statefulsets', 'statefulsets/scale', 'controllerrevisions'] },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'] },
  { apiGroups: [''], resources: ['replicationcontrollers/scale'] },
];

/** Status that every default role reads and none writes (upstream's view rules, aggregated into edit and admin). */
const readOnlyStatus = { apiGroups: [''], resources: ['replicationcontrollers/status'], verbs: readVerbs };

/** Reaching into pods and services over HTTP: edit and admin may, view may not (as upstream). */
const proxyRule = { apiGroups: [''], resources: ['pods/proxy', 'services/proxy'], verbs: [...readVerbs, ...writeVerbs] };

export const defaultClusterRoles: KubeObject[] = [
  clusterRole('cluster-admin', [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }]),
  clusterRole('admin', [
    ...workloadResources.map((r) => ({ ...r, verbs: [...readVerbs, ...writeVerbs] })),
    { apiGroups: [''], resources: ['secrets'], verbs: [...readVerbs, ...writeVerbs] },
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: [...readVerbs, ...writeVerbs] },
    { apiGroups: [''], resources: ['pods/exec', 'pods/attach', 'pods/portforward', 'pods/eviction'], verbs: ['create', 'get'] },
    readOnlyStatus,
    proxyRule,
  ]),
  clusterRole('edit', [
    ...workloadResources.map((r) => ({ ...r, verbs: [...readVerbs, ...writeVerbs] })),
    { apiGroups: [''], resources: ['secrets'], verbs: [...readVerbs, ...writeVerbs] },
    { apiGroups: [''], resources: ['pods/exec', 'pods/attach', 'pods/portforward', 'pods/eviction'], verbs: ['create', 'get'] },
    readOnlyStatus,
    proxyRule,
  ]),
  clusterRole('view', [...workloadResources.map((r) => ({ ...r, verbs: readVerbs })), readOnlyStatus]),
  clusterRole('system:discovery', [{ nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/readyz', '/openapi', '/openapi/*', '/version', '/version/'], verbs: ['get'] }]),
  clusterRole('system:public-info-viewer', [{ nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] }]),
  clusterRole('system:service-account-issuer-discovery', [{ nonResourceURLs: ['/.well-known/openid-configuration', '/.well-known/openid-configuration/', '/openid/v1/jwks', '/openid/v1/jwks/'], verbs: ['get'] }]),
  clusterRole('system:basic-user', [{ apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] }, { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] }]),
  clusterRole('system:node-bootstrapper', [{ apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests'], verbs: ['create', 'get', 'list', 'watch'] }]),
  clusterRole('system:certificates.k8s.io:certificatesigningrequests:nodeclient', [{ apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests/nodeclient'], verbs: ['create'] }]),
  clusterRole('system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', [{ apiGroups: ['certificates.k8s.io'], resources: ['certificatesigningrequests/selfnodeclient'], verbs: ['create'] }]),
];

export const defaultClusterRoleBindings: KubeObject[] = [
  clusterBinding('cluster-admin', 'cluster-admin', [group('system:masters')]),
  clusterBinding('system:discovery', 'system:discovery', [group('system:authenticated')]),
  clusterBinding('system:public-info-viewer', 'system:public-info-viewer', [group('system:authenticated'), group('system:unauthenticated')]),
  clusterBinding('system:basic-user', 'system:basic-user', [group('system:authenticated')]),
  clusterBinding('system:service-account-issuer-discovery', 'system:service-account-issuer-discovery', [group('system:serviceaccounts')]),
  clusterBinding('bosun:node-bootstrapper', 'system:node-bootstrapper', [group('system:bootstrappers')]),
  clusterBinding('bosun:node-autoapprove-bootstrap', 'system:certificates.k8s.io:certificatesigningrequests:nodeclient', [group('system:bootstrappers')]),
  clusterBinding('bosun:node-autoapprove-certificate-rotation', 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', [group('system:nodes')]),
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
