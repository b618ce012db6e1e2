/**
 * The parts of a pod (or of a workload's pod template) that the Pod Security checks read, and the
 * wording helpers their messages share. Every field is optional: the checks read what a client
 * sent, and a field that is absent is never a violation by itself.
 */

export interface SecurityContextView {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  procMount?: string;
  capabilities?: { add?: string[]; drop?: string[] };
  seLinuxOptions?: { type?: string; user?: string; role?: string; level?: string };
  seccompProfile?: { type?: string; localhostProfile?: string };
  appArmorProfile?: { type?: string; localhostProfile?: string };
  windowsOptions?: { hostProcess?: boolean };
  sysctls?: { name?: string; value?: string }[];
}

export interface ContainerView {
  name?: string;
  image?: string;
  ports?: { hostPort?: number; containerPort?: number }[];
  securityContext?: SecurityContextView;
}

interface VolumeView {
  name?: string;
  [source: string]: unknown;
}

export interface PodSpecView {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  hostUsers?: boolean;
  os?: { name?: string };
  runtimeClassName?: string;
  securityContext?: SecurityContextView;
  containers?: ContainerView[];
  initContainers?: ContainerView[];
  ephemeralContainers?: ContainerView[];
  volumes?: VolumeView[];
}

export interface PodMetaView {
  name?: string;
  annotations?: Record<string, string>;
}

/** One check's finding: a short reason (`host namespaces`) and what exactly (`hostNetwork=true`). */
export interface Violation {
  readonly reason: string;
  readonly detail: string;
}

/** Init containers, containers, then ephemeral containers, as the kubelet starts them. */
export function allContainers(spec: PodSpecView): ContainerView[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
}

/** Names of the containers for which `bad` holds, in the pod's order. */
export function containersWhere(spec: PodSpecView, bad: (container: ContainerView) => boolean): string[] {
  return allContainers(spec)
    .filter(bad)
    .map((c) => c.name ?? '');
}

export function pluralize(singular: string, plural: string, count: number): string {
  return count === 1 ? singular : plural;
}

/** `"a", "b"`: each value quoted, comma-separated. */
export function joinQuote(values: readonly string[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

/** Distinct values, sorted by code unit as upstream's string sets list them. */
export function sortedSet(values: Iterable<string>): string[] {
  return [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `container "a"` or `containers "a", "b"`. */
export function containerList(names: readonly string[]): string {
  return `${pluralize('container', 'containers', names.length)} ${joinQuote(names)}`;
}

/**
 * Who set a forbidden value: `pod`, `containers "a", "b"`, or both joined by `and`, as upstream
 * words a field that both the pod and its containers may set.
 */
export function setters(pod: boolean, containers: readonly string[]): string {
  const who = pod ? ['pod'] : [];
  if (containers.length > 0) who.push(containerList(containers));
  return who.join(' and ');
}

/** A pod that declares itself a Windows pod: some Linux-only restricted checks do not apply. */
export function isWindowsPod(spec: PodSpecView): boolean {
  return spec.os?.name === 'windows';
}

/** A pod in its own user namespace (`hostUsers: false`): root inside it is not root on the node. */
export function inUserNamespace(spec: PodSpecView): boolean {
  return spec.hostUsers === false;
}
