/**
 * Deployment planner. One pass does one step and lets the next pass (triggered by the resulting
 * ReplicaSet change) continue, as upstream's controller does:
 *  1. claim ReplicaSets; the one whose template equals the Deployment's (ignoring the
 *     pod-template-hash label) is the new one, the others are old;
 *  2. no new one yet: create it, named <deployment>-<hash>, with the next revision;
 *     an old template coming back (rollout undo) gets the next revision instead;
 *  3. Recreate: scale every old ReplicaSet to 0, wait for their pods to go, then scale up the new;
 *     RollingUpdate: scale the new one up within maxSurge, scale old ones down within
 *     maxUnavailable (unhealthy old pods first), then prune history beyond revisionHistoryLimit;
 *  4. status and conditions (Available, Progressing with upstream's reasons and the progress
 *     deadline), which `kubectl rollout status` reads.
 * A paused Deployment keeps its ReplicaSets where they are and reports DeploymentPaused.
 */
import type { Pod } from '../../kube/corev1.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Action, Plan } from './actions.ts';
import { claim } from './claim.ts';
import { rollingBounds } from './int-or-percent.ts';
import { apiTime } from '../../kube/api-time.ts';
import { controllerOf, controllerReference, isActive, parseTime } from './pods.ts';
import { canonicalJson, templateHash } from './template-hash.ts';
import type { Deployment, PodTemplateSpec, ReplicaSet, WorkloadCondition } from './workload-types.ts';

export const templateHashLabel = 'pod-template-hash';
export const revisionAnnotation = 'deployment.kubernetes.io/revision';
const revisionHistoryAnnotation = 'deployment.kubernetes.io/revision-history';
const desiredReplicasAnnotation = 'deployment.kubernetes.io/desired-replicas';
const maxReplicasAnnotation = 'deployment.kubernetes.io/max-replicas';
const changeCauseAnnotation = 'kubernetes.io/change-cause';

const reasons = {
  newReplicaSetCreated: 'NewReplicaSetCreated',
  foundNewReplicaSet: 'FoundNewReplicaSet',
  replicaSetUpdated: 'ReplicaSetUpdated',
  newReplicaSetAvailable: 'NewReplicaSetAvailable',
  progressDeadlineExceeded: 'ProgressDeadlineExceeded',
  paused: 'DeploymentPaused',
  resumed: 'DeploymentResumed',
  minimumReplicasAvailable: 'MinimumReplicasAvailable',
  minimumReplicasUnavailable: 'MinimumReplicasUnavailable',
} as const;

function replicasOf(d: Deployment): number {
  return d.spec.replicas ?? 1;
}

function revisionOf(rs: KubeObject): number {
  const value = Number(rs.metadata.annotations?.[revisionAnnotation] ?? '0');
  return Number.isFinite(value) ? value : 0;
}

function withoutHash(template: PodTemplateSpec): string {
  const copy = structuredClone(template);
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[templateHashLabel];
    if (Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  }
  if (copy.metadata && Object.keys(copy.metadata).length === 0) delete copy.metadata;
  return canonicalJson(copy);
}

function specReplicas(rs: ReplicaSet): number {
  return rs.spec.replicas ?? 1;
}

function sum<T>(items: readonly T[], value: (item: T) => number): number {
  return items.reduce((total, item) => total + value(item), 0);
}

function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  const diff = (parseTime(a.metadata.creationTimestamp) ?? 0) - (parseTime(b.metadata.creationTimestamp) ?? 0);
  return diff !== 0 ? diff : (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
}

/** maxUnavailable as the Available condition uses it: 0 for Recreate and for 0 replicas. */
function allowedUnavailable(d: Deployment): number {
  if (d.spec.strategy?.type === 'Recreate' || replicasOf(d) === 0) return 0;
  return Math.min(replicasOf(d), rollingBounds(d.spec.strategy?.rollingUpdate, replicasOf(d)).maxUnavailable);
}

function scaleAction(rs: ReplicaSet, replicas: number, d: Deployment, maxSurge: number): Action {
  const next = structuredClone(rs);
  next.spec.replicas = replicas;
  next.metadata.annotations = {
    ...next.metadata.annotations,
    [desiredReplicasAnnotation]: String(replicasOf(d)),
    [maxReplicasAnnotation]: String(replicasOf(d) + maxSurge),
  };
  return { kind: 'update', resource: 'replicasets', object: next };
}

function newReplicaSetObject(
  d: Deployment,
  hash: string,
  revision: number,
  replicas: number,
  maxSurge: number,
): ReplicaSet {
  const template = structuredClone(d.spec.template);
  template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [templateHashLabel]: hash } };
  const annotations: Record<string, string> = {
    [revisionAnnotation]: String(revision),
    [desiredReplicasAnnotation]: String(replicasOf(d)),
    [maxReplicasAnnotation]: String(replicasOf(d) + maxSurge),
  };
  const cause = d.metadata.annotations?.[changeCauseAnnotation];
  if (cause !== undefined) annotations[changeCauseAnnotation] = cause;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata.name}-${hash}`,
      namespace: d.metadata.namespace,
      labels: { ...d.spec.template.metadata?.labels, [templateHashLabel]: hash },
      annotations,
      ownerReferences: [controllerReference(d)],
    },
    spec: {
      replicas,
      minReadySeconds: d.spec.minReadySeconds ?? 0,
      selector: {
        ...d.spec.selector,
        matchLabels: { ...d.spec.selector.matchLabels, [templateHashLabel]: hash },
      },
      template,
    },
  };
}

/** Replicas the new ReplicaSet may have now under RollingUpdate (upstream's NewRSNewReplicas). */
function rollingNewReplicas(
  d: Deployment,
  all: readonly ReplicaSet[],
  newRs: ReplicaSet | undefined,
  maxSurge: number,
): number {
  const current = newRs ? specReplicas(newRs) : 0;
  if (current >= replicasOf(d)) return replicasOf(d);
  const room = replicasOf(d) + maxSurge - sum(all, specReplicas);
  if (room <= 0) return current;
  return current + Math.min(room, replicasOf(d) - current);
}

/** Scale-downs of old ReplicaSets allowed by maxUnavailable (upstream's reconcileOldReplicaSets). */
function rollingScaleDowns(
  d: Deployment,
  oldRss: readonly ReplicaSet[],
  newRs: ReplicaSet | undefined,
  maxUnavailable: number,
): Map<string, number> {
  const targets = new Map<string, number>();
  const all = newRs ? [...oldRss, newRs] : [...oldRss];
  if (sum(oldRss, specReplicas) === 0) return targets;
  const minAvailable = replicasOf(d) - maxUnavailable;
  const newUnavailable = newRs ? specReplicas(newRs) - (newRs.status?.availableReplicas ?? 0) : 0;
  let budget = sum(all, specReplicas) - minAvailable - newUnavailable;
  if (budget <= 0) return targets;
  const oldest = [...oldRss].sort(byCreation);
  // First drop old pods that are not available anyway: that costs no availability.
  for (const rs of oldest) {
    if (budget <= 0) break;
    const replicas = specReplicas(rs);
    const unhealthy = replicas - (rs.status?.availableReplicas ?? 0);
    if (replicas === 0 || unhealthy <= 0) continue;
    const cut = Math.min(budget, unhealthy);
    targets.set(rs.metadata.name ?? '', replicas - cut);
    budget -= cut;
  }
  // Then healthy ones, as far as the available count stays above the minimum.
  const replicasNow = (rs: ReplicaSet) => targets.get(rs.metadata.name ?? '') ?? specReplicas(rs);
  let spare = sum(all, (rs) => rs.status?.availableReplicas ?? 0) - minAvailable;
  for (const rs of oldest) {
    if (spare <= 0) break;
    const replicas = replicasNow(rs);
    if (replicas === 0) continue;
    const cut = Math.min(replicas, spare);
    targets.set(rs.metadata.name ?? '', replicas - cut);
    spare -= cut;
  }
  return targets;
}

function annotatedNumber(rs: ReplicaSet, annotation: string): number | undefined {
  const text = rs.metadata.annotations?.[annotation];
  const value = text === undefined ? NaN : Number(text);
  return Number.isInteger(value) ? value : undefined;
}

/**
 * Upstream's proportional scaling: when spec.replicas changes while more than one ReplicaSet has
 * replicas, each gets a share in proportion to its size (relative to the max-replicas it was sized
 * for), largest first, the rounding rest going to the largest. Undefined when this is not a scaling
 * event of several active ReplicaSets.
 */
function proportionalScaling(
  d: Deployment,
  rss: readonly ReplicaSet[],
  maxSurge: number,
): Map<ReplicaSet, number> | undefined {
  const active = rss.filter((rs) => specReplicas(rs) > 0);
  if (active.length < 2) return undefined;
  const scalingEvent = active.some((rs) => {
    const desired = annotatedNumber(rs, desiredReplicasAnnotation);
    return desired !== undefined && desired !== replicasOf(d);
  });
  if (!scalingEvent) return undefined;
  const allowed = replicasOf(d) + maxSurge;
  const toAdd = allowed - sum(active, specReplicas);
  const newerFirst = (a: ReplicaSet, b: ReplicaSet) => specReplicas(b) - specReplicas(a) || byCreation(b, a);
  const olderFirst = (a: ReplicaSet, b: ReplicaSet) => specReplicas(b) - specReplicas(a) || byCreation(a, b);
  const ordered = [...active].sort(toAdd > 0 ? newerFirst : olderFirst);
  const result = new Map<ReplicaSet, number>();
  let added = 0;
  for (const rs of ordered) {
    let share = 0;
    if (toAdd !== 0 && added !== toAdd) {
      const sizedFor = annotatedNumber(rs, maxReplicasAnnotation) ?? d.status?.replicas ?? specReplicas(rs);
      const fraction =
        replicasOf(d) === 0
          ? -specReplicas(rs)
          : Math.round((specReplicas(rs) * allowed) / Math.max(1, sizedFor)) - specReplicas(rs);
      const left = toAdd - added;
      share = toAdd > 0 ? Math.min(fraction, left) : Math.max(fraction, left);
    }
    added += share;
    result.set(rs, specReplicas(rs) + share);
  }
  // The rest from rounding goes to the largest ReplicaSet.
  const first = ordered[0]!;
  result.set(first, Math.max(0, result.get(first)! + (toAdd - added)));
  return result;
}

function condition(
  type: string,
  status: WorkloadCondition['status'],
  reason: string,
  message: string,
  now: string,
  previous?: WorkloadCondition,
): WorkloadCondition {
  const sameStatus = previous?.status === status;
  return {
    type,
    status,
    lastUpdateTime:
      sameStatus && previous?.reason === reason && previous.message === message
        ? (previous.lastUpdateTime ?? now)
        : now,
    lastTransitionTime: sameStatus ? (previous?.lastTransitionTime ?? now) : now,
    reason,
    message,
  };
}

function setCondition(conditions: WorkloadCondition[], next: WorkloadCondition): WorkloadCondition[] {
  return [...conditions.filter((c) => c.type !== next.type), next];
}

interface DeploymentInput {
  readonly deployment: Deployment;
  /** ReplicaSets in the Deployment's namespace. */
  readonly replicaSets: readonly ReplicaSet[];
  /** Pods in the Deployment's namespace (Recreate waits for old pods to be gone). */
  readonly pods: readonly Pod[];
  readonly now: Date;
}

export function planDeployment({ deployment: d, replicaSets, pods, now }: DeploymentInput): Plan {
  if (d.metadata.deletionTimestamp) return { actions: [] };
  const { owned, actions } = claim(d, replicaSets, 'replicasets');
  const ownedRss = owned.filter((rs) => !rs.metadata.deletionTimestamp);
  const wanted = withoutHash(d.spec.template);
  const newRs = ownedRss.filter((rs) => withoutHash(rs.spec.template) === wanted).sort(byCreation)[0];
  const oldRss = ownedRss.filter((rs) => rs !== newRs);
  const { maxSurge, maxUnavailable } = rollingBounds(d.spec.strategy?.rollingUpdate, replicasOf(d));
  const recreate = d.spec.strategy?.type === 'Recreate';
  const paused = d.spec.paused === true;
  const nextRevision = Math.max(0, ...oldRss.map(revisionOf)) + 1;
  const nowText = apiTime(now);
  let progressingReason: string | undefined;
  let newRsName = newRs?.metadata.name;

  // 2. The new ReplicaSet exists with the right revision, or is created now.
  let deploymentRevision = newRs ? revisionOf(newRs) : undefined;
  if (!paused) {
    if (newRs === undefined) {
      const hash = templateHash(d.spec.template, d.status?.collisionCount ?? 0);
      const initial = recreate ? 0 : rollingNewReplicas(d, ownedRss, undefined, maxSurge);
      const created = newReplicaSetObject(d, hash, nextRevision, initial, maxSurge);
      actions.push({ kind: 'create', resource: 'replicasets', object: created });
      newRsName = created.metadata.name;
      deploymentRevision = nextRevision;
      progressingReason = reasons.newReplicaSetCreated;
    } else if (revisionOf(newRs) < nextRevision) {
      // An old template is current again (rollout undo): it becomes the newest revision.
      const promoted = structuredClone(newRs);
      const history = [promoted.metadata.annotations?.[revisionHistoryAnnotation], String(revisionOf(newRs))]
        .filter(Boolean)
        .join(',');
      promoted.metadata.annotations = {
        ...promoted.metadata.annotations,
        [revisionAnnotation]: String(nextRevision),
        [revisionHistoryAnnotation]: history,
      };
      const cause = d.metadata.annotations?.[changeCauseAnnotation];
      if (cause !== undefined) promoted.metadata.annotations[changeCauseAnnotation] = cause;
      actions.push({ kind: 'update', resource: 'replicasets', object: promoted });
      deploymentRevision = nextRevision;
    }
  }

  // 3. Move replicas. A change of spec.replicas while several ReplicaSets run (mid-rollout, or
  // paused) is spread over them in proportion first; the rollout continues on the next pass.
  let movedReplicas = false;
  const scaling = recreate ? undefined : proportionalScaling(d, ownedRss, maxSurge);
  if (scaling !== undefined) {
    for (const [rs, replicas] of scaling) actions.push(scaleAction(rs, replicas, d, maxSurge));
    movedReplicas = scaling.size > 0;
  } else if (!paused && newRs !== undefined) {
    if (recreate) {
      const stillUp = oldRss.filter((rs) => specReplicas(rs) > 0);
      for (const rs of stillUp) actions.push(scaleAction(rs, 0, d, 0));
      const oldUids = new Set(oldRss.map((rs) => rs.metadata.uid));
      const oldPodsLeft = pods.some((p) => oldUids.has(controllerOf(p)?.uid) && isActive(p));
      if (stillUp.length === 0 && !oldPodsLeft && specReplicas(newRs) !== replicasOf(d))
        actions.push(scaleAction(newRs, replicasOf(d), d, 0));
      movedReplicas = stillUp.length > 0;
    } else {
      const target = rollingNewReplicas(d, ownedRss, newRs, maxSurge);
      if (target !== specReplicas(newRs)) {
        actions.push(scaleAction(newRs, target, d, maxSurge));
        movedReplicas = true;
      } else {
        for (const [name, replicas] of rollingScaleDowns(d, oldRss, newRs, maxUnavailable)) {
          const rs = oldRss.find((r) => r.metadata.name === name)!;
          if (replicas !== specReplicas(rs)) {
            actions.push(scaleAction(rs, replicas, d, maxSurge));
            movedReplicas = true;
          }
        }
      }
    }
  }

  // 4. Status.
  const status = {
    observedGeneration: d.metadata.generation ?? 1,
    replicas: sum(ownedRss, (rs) => rs.status?.replicas ?? 0),
    updatedReplicas: newRs?.status?.replicas ?? 0,
    readyReplicas: sum(ownedRss, (rs) => rs.status?.readyReplicas ?? 0),
    availableReplicas: sum(ownedRss, (rs) => rs.status?.availableReplicas ?? 0),
    unavailableReplicas: Math.max(
      0,
      sum(ownedRss, specReplicas) - sum(ownedRss, (rs) => rs.status?.availableReplicas ?? 0),
    ),
    conditions: [...(d.status?.conditions ?? [])],
    ...(d.status?.collisionCount !== undefined ? { collisionCount: d.status.collisionCount } : {}),
  };
  const previous = (type: string) => d.status?.conditions?.find((c) => c.type === type);
  const available = status.availableReplicas >= replicasOf(d) - allowedUnavailable(d);
  status.conditions = setCondition(
    status.conditions,
    available
      ? condition(
          'Available',
          'True',
          reasons.minimumReplicasAvailable,
          'Deployment has minimum availability.',
          nowText,
          previous('Available'),
        )
      : condition(
          'Available',
          'False',
          reasons.minimumReplicasUnavailable,
          'Deployment does not have minimum availability.',
          nowText,
          previous('Available'),
        ),
  );

  let requeueAfterMs: number | undefined;
  const progressing = previous('Progressing');
  const deadlineSeconds = d.spec.progressDeadlineSeconds ?? 600;
  const subject = newRsName ? `ReplicaSet "${newRsName}"` : `Deployment "${d.metadata.name}"`;
  if (paused) {
    if (progressing?.reason !== reasons.paused) {
      status.conditions = setCondition(
        status.conditions,
        condition('Progressing', 'Unknown', reasons.paused, 'Deployment is paused', nowText, progressing),
      );
    }
  } else if (progressing?.reason === reasons.paused) {
    status.conditions = setCondition(
      status.conditions,
      condition('Progressing', 'Unknown', reasons.resumed, 'Deployment is resumed', nowText, progressing),
    );
  } else {
    const complete =
      newRs !== undefined &&
      !movedReplicas &&
      status.updatedReplicas === replicasOf(d) &&
      status.replicas === replicasOf(d) &&
      status.availableReplicas === replicasOf(d) &&
      sum(oldRss, specReplicas) === 0;
    const old = d.status;
    const advanced =
      movedReplicas ||
      progressingReason !== undefined ||
      status.updatedReplicas > (old?.updatedReplicas ?? 0) ||
      status.replicas - status.updatedReplicas < (old?.replicas ?? 0) - (old?.updatedReplicas ?? 0) ||
      status.readyReplicas > (old?.readyReplicas ?? 0) ||
      status.availableReplicas > (old?.availableReplicas ?? 0);
    if (progressingReason === reasons.newReplicaSetCreated) {
      status.conditions = setCondition(
        status.conditions,
        condition(
          'Progressing',
          'True',
          reasons.newReplicaSetCreated,
          `Created new replica set "${newRsName}"`,
          nowText,
          progressing,
        ),
      );
    } else if (complete) {
      status.conditions = setCondition(
        status.conditions,
        condition(
          'Progressing',
          'True',
          reasons.newReplicaSetAvailable,
          `${subject} has successfully progressed.`,
          nowText,
          progressing,
        ),
      );
    } else if (progressing === undefined) {
      status.conditions = setCondition(
        status.conditions,
        condition(
          'Progressing',
          'True',
          reasons.foundNewReplicaSet,
          `Found new replica set "${newRsName}"`,
          nowText,
          progressing,
        ),
      );
    } else if (advanced) {
      // Progress resets the deadline: lastUpdateTime moves, the transition time stays.
      status.conditions = setCondition(status.conditions, {
        ...condition(
          'Progressing',
          'True',
          reasons.replicaSetUpdated,
          `${subject} is progressing.`,
          nowText,
          progressing,
        ),
        lastUpdateTime: nowText,
      });
    } else if (
      progressing.reason !== reasons.progressDeadlineExceeded &&
      progressing.reason !== reasons.newReplicaSetAvailable
    ) {
      const since = parseTime(progressing.lastUpdateTime) ?? now.getTime();
      const deadline = since + deadlineSeconds * 1000;
      if (now.getTime() >= deadline) {
        status.conditions = setCondition(
          status.conditions,
          condition(
            'Progressing',
            'False',
            reasons.progressDeadlineExceeded,
            `${subject} has timed out progressing.`,
            nowText,
            progressing,
          ),
        );
      } else requeueAfterMs = deadline - now.getTime() + 1;
    }
  }
  if (canonicalJson(status) !== canonicalJson({ conditions: [], ...d.status })) {
    actions.push({ kind: 'updateStatus', resource: 'deployments', object: { ...d, status } });
  }

  // The Deployment carries its current revision, which `kubectl rollout history` and `undo` read.
  if (deploymentRevision !== undefined && d.metadata.annotations?.[revisionAnnotation] !== String(deploymentRevision)) {
    const annotated = structuredClone(d);
    annotated.metadata.annotations = {
      ...annotated.metadata.annotations,
      [revisionAnnotation]: String(deploymentRevision),
    };
    actions.push({ kind: 'update', resource: 'deployments', object: annotated });
  }

  // Prune history once the rollout is done: old, empty ReplicaSets beyond the limit, oldest revisions first.
  const limit = d.spec.revisionHistoryLimit ?? 10;
  const done = status.conditions.find((c) => c.type === 'Progressing')?.reason === reasons.newReplicaSetAvailable;
  if (done && !paused) {
    const empty = oldRss
      .filter((rs) => specReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of empty.slice(0, Math.max(0, oldRss.length - limit))) {
      actions.push({
        kind: 'delete',
        resource: 'replicasets',
        namespace: rs.metadata.namespace,
        name: rs.metadata.name ?? '',
        ...(rs.metadata.uid ? { uid: rs.metadata.uid } : {}),
      });
    }
  }
  return requeueAfterMs === undefined ? { actions } : { actions, requeueAfterMs };
}
