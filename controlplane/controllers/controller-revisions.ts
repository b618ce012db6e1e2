/**
 * ControllerRevisions: the template history of a DaemonSet or StatefulSet, which
 * `kubectl rollout history` lists and `kubectl rollout undo` applies. One revision object per
 * distinct template, named <owner>-<hash>, holding the template as upstream's patch
 * ({"spec":{"template":{..., "$patch":"replace"}}}) and a revision number. The current template's
 * revision is the highest; an old template coming back is renumbered to the top. Revisions beyond
 * revisionHistoryLimit that no pod uses are deleted, oldest first.
 */
import type { KubeObject } from '../../kube/types.ts';
import type { Action } from './actions.ts';
import { controllerOf, controllerReference } from './pods.ts';
import type { PodTemplateSpec } from './workload-types.ts';

export interface ControllerRevision extends KubeObject {
  data?: unknown;
  revision: number;
}

const changeCauseAnnotation = 'kubernetes.io/change-cause';

interface RevisionInput {
  readonly owner: KubeObject & {
    spec: {
      template: PodTemplateSpec;
      selector: { matchLabels?: Record<string, string> };
      revisionHistoryLimit?: number;
    };
  };
  /** The current template's hash (its revision is named <owner>-<hash>). */
  readonly hash: string;
  readonly revisions: readonly ControllerRevision[];
  /** Revision names that pods still carry: never pruned. */
  readonly inUse: ReadonlySet<string>;
}

export function revisionName(owner: KubeObject, hash: string): string {
  return `${owner.metadata.name}-${hash}`;
}

export function planRevisions({ owner, hash, revisions, inUse }: RevisionInput): Action[] {
  const mine = revisions.filter((r) => controllerOf(r)?.uid === owner.metadata.uid && !r.metadata.deletionTimestamp);
  const name = revisionName(owner, hash);
  const top = Math.max(0, ...mine.map((r) => r.revision));
  const current = mine.find((r) => r.metadata.name === name);
  const actions: Action[] = [];
  const cause = owner.metadata.annotations?.[changeCauseAnnotation];
  if (current === undefined) {
    const revision: ControllerRevision = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name,
        namespace: owner.metadata.namespace,
        labels: { ...owner.spec.selector.matchLabels, 'controller-revision-hash': hash },
        ...(cause !== undefined ? { annotations: { [changeCauseAnnotation]: cause } } : {}),
        ownerReferences: [controllerReference(owner)],
      },
      data: { spec: { template: { ...structuredClone(owner.spec.template), $patch: 'replace' } } },
      revision: top + 1,
    };
    actions.push({ kind: 'create', resource: 'controllerrevisions', object: revision });
  } else if (current.revision < top) {
    actions.push({ kind: 'update', resource: 'controllerrevisions', object: { ...current, revision: top + 1 } });
  }
  const limit = owner.spec.revisionHistoryLimit ?? 10;
  const old = mine
    .filter((r) => r.metadata.name !== name && !inUse.has(r.metadata.name ?? ''))
    .sort((a, b) => a.revision - b.revision);
  for (const revision of old.slice(0, Math.max(0, old.length - limit))) {
    actions.push({
      kind: 'delete',
      resource: 'controllerrevisions',
      namespace: revision.metadata.namespace,
      name: revision.metadata.name ?? '',
      ...(revision.metadata.uid ? { uid: revision.metadata.uid } : {}),
    });
  }
  return actions;
}
