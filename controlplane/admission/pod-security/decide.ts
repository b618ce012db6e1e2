/**
 * What Pod Security admission answers for one write, computed from the objects alone: a refusal
 * (enforce), warnings for the client (warn, and the pods a stricter namespace level would refuse)
 * and annotations for the audit log (audit). Pods are enforced; workloads' pod templates are only
 * warned and audited, as upstream does, since their pods are checked again when created.
 */
import { ApiError } from '../../../kube/errors.ts';
import type { PodSecurityConfig } from './config.ts';
import { formatLevelVersion, levelRank, modes, sameLevelVersion, type LevelVersion, type Policy } from './level.ts';
import { policyFromLabels } from './level.ts';
import type { ContainerView, PodMetaView, PodSpecView } from './pod-view.ts';
import { evaluatePod, violationDetails, violationReasons } from './policy.ts';

export const auditAnnotationPrefix = 'pod-security.kubernetes.io/';

export interface PodSecurityOutcome {
  readonly refusal?: ApiError;
  readonly warnings: readonly string[];
  /** Keys without the `pod-security.kubernetes.io/` prefix. */
  readonly annotations: Readonly<Record<string, string>>;
}

const allowed: PodSecurityOutcome = { warnings: [], annotations: {} };

export interface PodLikeRequest {
  /** `pods`, or the workload resource (`deployments`) whose template is evaluated. */
  readonly resource: string;
  readonly name: string;
  readonly namespace: string;
  readonly namespaceLabels: Readonly<Record<string, string>> | undefined;
  readonly username: string | undefined;
  readonly meta: PodMetaView;
  readonly spec: PodSpecView;
  /** Pods only: refuse what the enforce level forbids. */
  readonly enforce: boolean;
}

function exemption(config: PodSecurityConfig, namespace: string, username: string | undefined): string | undefined {
  if (namespace !== '' && config.exemptions.namespaces.includes(namespace)) return 'namespace';
  if (username !== undefined && username !== '' && config.exemptions.usernames.includes(username)) return 'user';
  return undefined;
}

/** Evaluates a pod, or a workload's pod template, against its namespace's policy. */
export function decidePodLike(config: PodSecurityConfig, request: PodLikeRequest): PodSecurityOutcome {
  const exempt = exemption(config, request.namespace, request.username);
  if (exempt !== undefined) return { warnings: [], annotations: { exempt } };
  const { policy, problems } = policyFromLabels(request.namespaceLabels, config.defaults);
  const modesThatMatter = request.enforce ? modes : modes.filter((m) => m !== 'enforce');
  if (problems.length === 0 && modesThatMatter.every((mode) => policy[mode].level === 'privileged')) return allowed;
  const runtimeClass = request.spec.runtimeClassName;
  if (runtimeClass !== undefined && runtimeClass !== '' && config.exemptions.runtimeClasses.includes(runtimeClass)) {
    return { warnings: [], annotations: { exempt: 'runtimeClass' } };
  }
  const annotations: Record<string, string> = {};
  if (problems.length > 0)
    annotations.error = `Failed to parse policy: ${problems.map((p) => `metadata.labels[${p.label}]: Invalid value: ${JSON.stringify(p.value)}: ${p.message}`).join(', ')}`;
  const evaluate = (lv: LevelVersion) => evaluatePod(lv, request.meta, request.spec);
  let refusal: ApiError | undefined;
  if (request.enforce) {
    annotations['enforce-policy'] = formatLevelVersion(policy.enforce);
    const violations = evaluate(policy.enforce);
    if (violations.length > 0) {
      refusal = new ApiError(
        'Forbidden',
        `${request.resource} "${request.name}" is forbidden: violates PodSecurity "${formatLevelVersion(policy.enforce)}": ${violationDetails(violations)}`,
        {
          name: request.name,
          kind: request.resource,
        },
      );
    }
  }
  const audited = evaluate(policy.audit);
  if (audited.length > 0)
    annotations['audit-violations'] =
      `would violate PodSecurity "${formatLevelVersion(policy.audit)}": ${violationDetails(audited)}`;
  const warnings: string[] = [];
  // A request that is refused gets no warnings: the refusal says it all.
  if (refusal === undefined) {
    const warned = evaluate(policy.warn);
    if (warned.length > 0)
      warnings.push(`would violate PodSecurity "${formatLevelVersion(policy.warn)}": ${violationDetails(warned)}`);
  }
  return { ...(refusal !== undefined ? { refusal } : {}), warnings, annotations };
}

/** A pod update that can change what Pod Security decides: only images and seccomp annotations can change on a pod. */
export function isSignificantPodUpdate(
  meta: PodMetaView,
  spec: PodSpecView,
  oldMeta: PodMetaView,
  oldSpec: PodSpecView,
): boolean {
  const annotation = (m: PodMetaView, key: string) => m.annotations?.[key];
  if (
    annotation(meta, 'seccomp.security.alpha.kubernetes.io/pod') !==
    annotation(oldMeta, 'seccomp.security.alpha.kubernetes.io/pod')
  )
    return true;
  const changed = (now: ContainerView, before: ContainerView) => {
    const key = `container.seccomp.security.alpha.kubernetes.io/${now.name ?? ''}`;
    return now.image !== before.image || annotation(meta, key) !== annotation(oldMeta, key);
  };
  for (const field of ['containers', 'initContainers'] as const) {
    const now = spec[field] ?? [];
    const before = oldSpec[field] ?? [];
    if (now.length !== before.length || now.some((c, i) => changed(c, before[i]!))) return true;
  }
  return (spec.ephemeralContainers ?? []).some((c) => {
    const before = (oldSpec.ephemeralContainers ?? []).find((o) => o.name === c.name);
    return before === undefined || changed(c, before);
  });
}

/** The label problems of a namespace as upstream's 422: `Namespace "x" is invalid: metadata.labels[...]: Invalid value: ...`. */
function invalidLabels(name: string, problems: ReturnType<typeof policyFromLabels>['problems']): ApiError {
  const causes = problems.map((p) => ({
    reason: 'FieldValueInvalid',
    field: `metadata.labels[${p.label}]`,
    message: `Invalid value: ${JSON.stringify(p.value)}: ${p.message}`,
  }));
  const summary = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return new ApiError('Invalid', `Namespace "${name}" is invalid: ${causes.length > 1 ? `[${summary}]` : summary}`, {
    name,
    kind: 'Namespace',
    causes,
  });
}

interface NamespaceDecision {
  readonly refusal?: ApiError;
  /** The new enforce level to check the namespace's existing pods against, when it became stricter. */
  readonly checkPodsAgainst?: LevelVersion;
}

/**
 * A namespace's Pod Security labels must be readable (on create, and on update when they changed);
 * an update to a stricter enforce level asks for the existing pods to be checked against it.
 */
export function decideNamespace(
  config: PodSecurityConfig,
  name: string,
  labels: Readonly<Record<string, string>> | undefined,
  oldLabels: Readonly<Record<string, string>> | undefined,
  creating: boolean,
): NamespaceDecision {
  const now = policyFromLabels(labels, config.defaults);
  const problemText = (problems: typeof now.problems) => JSON.stringify(problems);
  if (creating) return now.problems.length > 0 ? { refusal: invalidLabels(name, now.problems) } : {};
  const before = policyFromLabels(oldLabels, config.defaults);
  if (now.problems.length > 0 && problemText(now.problems) !== problemText(before.problems))
    return { refusal: invalidLabels(name, now.problems) };
  if (!enforceTightened(now.policy, before.policy) || config.exemptions.namespaces.includes(name)) return {};
  return { checkPodsAgainst: now.policy.enforce };
}

/** Whether the enforce level changed to one that may refuse pods the old one allowed. */
function enforceTightened(now: Policy, before: Policy): boolean {
  if (sameLevelVersion(now.enforce, before.enforce) || now.enforce.level === 'privileged') return false;
  const sameVersion = JSON.stringify(now.enforce.version) === JSON.stringify(before.enforce.version);
  return !(sameVersion && levelRank(now.enforce.level) <= levelRank(before.enforce.level));
}

/** How many existing pods a namespace label change checks at most, as upstream. */
const maxPodsToCheck = 3000;

interface ExistingPod {
  readonly meta: PodMetaView;
  readonly spec: PodSpecView;
}

/**
 * Warnings for the pods of a namespace that its new enforce level would refuse: one headline, then
 * one line per distinct set of reasons, naming the first pod (by name) and how many others share it.
 */
export function existingPodWarnings(
  config: PodSecurityConfig,
  namespace: string,
  lv: LevelVersion,
  pods: readonly ExistingPod[],
): string[] {
  const checked = pods.slice(0, maxPodsToCheck);
  const byReasons = new Map<string, { first: string; count: number }>();
  for (const pod of checked) {
    const runtimeClass = pod.spec.runtimeClassName;
    if (runtimeClass !== undefined && runtimeClass !== '' && config.exemptions.runtimeClasses.includes(runtimeClass))
      continue;
    const violations = evaluatePod(lv, pod.meta, pod.spec);
    if (violations.length === 0) continue;
    const reasons = violationReasons(violations);
    const name = pod.meta.name ?? '';
    const seen = byReasons.get(reasons);
    if (seen === undefined) byReasons.set(reasons, { first: name, count: 1 });
    else byReasons.set(reasons, { first: name < seen.first ? name : seen.first, count: seen.count + 1 });
  }
  const warnings: string[] = [];
  if (checked.length < pods.length)
    warnings.push(
      `new PodSecurity enforce level only checked against the first ${checked.length} of ${pods.length} existing pods`,
    );
  if (byReasons.size > 0)
    warnings.push(
      `existing pods in namespace ${JSON.stringify(namespace)} violate the new PodSecurity enforce level ${JSON.stringify(formatLevelVersion(lv))}`,
    );
  const perPod = [...byReasons].map(([reasons, { first, count }]) => {
    const others = count === 1 ? '' : count === 2 ? ' (and 1 other pod)' : ` (and ${count - 1} other pods)`;
    return `${first}${others}: ${reasons}`;
  });
  return [...warnings, ...perPod.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))];
}
