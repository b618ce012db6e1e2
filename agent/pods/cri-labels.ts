/**
 * The labels and annotations bosun writes on CRI sandboxes and containers, and reads back to
 * re-adopt them after an agent restart. The pod identity labels are the names the kubelet uses,
 * so crictl and other tools show bosun's pods like any other.
 */
import type { CriRuntime } from '../../cri/runtime.ts';
import type { Labels } from '../../cri/types.ts';
import type { Pod } from '../../kube/corev1.ts';
import type { ContainerRole } from './pod-containers.ts';

export const criLabel = {
  podUid: 'io.kubernetes.pod.uid',
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  containerName: 'io.kubernetes.container.name',
  /** Marks what bosun created, so garbage collection never touches anything else. */
  managedBy: 'bosun.dev/managed-by',
} as const;

export const criAnnotation = {
  specHash: 'bosun.dev/spec-hash',
  restartCount: 'io.kubernetes.container.restartCount',
  role: 'bosun.dev/container-role',
  /** Host path of the file mounted at the container's terminationMessagePath. */
  terminationMessageFile: 'bosun.dev/termination-message-file',
  terminationMessagePolicy: 'io.kubernetes.container.terminationMessagePolicy',
  terminationGraceSeconds: 'io.kubernetes.pod.terminationGracePeriod',
} as const;

export const managedByValue = 'bosun';

function podIdentityLabels(pod: Pod): Labels {
  return {
    [criLabel.podUid]: pod.metadata.uid ?? '',
    [criLabel.podName]: pod.metadata.name ?? '',
    [criLabel.podNamespace]: pod.metadata.namespace ?? 'default',
    [criLabel.managedBy]: managedByValue,
  };
}

export function sandboxLabels(pod: Pod): Labels {
  return { ...pod.metadata.labels, ...podIdentityLabels(pod) };
}

export function containerLabels(pod: Pod, containerName: string): Labels {
  return { ...podIdentityLabels(pod), [criLabel.containerName]: containerName };
}

interface ContainerAnnotationValues {
  specHash: string;
  restartCount: number;
  role: ContainerRole;
  terminationMessageFile?: string;
  terminationMessagePolicy: string;
  terminationGraceSeconds: number;
}

export function containerAnnotations(values: ContainerAnnotationValues): Labels {
  const annotations: Labels = {
    [criAnnotation.specHash]: values.specHash,
    [criAnnotation.restartCount]: String(values.restartCount),
    [criAnnotation.role]: values.role,
    [criAnnotation.terminationMessagePolicy]: values.terminationMessagePolicy,
    [criAnnotation.terminationGraceSeconds]: String(values.terminationGraceSeconds),
  };
  if (values.terminationMessageFile !== undefined)
    annotations[criAnnotation.terminationMessageFile] = values.terminationMessageFile;
  return annotations;
}

/** The selector that lists everything of one pod. */
export function podSelector(uid: string): Labels {
  return { [criLabel.podUid]: uid, [criLabel.managedBy]: managedByValue };
}

/** The selector that lists everything bosun manages on a node. */
export const managedSelector: Labels = { [criLabel.managedBy]: managedByValue };

/** UIDs of the pods that have bosun-managed sandboxes in the runtime. */
export async function sandboxPodUids(runtime: Pick<CriRuntime, 'listPodSandbox'>): Promise<ReadonlySet<string>> {
  const sandboxes = await runtime.listPodSandbox({ labelSelector: managedSelector });
  return new Set(sandboxes.map((s) => s.labels[criLabel.podUid] ?? '').filter((uid) => uid !== ''));
}
