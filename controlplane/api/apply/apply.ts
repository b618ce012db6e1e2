/**
 * Server-side apply: merges an applied configuration into the live object and records, per field
 * manager, which fields it set (metadata.managedFields, operation Apply). Applying a field that
 * another applier owns with a different value is a conflict (409) unless forced, which moves the
 * conflicting fields to the new manager. Fields a manager applied before and no longer applies are removed,
 * unless another manager owns them too.
 *
 * Writes that are not applies (create, replace, patch) own what they set too, as `Update` entries
 * (update-ownership.ts): an apply that changes such a field conflicts with its writer unless forced.
 */
import { ApiError } from '../../../kube/errors.ts';
import { isPlainObject, type KubeObject } from '../../../kube/types.ts';
import { strategicMerge } from '../patch.ts';
import { compareEntries, describeOwner, type ManagedFieldsEntry } from './managed-fields-entry.ts';
import { fieldsFromLastApplied, takesOverClientSideApply } from './last-applied.ts';
import {
  fieldSet,
  type ListTypes,
  fromFieldsV1,
  keyPath,
  pathKey,
  removeAt,
  toFieldsV1,
  valueAt,
  type FieldPath,
} from './field-set.ts';

/** `.spec.containers[name="web"].image`, as conflicts are reported. */
function describePath(path: FieldPath): string {
  return path
    .map((segment) => {
      if (segment.startsWith('f:')) return `.${segment.slice(2)}`;
      if (segment.startsWith('k:')) {
        const key = JSON.parse(segment.slice(2)) as Record<string, unknown>;
        return `[${Object.entries(key)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      }
      if (segment.startsWith('v:')) return `[${segment.slice(2)}]`;
      return '';
    })
    .join('');
}

interface ApplyRequest {
  readonly applied: KubeObject;
  readonly manager: string;
  readonly force: boolean;
  /** RFC 3339 time recorded on the manager's entry. */
  readonly now: string;
  /** A custom resource's list types (from its schema); absent: built-in kinds' rules. */
  readonly lists?: ListTypes;
}

interface FieldConflict {
  readonly owner: ManagedFieldsEntry;
  readonly path: FieldPath;
}

/**
 * Upstream's wording: one conflict on one line; several grouped by manager (in manager order), each
 * group `conflicts with "m" using v1:` followed by one `- .path` line per field.
 */
function conflictMessage(conflicts: readonly FieldConflict[]): string {
  if (conflicts.length === 1)
    return `Apply failed with 1 conflict: conflict with ${describeOwner(conflicts[0]!.owner)}: ${describePath(conflicts[0]!.path)}`;
  const byOwner = new Map<string, FieldConflict[]>();
  for (const conflict of conflicts) {
    const { manager, operation, apiVersion, subresource } = conflict.owner;
    const key = JSON.stringify([
      manager,
      operation,
      operation === 'Update' ? (apiVersion ?? '') : '',
      subresource ?? '',
    ]);
    byOwner.set(key, [...(byOwner.get(key) ?? []), conflict]);
  }
  const lines = [...byOwner.keys()].sort().flatMap((key) => {
    // Fields in path order, as upstream's sorted field sets list them.
    const group = byOwner.get(key)!.sort((a, b) => (pathKey(a.path) < pathKey(b.path) ? -1 : 1));
    return [`conflicts with ${describeOwner(group[0]!.owner)}:`, ...group.map((c) => `- ${describePath(c.path)}`)];
  });
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

function conflictError(conflicts: readonly FieldConflict[]): ApiError {
  return new ApiError('Conflict', conflictMessage(conflicts), {
    causes: conflicts.map((c) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with ${describeOwner(c.owner)}`,
      field: describePath(c.path),
    })),
  });
}

/** The object after applying; throws 409 Conflict naming every conflicting field and its owner. */
export function applyConfiguration(current: KubeObject | undefined, request: ApplyRequest): KubeObject {
  const { applied, manager, force, now } = request;
  const base: KubeObject = current
    ? structuredClone(current)
    : { apiVersion: applied.apiVersion, kind: applied.kind, metadata: {} };
  const entries = ((base.metadata.managedFields ?? []) as ManagedFieldsEntry[]).filter((e) => isPlainObject(e));
  const owned = entries.map((entry) => ({ entry, fields: fromFieldsV1(entry.fieldsV1) }));
  const mine = owned.find((o) => o.entry.manager === manager && o.entry.operation === 'Apply');
  const others = owned.filter((o) => o !== mine);
  const wanted = fieldSet(applied, request.lists !== undefined ? { lists: request.lists } : {});

  const conflicts: FieldConflict[] = [];
  for (const other of others) {
    for (const key of wanted) {
      if (!other.fields.has(key)) continue;
      const path = keyPath(key);
      if (path.at(-1) === '.') continue; // both want the list item to exist: no disagreement
      if (JSON.stringify(valueAt(base, path)) !== JSON.stringify(valueAt(applied, path)))
        conflicts.push({ owner: other.entry, path });
    }
  }
  if (conflicts.length > 0 && !force && takesOverClientSideApply(manager) && current !== undefined) {
    const fromClientSide = fieldsFromLastApplied(current);
    const refused = conflicts.filter((c) => !fromClientSide.has(pathKey(c.path)));
    if (refused.length > 0) throw conflictError(refused);
  } else if (conflicts.length > 0 && !force) {
    throw conflictError(conflicts);
  }
  // Every conflict left is taken (forced, or client-side apply fields kubectl takes over): the field
  // moves to this manager. Fields applied with equal values stay shared.
  for (const conflict of conflicts)
    others.find((o) => o.entry === conflict.owner)?.fields.delete(pathKey(conflict.path));

  let merged = strategicMerge(base, applied, request.lists) as KubeObject;
  const dropped = [...(mine?.fields ?? [])].filter((key) => !wanted.has(key) && !others.some((o) => o.fields.has(key)));
  for (const key of dropped.sort((a, b) => keyPath(b).length - keyPath(a).length)) removeAt(merged, keyPath(key));
  merged = merged as KubeObject;
  merged.metadata ??= {};

  const entry: ManagedFieldsEntry = {
    manager,
    operation: 'Apply',
    apiVersion: applied.apiVersion,
    time: now,
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(wanted),
  };
  const kept = owned
    .filter((o) => o !== mine)
    .map((o) => ({ ...o.entry, fieldsV1: toFieldsV1(o.fields) }))
    .filter((e) => Object.keys(e.fieldsV1).length > 0);
  merged.metadata.managedFields = [...kept, entry].sort(compareEntries);
  return merged;
}
