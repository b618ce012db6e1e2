/**
 * The API's defaults for the pod fields the agent acts on, applied where they are read, so the
 * agent behaves the same whether or not the server filled them in.
 */
import type {
  Container,
  DNSPolicy,
  Pod,
  PullPolicy,
  RestartPolicy,
  TerminationMessagePolicy,
} from '../../kube/corev1.ts';

const defaultTerminationGraceSeconds = 30;
const defaultTerminationMessagePath = '/dev/termination-log';
/** The shortest grace a container gets, even when the pod's grace period has run out. */
export const minimumStopGraceSeconds = 2;

export function restartPolicyOf(pod: Pod): RestartPolicy {
  return pod.spec.restartPolicy ?? 'Always';
}

export function dnsPolicyOf(pod: Pod): DNSPolicy {
  return pod.spec.dnsPolicy ?? 'ClusterFirst';
}

/** The grace period in force: a deletion's own grace wins over the spec's. */
export function terminationGraceSecondsOf(pod: Pod): number {
  return (
    pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? defaultTerminationGraceSeconds
  );
}

/** IfNotPresent, except for images without a tag or tagged `latest` (Always). */
export function pullPolicyOf(container: Container): PullPolicy {
  if (container.imagePullPolicy !== undefined) return container.imagePullPolicy;
  const image = container.image ?? '';
  if (image.includes('@')) return 'IfNotPresent';
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  const tag = colon === -1 ? '' : lastSegment.slice(colon + 1);
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

export function terminationMessagePathOf(container: Container): string {
  return container.terminationMessagePath ?? defaultTerminationMessagePath;
}

export function terminationMessagePolicyOf(container: Container): TerminationMessagePolicy {
  return container.terminationMessagePolicy ?? 'File';
}
