/**
 * A pod from a manifest file in --pod-manifest-path, made into the static pod the agent runs, as
 * the kubelet's file source does: the node's name appended to the pod's (`etcd` → `etcd-node-1`),
 * namespace `default` when none is given, bound to this node, tolerating every NoExecute taint, and
 * a UID that is a hash of the pod, the node and the file, so the same file gives the same pod after
 * an agent restart (its containers are adopted) and an edited file gives a new one (the old one is
 * stopped). Pure: file text in, pod or a one-line reason out.
 */
import { createHash } from 'node:crypto';
import { load } from 'js-yaml';
import type { Pod } from '../../kube/corev1.ts';
import { dns1123Label, dns1123Subdomain } from '../../kube/name-formats.ts';

const configSourceAnnotation = 'kubernetes.io/config.source';
export const configHashAnnotation = 'kubernetes.io/config.hash';
const configSeenAnnotation = 'kubernetes.io/config.seen';
export const configMirrorAnnotation = 'kubernetes.io/config.mirror';

type ManifestResult = { pod: Pod } | { error: string };

function parse(text: string): unknown {
  const trimmed = text.trimStart();
  return trimmed.startsWith('{') ? JSON.parse(trimmed) : load(text);
}

/** The static pod a manifest file describes, for this node. */
export function staticPodFromManifest(text: string, file: string, nodeName: string, seenAt: Date): ManifestResult {
  let document: unknown;
  try {
    document = parse(text);
  } catch (err) {
    return { error: `not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}` };
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    return { error: 'expected one Pod object' };
  const object = document as Record<string, unknown>;
  if (object.kind !== 'Pod' || (object.apiVersion !== 'v1' && object.apiVersion !== undefined))
    return { error: `expected kind Pod (apiVersion v1), found ${JSON.stringify(object.kind ?? null)}` };
  const metadata = (object.metadata ?? {}) as Record<string, unknown>;
  const spec = object.spec as Record<string, unknown> | undefined;
  if (typeof metadata.name !== 'string' || metadata.name === '') return { error: 'metadata.name: Required value' };
  const namespace =
    typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : 'default';
  const name = `${metadata.name}-${nodeName.toLowerCase()}`;
  const nameErrors = dns1123Subdomain(name);
  if (nameErrors.length > 0)
    return { error: `metadata.name: Invalid value: ${JSON.stringify(name)}: ${nameErrors.join('; ')}` };
  const namespaceErrors = dns1123Label(namespace);
  if (namespaceErrors.length > 0)
    return { error: `metadata.namespace: Invalid value: ${JSON.stringify(namespace)}: ${namespaceErrors.join('; ')}` };
  const containers = spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) return { error: 'spec.containers: Required value' };
  for (const [i, container] of containers.entries()) {
    const c = container as Record<string, unknown> | null;
    if (typeof c?.name !== 'string' || dns1123Label(c.name).length > 0)
      return { error: `spec.containers[${i}].name: Invalid value: ${JSON.stringify(c?.name ?? null)}` };
    if (typeof c.image !== 'string' || c.image.trim() === '')
      return { error: `spec.containers[${i}].image: Required value` };
  }
  const tolerations = Array.isArray(spec!.tolerations) ? [...spec!.tolerations] : [];
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...metadata,
      name,
      namespace,
      annotations: { ...((metadata.annotations as Record<string, string> | undefined) ?? {}) },
    },
    spec: { ...spec, nodeName, tolerations: [...tolerations, { operator: 'Exists', effect: 'NoExecute' }] },
  } as unknown as Pod;
  // as the kubelet: the hash covers the pod as written (before our annotations), the node and the file
  const uid = createHash('sha256')
    .update(JSON.stringify(pod))
    .update(`host:${nodeName}`)
    .update(`file:${file}`)
    .digest('hex')
    .slice(0, 32);
  pod.metadata.uid = uid;
  pod.metadata.annotations = {
    ...pod.metadata.annotations,
    [configHashAnnotation]: uid,
    [configSourceAnnotation]: 'file',
    [configSeenAnnotation]: seenAt.toISOString(),
  };
  return { pod };
}

export function isMirrorPod(pod: Pod): boolean {
  return pod.metadata.annotations?.[configMirrorAnnotation] !== undefined;
}

export function isStaticPod(pod: Pod): boolean {
  return pod.metadata.annotations?.[configSourceAnnotation] === 'file';
}
