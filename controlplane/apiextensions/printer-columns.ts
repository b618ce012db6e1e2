/**
 * The Table of a custom resource (what `kubectl get` prints): Name, then the version's
 * additionalPrinterColumns read by JSONPath, or Age when it has none, as upstream's table
 * convertor builds it. Date columns print as an age ("5m"), a path that reaches nothing is an
 * empty cell (kubectl shows `<none>`), and a list shows its values joined by commas.
 */
import { humanDuration } from '../api/age.ts';
import { rowObject } from '../api/table.ts';
import type { PrinterColumn } from './crd.ts';
import { readJsonPath } from './json-path.ts';

const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description:
    'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
};

function cell(object: unknown, column: PrinterColumn, now: number): unknown {
  const values = readJsonPath(object, column.jsonPath);
  if (values.length === 0) return null;
  if (column.type === 'date') {
    const time = Date.parse(String(values[0]));
    return Number.isNaN(time) ? String(values[0]) : humanDuration(now - time);
  }
  if (values.length > 1) return values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(',');
  const value = values[0];
  switch (column.type) {
    case 'integer':
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    default:
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
}

export function customResourceTable(
  columns: readonly PrinterColumn[] | undefined,
  objects: readonly Record<string, unknown>[],
  resourceVersion: string | undefined,
  includeObject: string,
  now: number,
) {
  const printed = columns !== undefined && columns.length > 0 ? columns : [ageColumn];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: resourceVersion !== undefined ? { resourceVersion } : {},
    columnDefinitions: [
      {
        name: 'Name',
        type: 'string',
        format: 'name',
        description:
          'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
        priority: 0,
      },
      ...printed.map((c) => ({
        name: c.name,
        type: c.type === 'date' ? 'date' : c.type,
        format: c.format ?? '',
        description: c.description ?? '',
        priority: c.priority ?? 0,
      })),
    ],
    rows: objects.map((o) => ({
      cells: [(o.metadata as { name?: string } | undefined)?.name ?? '', ...printed.map((c) => cell(o, c, now))],
      object: rowObject(o, includeObject),
    })),
  };
}
