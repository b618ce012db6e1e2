/**
 * What the API must hold for the static pods: one mirror pod per static pod (same namespace and
 * name, `kubernetes.io/config.mirror` set to the static pod's hash, owned by this Node), as the
 * kubelet's mirror client keeps them. A mirror whose hash is not a running static pod's (the file
 * was edited or removed) is deleted, and so is one being deleted (no kubelet ends its grace period:
 * the static pod is not stopped for it); a missing one is created; a user who deletes a mirror gets
 * it back. A regular pod that holds the name is left alone and reported.
 */
import type { Pod } from '../../kube/corev1.ts';
import { configHashAnnotation, configMirrorAnnotation, isMirrorPod } from './static-pod-manifest.ts';

export type MirrorAction =
  | { kind: 'create'; pod: Pod }
  | { kind: 'delete'; namespace: string; name: string; uid: string }
  | { kind: 'conflict'; namespace: string; name: string };

const key = (pod: Pod) => `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;

/** The mirror pod of a static pod: its spec and labels, with the mirror annotation and the Node as owner. */
export function mirrorOf(staticPod: Pod, node: { name: string; uid: string }): Pod {
  const { uid: _uid, resourceVersion: _rv, ...metadata } = staticPod.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...metadata,
      annotations: {
        ...metadata.annotations,
        [configMirrorAnnotation]: staticPod.metadata.annotations?.[configHashAnnotation] ?? '',
      },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.name, uid: node.uid, controller: true }],
    },
    spec: staticPod.spec,
  };
}

/** `staticPods`: what runs from files; `inApi`: this node's pods in the API with those names or a mirror annotation. */
export function planMirrors(
  staticPods: readonly Pod[],
  inApi: readonly Pod[],
  node: { name: string; uid: string },
): MirrorAction[] {
  const actions: MirrorAction[] = [];
  const wanted = new Map(staticPods.map((pod) => [key(pod), pod]));
  const present = new Map(inApi.map((pod) => [key(pod), pod]));
  for (const pod of inApi) {
    if (!isMirrorPod(pod)) continue;
    const staticPod = wanted.get(key(pod));
    const hash = pod.metadata.annotations?.[configMirrorAnnotation];
    // a mirror being deleted (kubectl delete waits for a grace period nobody ends) goes at once, as
    // the kubelet does it; the static pod itself never stops for it
    const terminating = pod.metadata.deletionTimestamp !== undefined;
    if (terminating || staticPod === undefined || staticPod.metadata.annotations?.[configHashAnnotation] !== hash) {
      actions.push({
        kind: 'delete',
        namespace: pod.metadata.namespace ?? 'default',
        name: pod.metadata.name ?? '',
        uid: pod.metadata.uid ?? '',
      });
    }
  }
  for (const [podKey, staticPod] of wanted) {
    const existing = present.get(podKey);
    if (existing === undefined) {
      actions.push({ kind: 'create', pod: mirrorOf(staticPod, node) });
      continue;
    }
    if (!isMirrorPod(existing)) {
      actions.push({
        kind: 'conflict',
        namespace: staticPod.metadata.namespace ?? 'default',
        name: staticPod.metadata.name ?? '',
      });
    }
    // a stale or terminating mirror is deleted above; its replacement is created once it is gone
  }
  return actions;
}

/** Which static pods were added and removed between two readings, by UID (an edit is both). */
export function diffStaticPods(
  previous: ReadonlyMap<string, Pod>,
  next: ReadonlyMap<string, Pod>,
): { added: Pod[]; removed: Pod[] } {
  return {
    added: [...next].filter(([uid]) => !previous.has(uid)).map(([, pod]) => pod),
    removed: [...previous].filter(([uid]) => !next.has(uid)).map(([, pod]) => pod),
  };
}
