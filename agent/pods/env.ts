/**
 * A container's environment: envFrom sources first (in order, with their prefix), then env
 * entries, which win; `$(NAME)` in values, command and args expands to variables defined before
 * (`$$` is a literal `$`, an unknown name stays as written). Values from fieldRef,
 * resourceFieldRef, configMapKeyRef and secretKeyRef are resolved here from what the caller
 * looked up. Pure.
 */
import type { KeyValue } from '../../cri/types.ts';
import type { Container, Pod } from '../../kube/corev1.ts';
import { configError } from './start-errors.ts';
import { milliCpu, wholeUnits as bytesOf, parseQuantity } from '../../kube/quantity.ts';

/** What fieldRef and resourceFieldRef values come from, besides the pod itself. */
export interface FieldSources {
  podIP: string;
  podIPs: string[];
  hostIP: string;
  nodeName: string;
  allocatable: { cpuMilli: number; memoryBytes: number };
}

export interface EnvSources extends FieldSources {
  /** ConfigMap data by name; undefined when it does not exist. */
  configMap(name: string): Record<string, string> | undefined;
  /** Secret data (decoded) by name; undefined when it does not exist. */
  secret(name: string): Record<string, string> | undefined;
}

/** Expands $(NAME) references against `vars`. */
export function expandReferences(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\$|\$\(([^)]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && vars.has(name) ? vars.get(name)! : match;
  });
}

function labelOrAnnotation(path: string, values: Record<string, string> | undefined): string | undefined {
  const match = /^metadata\.(?:labels|annotations)\['(.+)'\]$/.exec(path);
  if (match === null) return undefined;
  return values?.[match[1]!] ?? '';
}

export function fieldRefValue(pod: Pod, path: string, sources: FieldSources): string {
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? 'default';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return pod.spec.nodeName ?? sources.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? '';
    case 'status.hostIP':
      return sources.hostIP;
    case 'status.hostIPs':
      return sources.hostIP;
    case 'status.podIP':
      return sources.podIP;
    case 'status.podIPs':
      return sources.podIPs.join(',');
  }
  if (path.startsWith('metadata.labels[')) return labelOrAnnotation(path, pod.metadata.labels) ?? '';
  if (path.startsWith('metadata.annotations[')) return labelOrAnnotation(path, pod.metadata.annotations) ?? '';
  throw configError(`unsupported fieldRef ${path}`);
}

/** limits.cpu, requests.memory, ...: an unset limit reads as the node's allocatable. */
export function resourceFieldValue(
  container: Container,
  resource: string,
  divisor: string | number | undefined,
  sources: FieldSources,
): string {
  const [kind, name] = resource.split('.') as [string, string | undefined];
  const list =
    kind === 'limits' ? container.resources?.limits : kind === 'requests' ? container.resources?.requests : undefined;
  const raw = list?.[name ?? ''] ?? (kind === 'requests' ? container.resources?.limits?.[name ?? ''] : undefined);
  if (name === 'cpu') {
    const milli = raw !== undefined ? milliCpu(raw) : kind === 'limits' ? sources.allocatable.cpuMilli : 0;
    const divisorMilli = divisor !== undefined ? milliCpu(divisor) : 1000;
    return String(Math.ceil(milli / divisorMilli));
  }
  if (name === 'memory' || name === 'ephemeral-storage') {
    const bytes =
      raw !== undefined ? bytesOf(raw) : kind === 'limits' && name === 'memory' ? sources.allocatable.memoryBytes : 0;
    const per = divisor !== undefined ? parseQuantity(divisor) : 1;
    return String(Math.ceil(bytes / per));
  }
  throw configError(`unsupported resourceFieldRef ${resource}`);
}

function lookup(
  pod: Pod,
  kind: 'configmap' | 'secret',
  name: string,
  key: string | undefined,
  optional: boolean | undefined,
  sources: EnvSources,
): string | Record<string, string> | undefined {
  const data = kind === 'configmap' ? sources.configMap(name) : sources.secret(name);
  if (data === undefined) {
    if (optional) return undefined;
    throw configError(`${kind} "${name}" not found`);
  }
  if (key === undefined) return data;
  if (!(key in data)) {
    if (optional) return undefined;
    throw configError(
      `couldn't find key ${key} in ${kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${pod.metadata.namespace ?? 'default'}/${name}`,
    );
  }
  return data[key];
}

export function resolveEnv(pod: Pod, container: Container, sources: EnvSources): KeyValue[] {
  const vars = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    const data = from.configMapRef
      ? lookup(pod, 'configmap', from.configMapRef.name, undefined, from.configMapRef.optional, sources)
      : from.secretRef
        ? lookup(pod, 'secret', from.secretRef.name, undefined, from.secretRef.optional, sources)
        : undefined;
    if (typeof data === 'object') for (const [key, value] of Object.entries(data)) vars.set(`${prefix}${key}`, value);
  }
  for (const env of container.env ?? []) {
    const from = env.valueFrom;
    let value: string | undefined;
    if (from?.fieldRef) value = fieldRefValue(pod, from.fieldRef.fieldPath, sources);
    else if (from?.resourceFieldRef) {
      const target = from.resourceFieldRef.containerName
        ? ([...(pod.spec.initContainers ?? []), ...pod.spec.containers].find(
            (c) => c.name === from.resourceFieldRef!.containerName,
          ) ?? container)
        : container;
      value = resourceFieldValue(target, from.resourceFieldRef.resource, from.resourceFieldRef.divisor, sources);
    } else if (from?.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      value = lookup(pod, 'configmap', ref.name, ref.key, ref.optional, sources) as string | undefined;
    } else if (from?.secretKeyRef) {
      const ref = from.secretKeyRef;
      value = lookup(pod, 'secret', ref.name, ref.key, ref.optional, sources) as string | undefined;
    } else value = expandReferences(env.value ?? '', vars);
    if (value !== undefined) vars.set(env.name, value);
  }
  return [...vars].map(([key, value]) => ({ key, value }));
}
