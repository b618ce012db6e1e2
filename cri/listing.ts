/**
 * What `bosun cri ps|pods|images` show: filtering, ordering and table rows, apart from any I/O so
 * that tests can check them with plain data.
 *
 * Unlike crictl, filters apply to every output format (cri-tools#549: --name was ignored with
 * -o json), the POD and NAMESPACE columns fall back to the sandbox's own metadata when the
 * kubelet's labels are missing (cri-tools#888), and --namespace filters ps as well as pods
 * (cri-tools#1632).
 */
import { displayState, humanAge, humanSize, splitImageRef, truncateId } from './format.ts';
import type { Container, ContainerState, Image, PodSandbox, PodSandboxState } from './types.ts';

const podNameLabel = 'io.kubernetes.pod.name';
const podNamespaceLabel = 'io.kubernetes.pod.namespace';

interface CommonFilters {
  /** Regular expression on the name. */
  name?: string | undefined;
  /** Regular expression on the pod namespace. */
  namespace?: string | undefined;
  /** key=value pairs that must all match. */
  labels?: Record<string, string> | undefined;
  /** Only the newest one. */
  latest?: boolean | undefined;
  /** Only the newest N (0: all). */
  last?: number | undefined;
}

interface ContainerFilters extends CommonFilters {
  /** Full sandbox ID (already resolved from a prefix). */
  podId?: string | undefined;
  state?: ContainerState | undefined;
  /** Image reference or image ID prefix. */
  image?: string | undefined;
}

interface PodFilters extends CommonFilters {
  state?: PodSandboxState | undefined;
}

/** 'running' / 'Running' / 'CONTAINER_RUNNING' -> 'CONTAINER_RUNNING'; undefined when unknown. */
export function parseContainerState(text: string): ContainerState | undefined {
  const word = text.toUpperCase().replace(/^CONTAINER_/, '');
  const state = `CONTAINER_${word}`;
  return ['CONTAINER_CREATED', 'CONTAINER_RUNNING', 'CONTAINER_EXITED', 'CONTAINER_UNKNOWN'].includes(state)
    ? (state as ContainerState)
    : undefined;
}

/** 'ready' / 'notready' / 'SANDBOX_READY' -> the enum name; undefined when unknown. */
export function parsePodState(text: string): PodSandboxState | undefined {
  const word = text
    .toUpperCase()
    .replace(/^SANDBOX_/, '')
    .replace(/[^A-Z]/g, '');
  if (word === 'READY') return 'SANDBOX_READY';
  if (word === 'NOTREADY') return 'SANDBOX_NOTREADY';
  return undefined;
}

/** ['a=b', 'c=d'] -> { a: 'b', c: 'd' }; a pair without '=' is refused by the caller's usage check. */
export function parseLabelPairs(pairs: readonly string[]): Record<string, string> | { invalid: string } {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return { invalid: pair };
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}

interface PodIdentity {
  name: string;
  namespace: string;
}

/** The pod a container belongs to: the kubelet's labels first, else its sandbox's metadata. */
export function podOf(container: Container, sandboxes: ReadonlyMap<string, PodSandbox>): PodIdentity {
  const sandbox = sandboxes.get(container.podSandboxId);
  return {
    name: container.labels[podNameLabel] ?? sandbox?.metadata?.name ?? 'unknown',
    namespace: container.labels[podNamespaceLabel] ?? sandbox?.metadata?.namespace ?? 'unknown',
  };
}

function matchesRegex(pattern: string | undefined, value: string): boolean {
  return pattern === undefined || pattern === '' || new RegExp(pattern).test(value);
}

function matchesLabels(labels: Record<string, string>, wanted: Record<string, string> | undefined): boolean {
  return !wanted || Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

function newestFirst<T extends { createdAt: number; id: string }>(items: T[], filters: CommonFilters): T[] {
  const sorted = [...items].sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
  if (filters.latest) return sorted.slice(0, 1);
  if (filters.last) return sorted.slice(0, filters.last);
  return sorted;
}

export function filterContainers(
  containers: readonly Container[],
  sandboxes: ReadonlyMap<string, PodSandbox>,
  filters: ContainerFilters,
): Container[] {
  const kept = containers.filter((c) => {
    const pod = podOf(c, sandboxes);
    return (
      (filters.podId === undefined || c.podSandboxId === filters.podId) &&
      (filters.state === undefined || c.state === filters.state) &&
      matchesRegex(filters.name, c.metadata?.name ?? '') &&
      matchesRegex(filters.namespace, pod.namespace) &&
      matchesLabels(c.labels, filters.labels) &&
      (filters.image === undefined ||
        c.image?.image === filters.image ||
        c.imageRef.replace(/^sha256:/, '').startsWith(filters.image.replace(/^sha256:/, '')))
    );
  });
  return newestFirst(kept, filters);
}

export function filterPods(pods: readonly PodSandbox[], filters: PodFilters): PodSandbox[] {
  const kept = pods.filter(
    (p) =>
      (filters.state === undefined || p.state === filters.state) &&
      matchesRegex(filters.name, p.metadata?.name ?? '') &&
      matchesRegex(filters.namespace, p.metadata?.namespace ?? '') &&
      matchesLabels(p.labels, filters.labels),
  );
  return newestFirst(kept, filters);
}

/** Images whose name matches `ref` (crictl images [REPOSITORY[:TAG]]); all when ref is empty. */
export function filterImages(images: readonly Image[], ref: string | undefined): Image[] {
  const sorted = [...images].sort((a, b) => (a.repoTags[0] ?? a.id).localeCompare(b.repoTags[0] ?? b.id));
  if (!ref) return sorted;
  // 'busybox' matches localhost/bosun/busybox:1.35 (any tag), 'busybox:1.35' that tag only.
  const matches = (name: string) => name === ref || name.endsWith(`/${ref}`);
  return sorted.filter(
    (image) =>
      image.repoTags.some((tag) => matches(tag) || matches(splitImageRef(tag).repo)) ||
      image.id.replace(/^sha256:/, '').startsWith(ref.replace(/^sha256:/, '')),
  );
}

export const containerHeader = [
  'CONTAINER',
  'IMAGE',
  'CREATED',
  'STATE',
  'NAME',
  'ATTEMPT',
  'POD ID',
  'POD',
  'NAMESPACE',
];
export const podHeader = ['POD ID', 'CREATED', 'STATE', 'NAME', 'NAMESPACE', 'ATTEMPT', 'RUNTIME'];
const imageHeader = ['IMAGE', 'TAG', 'IMAGE ID', 'SIZE'];

export function containerRows(
  containers: readonly Container[],
  sandboxes: ReadonlyMap<string, PodSandbox>,
  nowMs: number,
  noTrunc = false,
): string[][] {
  const id = (value: string) => (noTrunc ? value : truncateId(value));
  return containers.map((c) => {
    const pod = podOf(c, sandboxes);
    let image = c.image?.image ?? '';
    if (/^sha256:[0-9a-f]{64}$/.test(image) && !noTrunc) image = truncateId(image);
    return [
      id(c.id),
      image,
      humanAge(c.createdAt, nowMs),
      displayState(c.state),
      c.metadata?.name ?? '',
      String(c.metadata?.attempt ?? 0),
      id(c.podSandboxId),
      pod.name,
      pod.namespace,
    ];
  });
}

export function podRows(pods: readonly PodSandbox[], nowMs: number, noTrunc = false): string[][] {
  return pods.map((p) => [
    noTrunc ? p.id : truncateId(p.id),
    humanAge(p.createdAt, nowMs),
    displayState(p.state),
    p.metadata?.name ?? '',
    p.metadata?.namespace ?? '',
    String(p.metadata?.attempt ?? 0),
    p.runtimeHandler || '(default)',
  ]);
}

/** One row per tag (an untagged image shows its repository from the digest and TAG <none>). */
export function imageRows(
  images: readonly Image[],
  options: { noTrunc?: boolean; digests?: boolean } = {},
): string[][] {
  const rows: string[][] = [];
  for (const image of images) {
    const names =
      image.repoTags.length > 0 ? image.repoTags : image.repoDigests.map((d) => d.split('@')[0]!).slice(0, 1);
    const digest = image.repoDigests[0]?.split('@')[1] ?? '';
    for (const name of names.length > 0 ? names : ['<none>']) {
      const { repo, tag } =
        name === '<none>'
          ? { repo: '<none>', tag: '<none>' }
          : image.repoTags.length > 0
            ? splitImageRef(name)
            : { repo: name, tag: '<none>' };
      const id = options.noTrunc ? image.id : truncateId(image.id);
      const row = [repo, tag];
      if (options.digests) row.push(options.noTrunc ? digest : truncateId(digest));
      row.push(id, humanSize(image.size));
      rows.push(row);
    }
  }
  return rows;
}

export function imageHeaderFor(options: { digests?: boolean } = {}): string[] {
  return options.digests ? ['IMAGE', 'TAG', 'DIGEST', 'IMAGE ID', 'SIZE'] : imageHeader;
}
