/**
 * The kubelet's event reasons and messages about pods and containers, in one place, worded as
 * upstream words them (pkg/kubelet/events) because operators grep for them. Each helper takes the
 * pod (and container) and records through a Recorder; the involved object is the pod, with the
 * container's `fieldPath` (`spec.containers{name}`, `spec.initContainers{name}`) as upstream sets it.
 */
import type { Pod } from '../../kube/corev1.ts';
import type { ObjectReference } from './event-correlator.ts';
import type { Recorder } from './event-recorder.ts';

const podEventReasons = {
  pulling: 'Pulling',
  pulled: 'Pulled',
  failed: 'Failed',
  backOff: 'BackOff',
  created: 'Created',
  started: 'Started',
  killing: 'Killing',
  unhealthy: 'Unhealthy',
  failedMount: 'FailedMount',
  evicted: 'Evicted',
  failedCreatePodSandBox: 'FailedCreatePodSandBox',
  sandboxChanged: 'SandboxChanged',
  failedToRetrieveImagePullSecret: 'FailedToRetrieveImagePullSecret',
} as const;

export function podReference(pod: Pod, container?: string): ObjectReference {
  let fieldPath: string | undefined;
  if (container !== undefined) {
    const listed = (list: { name: string }[] | undefined) => (list ?? []).some((c) => c.name === container);
    const list = listed(pod.spec.initContainers)
      ? 'initContainers'
      : listed(pod.spec.ephemeralContainers)
        ? 'ephemeralContainers'
        : 'containers';
    fieldPath = `spec.${list}{${container}}`;
  }
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    namespace: pod.metadata.namespace ?? 'default',
    name: pod.metadata.name ?? '',
    ...(pod.metadata.uid !== undefined ? { uid: pod.metadata.uid } : {}),
    ...(pod.metadata.resourceVersion !== undefined ? { resourceVersion: pod.metadata.resourceVersion } : {}),
    ...(fieldPath !== undefined ? { fieldPath } : {}),
  };
}

/** `name_namespace(uid)`, as the kubelet's format.Pod prints a pod in messages. */
function podDescription(pod: Pod): string {
  return `${pod.metadata.name ?? ''}_${pod.metadata.namespace ?? 'default'}(${pod.metadata.uid ?? ''})`;
}

function imageOf(pod: Pod, container: string): string {
  return (
    [...(pod.spec.initContainers ?? []), ...pod.spec.containers, ...(pod.spec.ephemeralContainers ?? [])].find(
      (c) => c.name === container,
    )?.image ?? ''
  );
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
}

/** What the pod machinery tells the cluster; a recorder-backed implementation follows. */
export interface PodEvents {
  pulling(pod: Pod, container: string, image: string): void;
  pulled(pod: Pod, container: string, image: string, tookMs: number, sizeBytes: number | undefined): void;
  alreadyPresent(pod: Pod, container: string, image: string): void;
  /** A start failed: `reason` is the waiting reason (ErrImagePull, CreateContainerError, ...). */
  startFailed(pod: Pod, container: string, reason: string, message: string): void;
  backOff(pod: Pod, container: string, reason: string, image: string): void;
  /** Some of spec.imagePullSecrets could not be read; the pull goes ahead without them. */
  missingPullSecrets(pod: Pod, names: readonly string[]): void;
  created(pod: Pod, container: string): void;
  started(pod: Pod, container: string): void;
  killing(pod: Pod, container: string, why: string | undefined): void;
  unhealthy(pod: Pod, container: string, probe: 'Liveness' | 'Readiness' | 'Startup', message: string): void;
  /** For volume code: a volume could not be set up. */
  failedMount(pod: Pod, message: string): void;
  failedCreateSandbox(pod: Pod, message: string): void;
  evicted(pod: Pod, message: string): void;
}

export function podEvents(recorder: Recorder): PodEvents {
  const r = podEventReasons;
  return {
    pulling: (pod, c, image) => recorder.event(podReference(pod, c), 'Normal', r.pulling, `Pulling image "${image}"`),
    pulled: (pod, c, image, tookMs, size) =>
      recorder.event(
        podReference(pod, c),
        'Normal',
        r.pulled,
        `Successfully pulled image "${image}" in ${seconds(tookMs)}.${size !== undefined ? ` Image size: ${size} bytes.` : ''}`,
      ),
    alreadyPresent: (pod, c, image) =>
      recorder.event(podReference(pod, c), 'Normal', r.pulled, `Container image "${image}" already present on machine`),
    startFailed: (pod, c, reason, message) => {
      // a volume that could not be set up: the kubelet reports it on the pod, as FailedMount
      if (reason === 'ContainerCreating') return recorder.event(podReference(pod), 'Warning', r.failedMount, message);
      if (reason === 'ErrImagePull')
        recorder.event(
          podReference(pod, c),
          'Warning',
          r.failed,
          `Failed to pull image "${imageOf(pod, c)}": ${message}`,
        );
      recorder.event(
        podReference(pod, c),
        'Warning',
        r.failed,
        `Error: ${reason === 'ErrImagePull' ? reason : message}`,
      );
    },
    // the kubelet records a pull back-off as Normal (it is waiting, not failing anew) and a crash loop as Warning
    backOff: (pod, c, reason, image) =>
      reason === 'ImagePullBackOff'
        ? recorder.event(podReference(pod, c), 'Normal', r.backOff, `Back-off pulling image "${image}"`)
        : recorder.event(
            podReference(pod, c),
            'Warning',
            r.backOff,
            `Back-off restarting failed container ${c} in pod ${podDescription(pod)}`,
          ),
    missingPullSecrets: (pod, names) =>
      recorder.event(
        podReference(pod),
        'Warning',
        r.failedToRetrieveImagePullSecret,
        `Unable to retrieve some image pull secrets (${names.join(', ')}); attempting to pull the image may not succeed.`,
      ),
    created: (pod, c) => recorder.event(podReference(pod, c), 'Normal', r.created, `Created container: ${c}`),
    started: (pod, c) => recorder.event(podReference(pod, c), 'Normal', r.started, `Started container ${c}`),
    killing: (pod, c, why) =>
      recorder.event(podReference(pod, c), 'Normal', r.killing, why ? `${why}` : `Stopping container ${c}`),
    unhealthy: (pod, c, probe, message) =>
      recorder.event(podReference(pod, c), 'Warning', r.unhealthy, `${probe} probe failed: ${message}`),
    failedMount: (pod, message) => recorder.event(podReference(pod), 'Warning', r.failedMount, message),
    failedCreateSandbox: (pod, message) =>
      recorder.event(
        podReference(pod),
        'Warning',
        r.failedCreatePodSandBox,
        `Failed to create pod sandbox: ${message}`,
      ),
    evicted: (pod, message) => recorder.event(podReference(pod), 'Warning', r.evicted, message),
  };
}
