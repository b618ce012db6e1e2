/**
 * NamespaceLifecycle for deletes, as upstream's admission plugin: the namespaces the cluster
 * itself lives in may not be deleted, and deleting a namespace that is already terminating is a
 * conflict that says what is going on. (Creates in a terminating namespace are refused in the
 * admission chain.)
 */
import { ApiError } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/types.ts';

/** Upstream's immortal namespaces (kube-node-lease is not among them there either). */
const immortalNamespaces: ReadonlySet<string> = new Set(['default', 'kube-system', 'kube-public']);

export function refuseNamespaceDeletion(ns: KubeObject): void {
  const name = ns.metadata.name ?? '';
  if (immortalNamespaces.has(name)) {
    throw new ApiError('Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, {
      name,
      kind: 'namespaces',
    });
  }
  if (ns.metadata.deletionTimestamp) {
    throw new ApiError(
      'Conflict',
      `Operation cannot be fulfilled on namespaces "${name}": The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.`,
      { name, kind: 'namespaces' },
    );
  }
}
