/**
 * A Job's podFailurePolicy judged against one failed pod (upstream's matchPodFailurePolicy): the
 * first rule that matches decides. onExitCodes looks at init containers, then containers, that
 * terminated with a non-zero code (0 is success and never matches); onPodConditions at the pod's
 * conditions (status True unless the rule says otherwise), such as DisruptionTarget after an
 * eviction or preemption. No matching rule means the failure counts, as without a policy.
 */
import type { ContainerStatus, Pod } from '../../../kube/corev1.ts';
import type { PodFailurePolicy, PodFailurePolicyAction, PodFailurePolicyRule } from '../workload-types.ts';

export interface PodFailureVerdict {
  action: PodFailurePolicyAction;
  /** Why, in upstream's words; what a FailJob verdict puts in the Job's Failed condition. */
  message: string;
}

function exitCodeMatches(rule: NonNullable<PodFailurePolicyRule['onExitCodes']>, code: number): boolean {
  const listed = rule.values.includes(code);
  return rule.operator === 'In' ? listed : !listed;
}

function matchingContainer(
  rule: NonNullable<PodFailurePolicyRule['onExitCodes']>,
  statuses: readonly ContainerStatus[],
): { name: string; code: number } | undefined {
  for (const status of statuses) {
    if (rule.containerName !== undefined && rule.containerName !== status.name) continue;
    const code = status.state?.terminated?.exitCode;
    if (code === undefined || code === 0) continue;
    if (exitCodeMatches(rule, code)) return { name: status.name, code };
  }
  return undefined;
}

function ruleMatch(rule: PodFailurePolicyRule, index: number, pod: Pod): string | undefined {
  const podName = `${pod.metadata.namespace}/${pod.metadata.name}`;
  if (rule.onExitCodes) {
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    const found = matchingContainer(rule.onExitCodes, statuses);
    return found
      ? `Container ${found.name} for pod ${podName} failed with exit code ${found.code} matching ${rule.action} rule at index ${index}`
      : undefined;
  }
  for (const pattern of rule.onPodConditions ?? []) {
    const wanted = pattern.status ?? 'True';
    if (pod.status?.conditions?.some((c) => c.type === pattern.type && c.status === wanted))
      return `Pod ${podName} has condition ${pattern.type} matching ${rule.action} rule at index ${index}`;
  }
  return undefined;
}

/** The verdict of the first matching rule for a failed pod, or undefined when none matches. */
export function judgePodFailure(policy: PodFailurePolicy | undefined, pod: Pod): PodFailureVerdict | undefined {
  if (!policy || pod.status?.phase !== 'Failed') return undefined;
  for (const [index, rule] of policy.rules.entries()) {
    const message = ruleMatch(rule, index, pod);
    if (message !== undefined) return { action: rule.action, message };
  }
  return undefined;
}
