/**
 * What files a configMap, secret, downwardAPI or projected volume holds, computed from the objects
 * already fetched (pure). Errors read like the kubelet's, because operators search for them.
 */
import type { DownwardAPIVolumeFile, KeyToPath, Pod } from '../../../kube/corev1.ts';
import { fieldRefValue, resourceFieldValue, type FieldSources } from '../env.ts';
import type { FileContent, Payload } from './atomic-writer.ts';

/** Default file mode of configMap, secret, downwardAPI and projected volumes (0644). */
export const defaultVolumeMode = 0o644;

type ConfigKind = 'configmap' | 'secret';

export class VolumeSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VolumeSetupError';
  }
}

function add(payload: Payload, path: string, content: FileContent): void {
  if (payload.has(path)) throw new VolumeSetupError(`more than one source writes ${path}`);
  payload.set(path, content);
}

/**
 * The files of a configMap/secret source: every key under its own name, or only `items` (key to
 * path, with a mode of their own). A missing object or key is an error unless `optional`.
 */
export function projectKeys(
  kind: ConfigKind,
  name: string,
  data: Record<string, Buffer> | undefined,
  source: { items?: KeyToPath[]; optional?: boolean },
  defaultMode: number,
  into: Payload = new Map(),
): Payload {
  if (data === undefined) {
    if (source.optional === true) return into;
    throw new VolumeSetupError(`${kind} "${name}" not found`);
  }
  if (source.items === undefined || source.items.length === 0) {
    for (const [key, value] of Object.entries(data)) add(into, key, { data: value, mode: defaultMode });
    return into;
  }
  for (const item of source.items) {
    const value = data[item.key];
    if (value === undefined) {
      if (source.optional === true) continue;
      throw new VolumeSetupError(
        kind === 'configmap'
          ? `configmap references non-existent config key: ${item.key}`
          : `references non-existent secret key: ${item.key}`,
      );
    }
    add(into, item.path, { data: value, mode: item.mode ?? defaultMode });
  }
  return into;
}

/** Go's strconv.Quote, which the kubelet uses for label and annotation files. */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** `key="value"` lines sorted by key, without a final newline (the kubelet's FormatMap). */
export function formatMap(values: Record<string, string> | undefined): string {
  return Object.keys(values ?? {})
    .sort()
    .map((key) => `${key}=${goQuote(values![key]!)}`)
    .join('\n');
}

function downwardValue(pod: Pod, file: DownwardAPIVolumeFile, sources: FieldSources): string {
  if (file.fieldRef) {
    const path = file.fieldRef.fieldPath;
    if (path === 'metadata.labels') return formatMap(pod.metadata.labels);
    if (path === 'metadata.annotations') return formatMap(pod.metadata.annotations);
    return fieldRefValue(pod, path, sources);
  }
  if (file.resourceFieldRef) {
    const ref = file.resourceFieldRef;
    const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    const container = containers.find((c) => c.name === ref.containerName);
    if (container === undefined)
      throw new VolumeSetupError(
        `resourceFieldRef of ${file.path} names no container of the pod (${ref.containerName ?? 'none given'})`,
      );
    return resourceFieldValue(container, ref.resource, ref.divisor, sources);
  }
  throw new VolumeSetupError(`downwardAPI item ${file.path} has neither fieldRef nor resourceFieldRef`);
}

export function projectDownward(
  pod: Pod,
  items: readonly DownwardAPIVolumeFile[],
  defaultMode: number,
  sources: FieldSources,
  into: Payload = new Map(),
): Payload {
  for (const item of items) {
    let value: string;
    try {
      value = downwardValue(pod, item, sources);
    } catch (err) {
      throw new VolumeSetupError((err as Error).message);
    }
    add(into, item.path, { data: Buffer.from(value), mode: item.mode ?? defaultMode });
  }
  return into;
}

/** A resolved source of a projected volume, in the order of `sources`. */
export type ResolvedProjection =
  | {
      kind: 'configmap' | 'secret';
      name: string;
      data: Record<string, Buffer> | undefined;
      items?: KeyToPath[];
      optional?: boolean;
    }
  | { kind: 'downwardAPI'; items: DownwardAPIVolumeFile[] }
  | { kind: 'serviceAccountToken'; path: string; token: string };

export function projectAll(
  pod: Pod,
  sources: readonly ResolvedProjection[],
  defaultMode: number,
  fields: FieldSources,
): Payload {
  const payload: Payload = new Map();
  for (const source of sources) {
    if (source.kind === 'downwardAPI') projectDownward(pod, source.items, defaultMode, fields, payload);
    else if (source.kind === 'serviceAccountToken')
      add(payload, source.path, { data: Buffer.from(source.token), mode: defaultMode });
    else projectKeys(source.kind, source.name, source.data, source, defaultMode, payload);
  }
  return payload;
}
