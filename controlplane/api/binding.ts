/**
 * What a pods/binding does to the pod, as upstream's binding REST does it: the node name, the
 * binding's annotations, and the PodScheduled condition set to True (replacing a False one the
 * scheduler wrote while the pod did not fit, with its reason and message).
 */
import type { KubeObject } from '../../kube/types.ts';
import { apiTime } from '../../kube/api-time.ts';

interface Condition {
  type: string;
  status: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export function bindPod(
  pod: KubeObject,
  nodeName: string,
  annotations: Record<string, string> | undefined,
  now: Date,
): KubeObject {
  const stamp = apiTime(now);
  const status = (pod.status ?? {}) as { conditions?: Condition[] };
  const scheduled: Condition = { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: stamp };
  const conditions = [...(status.conditions ?? []).filter((c) => c.type !== 'PodScheduled'), scheduled];
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      ...(annotations && Object.keys(annotations).length > 0
        ? { annotations: { ...pod.metadata.annotations, ...annotations } }
        : {}),
    },
    spec: { ...(pod.spec as object), nodeName },
    status: { ...status, conditions },
  };
}
