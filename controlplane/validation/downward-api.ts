/**
 * What a downward API `fieldRef` may name, in upstream's words: a container's environment may
 * read the pod's name, namespace, uid, node, service account and addresses; a volume file its
 * name, namespace, uid, labels and annotations; both may read one label or annotation by key
 * (`metadata.labels['app']`). Anything else is refused at the API, before an agent is asked to
 * resolve it.
 */
import { qualifiedName } from '../../kube/name-formats.ts';
import type { FieldErrors } from './field-errors.ts';
import { checkString } from './fields.ts';

type Any = Record<string, any>;

export const envFieldPaths: readonly string[] = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];

export const volumeFieldPaths: readonly string[] = [
  'metadata.annotations',
  'metadata.labels',
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
];

/** Every field label a pod knows (the conversion's list); `spec.host` is the old name of spec.nodeName. */
const podFieldLabels = new Set([
  'metadata.annotations',
  'metadata.labels',
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.serviceAccountName',
  'spec.schedulerName',
  'status.phase',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
]);

/** `metadata.labels['app']` → ['metadata.labels', 'app']; anything without a trailing subscript → undefined. */
function splitSubscript(fieldPath: string): [string, string] | undefined {
  if (!fieldPath.endsWith("']")) return undefined;
  const inner = fieldPath.slice(0, -2);
  const open = inner.indexOf("['");
  if (open <= 0) return undefined;
  return [inner.slice(0, open), inner.slice(open + 2)];
}

/** Checks an ObjectFieldSelector at `path` against the field paths `allowed` there. */
export function validateFieldSelector(
  errors: FieldErrors,
  path: string,
  selector: Any,
  allowed: readonly string[],
): void {
  // an absent apiVersion is defaulted to v1 upstream before validation
  const apiVersion = selector.apiVersion ?? 'v1';
  if (!checkString(errors, `${path}.apiVersion`, apiVersion, undefined, true)) return;
  if (!checkString(errors, `${path}.fieldPath`, selector.fieldPath, undefined, true)) return;
  const fieldPath: string = selector.fieldPath;
  const converting = (problem: string) =>
    errors.invalid(`${path}.fieldPath`, fieldPath, `error converting fieldPath: ${problem}`);
  if (apiVersion !== 'v1') return converting(`unsupported pod version: ${apiVersion}`);
  const subscripted = splitSubscript(fieldPath);
  if (subscripted !== undefined) {
    const [field, key] = subscripted;
    if (field === 'metadata.annotations') errors.invalidEach(path, key.toLowerCase(), qualifiedName(key.toLowerCase()));
    else if (field === 'metadata.labels') errors.invalidEach(path, key, qualifiedName(key));
    else converting(`field label does not support subscript: ${fieldPath}`);
    return;
  }
  const label = fieldPath === 'spec.host' ? 'spec.nodeName' : fieldPath;
  if (!podFieldLabels.has(label)) return converting(`field label not supported: ${fieldPath}`);
  if (!allowed.includes(label)) errors.notSupported(`${path}.fieldPath`, label, allowed);
}
