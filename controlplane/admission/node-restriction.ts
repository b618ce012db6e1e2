/**
 * NodeRestriction: what an agent (user system:node:<name>) may write, beyond what the node
 * authorizer lets through by object: a Node only under its own name, no labels under
 * node-restriction.kubernetes.io/, no changes to its taints after registration, and only mirror
 * pods bound to itself.
 */
import { ApiError } from '../../kube/errors.ts';
import type { UserInfo } from '../auth/types.ts';
import type { AdmissionRequest } from '../api/registry.ts';

type Any = Record<string, any>;
const restrictedPrefix = 'node-restriction.kubernetes.io/';
const mirrorAnnotation = 'kubernetes.io/config.mirror';

function nodeOf(user: UserInfo | undefined): string | undefined {
  if (!user || !user.groups.includes('system:nodes') || !user.name.startsWith('system:node:')) return undefined;
  return user.name.slice('system:node:'.length);
}

function restrictedLabels(labels: Record<string, string> | undefined): string[] {
  return Object.keys(labels ?? {}).filter((k) => k.startsWith(restrictedPrefix) || k.split('/')[0]!.endsWith(`.${restrictedPrefix.slice(0, -1)}`));
}

export function nodeRestriction(request: AdmissionRequest, user: UserInfo | undefined): void {
  const node = nodeOf(user);
  if (node === undefined || request.info.group !== '') return;
  const o = request.object as Any;
  const forbid = (why: string) => {
    throw new ApiError('Forbidden', `${request.info.resource} "${o.metadata?.name ?? ''}" is forbidden: node "${node}" ${why}`);
  };
  if (request.info.resource === 'nodes') {
    if (o.metadata?.name !== node) forbid(`is not allowed to modify node "${o.metadata?.name}"`);
    if (request.subresource === 'status') return;
    const oldLabels = (request.old?.metadata.labels ?? {}) as Record<string, string>;
    const changed = restrictedLabels(o.metadata?.labels).filter((k) => oldLabels[k] !== o.metadata.labels[k]);
    const removed = restrictedLabels(oldLabels).filter((k) => !(k in (o.metadata?.labels ?? {})));
    if (changed.length > 0 || removed.length > 0) forbid(`is not allowed to modify labels: ${[...changed, ...removed].join(', ')}`);
    if (request.operation === 'UPDATE' && JSON.stringify((request.old?.spec as Any | undefined)?.taints ?? []) !== JSON.stringify(o.spec?.taints ?? [])) {
      forbid('is not allowed to modify taints');
    }
  }
  if (request.info.resource === 'pods' && request.operation === 'CREATE' && request.subresource === undefined) {
    if (!o.metadata?.annotations?.[mirrorAnnotation]) forbid('can only create mirror pods');
    if (o.spec?.nodeName !== node) forbid(`can only create pods bound to itself`);
  }
}
