/**
 * One metadata.managedFields entry: who owns which fields (FieldsV1), through which operation,
 * apiVersion and subresource; how entries are ordered when stored, and how conflicts name them.
 */

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion?: string | undefined;
  time?: string;
  fieldsType?: 'FieldsV1';
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

/**
 * A manager as conflicts name it: `"kubectl-create" using apps/v1` for an Update entry,
 * `"x" with subresource "status" using v1` for one through a subresource, `"x"` for an applier.
 */
export function describeOwner(entry: ManagedFieldsEntry): string {
  const name = entry.subresource ? `"${entry.manager}" with subresource "${entry.subresource}"` : `"${entry.manager}"`;
  return entry.operation === 'Update' ? `${name} using ${entry.apiVersion ?? ''}` : name;
}

export const entrySeconds = (entry: ManagedFieldsEntry): number => (entry.time ? Date.parse(entry.time) : 0);

/** Upstream's order: Apply before Update, then oldest first, then by manager, apiVersion, subresource. */
export function compareEntries(a: ManagedFieldsEntry, b: ManagedFieldsEntry): number {
  const order: [string | number, string | number][] = [
    [a.operation, b.operation],
    [entrySeconds(a), entrySeconds(b)],
    [a.manager, b.manager],
    [a.apiVersion ?? '', b.apiVersion ?? ''],
    [a.subresource ?? '', b.subresource ?? ''],
  ];
  for (const [x, y] of order) if (x !== y) return x < y ? -1 : 1;
  return 0;
}
