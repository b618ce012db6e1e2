/**
 * Which Node labels a kubelet may set on its own Node: the labels it reports itself (hostname,
 * os, arch, instance type, topology region and zone, and their beta forms) and anything under
 * kubelet.kubernetes.io/ or node.kubernetes.io/. Every other kubernetes.io or k8s.io label is
 * the cluster's to set (node-role.kubernetes.io/..., node-restriction.kubernetes.io/...), so a
 * node cannot steer workloads to itself. The API server enforces this (NodeRestriction); the
 * agent refuses such --node-labels at start, as the kubelet does.
 */

export const kubeletLabels: readonly string[] = [
  'beta.kubernetes.io/arch',
  'beta.kubernetes.io/instance-type',
  'beta.kubernetes.io/os',
  'failure-domain.beta.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'kubernetes.io/arch',
  'kubernetes.io/hostname',
  'kubernetes.io/os',
  'node.kubernetes.io/instance-type',
  'topology.kubernetes.io/region',
  'topology.kubernetes.io/zone',
];
export const kubeletLabelNamespaces: readonly string[] = ['kubelet.kubernetes.io', 'node.kubernetes.io'];

/** The DNS prefix of a label key ('' when it has none). */
export const labelNamespace = (key: string) => (key.includes('/') ? key.slice(0, key.indexOf('/')) : '');

/** Whether a label namespace is `parent` or below it. */
export const withinNamespace = (namespace: string, parent: string) =>
  namespace === parent || namespace.endsWith(`.${parent}`);

/** Whether the key is in the kubernetes.io or k8s.io namespaces (or below them). */
export function isKubernetesLabel(key: string): boolean {
  const namespace = labelNamespace(key);
  return withinNamespace(namespace, 'kubernetes.io') || withinNamespace(namespace, 'k8s.io');
}

/** Whether a kubelet may set this label on its Node. */
export function isKubeletLabel(key: string): boolean {
  return kubeletLabels.includes(key) || kubeletLabelNamespaces.some((n) => withinNamespace(labelNamespace(key), n));
}
