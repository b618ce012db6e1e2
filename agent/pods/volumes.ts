/**
 * Volume mounts of a container: where each mount's host side lives (planned purely) and the
 * folders and files made ready before CreateContainer. The contents of configMap, secret,
 * downwardAPI and projected volumes, and the tmpfs of memory-backed ones, are the
 * PodVolumes' business (volume-manager.ts); this file only says where they are.
 *
 * hostPath is only allowed under the node's allow list (never `/` nor anything holding the
 * agent's own state), checked again after symlinks are resolved, and is read-write unless the
 * mount says `readOnly: true`, as upstream mounts it; a prefix allowed read-only only (`:ro`, like
 * PodSecurityPolicy's allowedHostPaths readOnly) refuses a mount that does not say so. A subPath is resolved inside its volume without following a link
 * out of it, and what was resolved is bind-mounted for the container (volumes/subpath.ts).
 */
import { mkdir, realpath, stat, writeFile, chmod } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, sep } from 'node:path';
import type { Mount } from '../../cri/types.ts';
import type { Container, Pod, Volume } from '../../kube/corev1.ts';
import { configError, ContainerStartError } from './start-errors.ts';
import { terminationMessagePathOf } from './defaults.ts';
import type { NodePodSettings } from './node-settings.ts';
import { bindOpenFile, isMountPoint, unmountAllUnder } from './volumes/host-mounts.ts';
import { openInsideVolume, resolveSubPath, subPathProblem } from './volumes/subpath.ts';
import { checkInsideParent } from './volumes/inside-parent.ts';
import { requirePathPart } from './path-parts.ts';
import type { ClaimMount } from './volumes/claim-mount.ts';

export type VolumeKind =
  | 'emptyDir'
  | 'hostPath'
  | 'configMap'
  | 'secret'
  | 'downwardAPI'
  | 'projected'
  | 'persistentVolumeClaim';

/** Volume kinds whose folder the agent keeps under the pod's own folder. */
type PodFolderKind = Exclude<VolumeKind, 'hostPath' | 'persistentVolumeClaim'>;

export interface MountPlan {
  volume: string;
  kind: VolumeKind | 'terminationMessage';
  /** The volume's root on the host. */
  volumeRoot: string;
  /** What gets mounted: volumeRoot, or for a subPath the bind of it made under the pod folder. */
  hostPath: string;
  /** The subPath inside the volume, if any. */
  subPath?: string;
  containerPath: string;
  readonly: boolean;
  propagation: Mount['propagation'];
  hostPathType?: string;
  /** Allowed prefixes and refused paths, for hostPath volumes. */
  hostPathPolicy?: HostPathPolicy;
  /**
   * The pods folder (the memory tmpfs for a memory-backed volume's folder), when the host side is
   * something the agent makes below it (a volume folder, a subPath bind, the termination message):
   * it must stay inside it after symlinks. Unset for a
   * hostPath mounted as it is (the allow list governs that).
   */
  insideOf?: string;
}

export interface HostPathPolicy {
  allowed: readonly string[];
  /** Allowed prefixes that a mount may only use with `readOnly: true`. */
  readOnly?: readonly string[];
  /** Never mountable, nor anything that contains them. */
  refused: readonly string[];
}

/** The folder names the kubelet uses for each volume plugin under pods/<uid>/volumes. */
export const pluginDirs: Record<PodFolderKind, string> = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
};

/* The path builders take names from the API and refuse any that is not one safe folder name. */

export function podDir(settings: Pick<NodePodSettings, 'podsDir'>, uid: string): string {
  return join(settings.podsDir, requirePathPart('pod UID', uid));
}

/**
 * Volume kinds whose files live in memory, so that secrets never reach the disk. The kubelet
 * mounts a tmpfs for each such volume; the agent keeps them all on one tmpfs of the node
 * (memoryPodsDir), mounted once, because a mount per pod (a mount(8) process) was the largest
 * piece of work a pod start did beside the runtime's own. What that gives up: each volume's own
 * size cap (they share the tmpfs's) and a `df` inside the container that shows only its volume.
 */
export const memoryBackedKinds: ReadonlySet<VolumeKind> = new Set<VolumeKind>(['secret', 'downwardAPI', 'projected']);

/** The one tmpfs of the node that holds every memory-backed volume, one folder per pod as under podsDir. */
export function memoryPodsDir(settings: Pick<NodePodSettings, 'podsDir'>): string {
  return join(dirname(settings.podsDir), `${basename(settings.podsDir)}-memory`);
}

/** The folder under which a volume of this kind has its per-pod folder: podsDir, or the memory tmpfs. */
export function volumesParent(settings: Pick<NodePodSettings, 'podsDir'>, kind: VolumeKind): string {
  return memoryBackedKinds.has(kind) ? memoryPodsDir(settings) : settings.podsDir;
}

/** A volume's folder in the per-pod layout below `parent` (podsDir or the memory tmpfs). */
function volumeDirUnder(parent: string, uid: string, kind: PodFolderKind, volume: string): string {
  return join(podDir({ podsDir: parent }, uid), 'volumes', pluginDirs[kind], requirePathPart('volume name', volume));
}

export function volumeDir(
  settings: Pick<NodePodSettings, 'podsDir'>,
  uid: string,
  kind: PodFolderKind,
  volume: string,
): string {
  return volumeDirUnder(volumesParent(settings, kind), uid, kind, volume);
}

/**
 * Where an agent before the memory tmpfs kept a memory-backed volume: a tmpfs of its own under the
 * pod's folder. Containers started then still see that one, so its contents are kept up to date.
 */
export function ownTmpfsVolumeDir(
  settings: Pick<NodePodSettings, 'podsDir'>,
  uid: string,
  kind: PodFolderKind,
  volume: string,
): string {
  return volumeDirUnder(settings.podsDir, uid, kind, volume);
}

export function emptyDirPath(settings: Pick<NodePodSettings, 'podsDir'>, uid: string, volume: string): string {
  return volumeDir(settings, uid, 'emptyDir', volume);
}

export function terminationMessageFile(
  settings: Pick<NodePodSettings, 'podsDir'>,
  uid: string,
  container: string,
  attempt: number,
): string {
  return join(
    podDir(settings, uid),
    'containers',
    requirePathPart('container name', container),
    `${attempt}-termination-log`,
  );
}

/** Where the bind of a subPath mount lives (one per container and mount, as the kubelet keeps them). */
export function subPathBindPath(
  settings: Pick<NodePodSettings, 'podsDir'>,
  uid: string,
  volume: string,
  container: string,
  index: number,
): string {
  return join(
    podDir(settings, uid),
    'volume-subpaths',
    requirePathPart('volume name', volume),
    requirePathPart('container name', container),
    String(index),
  );
}

function within(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

export function volumeKindOf(volume: Volume): VolumeKind | undefined {
  const kinds: VolumeKind[] = [
    'emptyDir',
    'hostPath',
    'configMap',
    'secret',
    'downwardAPI',
    'projected',
    'persistentVolumeClaim',
  ];
  return kinds.find((kind) => volume[kind] !== undefined);
}

/** Where the local-path provisioner keeps its folders on this node. */
export function localPathRootOf(settings: Pick<NodePodSettings, 'localPathRoot' | 'rootDir' | 'podsDir'>): string {
  return settings.localPathRoot ?? join(settings.rootDir ?? dirname(settings.podsDir), 'storage');
}

export function hostPathPolicyOf(settings: NodePodSettings): HostPathPolicy {
  return {
    allowed: settings.hostPathAllowList,
    readOnly: settings.hostPathReadOnlyList ?? [],
    refused: [settings.rootDir ?? dirname(settings.podsDir)],
  };
}

/** Reads `--allowed-host-paths`: comma-separated prefixes, each optionally suffixed `:ro` (read-only mounts only). */
export function parseAllowedHostPaths(flag: string): { allowed: string[]; readOnly: string[] } {
  const allowed: string[] = [];
  const readOnly: string[] = [];
  for (const entry of flag
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const path = entry.endsWith(':ro') ? entry.slice(0, -':ro'.length) : entry;
    allowed.push(path);
    if (path !== entry) readOnly.push(path);
  }
  return { allowed, readOnly };
}

/** Why a mount of an allowed hostPath is refused for writing, or undefined when it is not. */
export function hostPathWriteProblem(path: string, readOnlyMount: boolean, policy: HostPathPolicy): string | undefined {
  if (readOnlyMount) return undefined;
  const prefix = (policy.readOnly ?? []).find((ro) => within(ro, path));
  return prefix === undefined
    ? undefined
    : `hostPath ${path} may only be mounted with readOnly: true on this node (--allowed-host-paths ${prefix}:ro)`;
}

/** Why `path` may not be a hostPath volume under `policy`, or undefined when it may. */
export function hostPathProblem(path: string, policy: HostPathPolicy): string | undefined {
  if (!isAbsolute(path) || path.split('/').includes('..'))
    return `hostPath ${path} must be an absolute path without '..'`;
  // the whole node (kubectl debug node/ mounts it at /host): only when the operator listed / itself
  if (path.replace(/\/+$/, '') === '') {
    return policy.allowed.some((allowed) => allowed.replace(/\/+$/, '') === '')
      ? undefined
      : 'hostPath / gives the pod the whole node: it is allowed only when --allowed-host-paths lists / itself';
  }
  const clash = policy.refused.find((refused) => within(path, refused) || within(refused, path));
  if (clash !== undefined)
    return `hostPath ${path} is not allowed: it holds or lies in the agent's own state (${clash})`;
  if (!policy.allowed.some((allowed) => within(allowed, path))) {
    return `hostPath ${path} is not allowed on this node (allowed: ${policy.allowed.join(', ') || 'none'}); start the agent with --allowed-host-paths to allow it`;
  }
  return undefined;
}

function volumeRoot(
  pod: Pod,
  volume: Volume,
  settings: NodePodSettings,
  claimMounts: readonly ClaimMount[],
): { kind: VolumeKind; root: string; type?: string; readOnly?: boolean; insideOf?: string } {
  const kind = volumeKindOf(volume);
  if (kind === 'persistentVolumeClaim') {
    // resolved (and checked) when the pod's volumes were set up
    const mount = claimMounts.find((m) => m.volume === volume.name);
    if (mount === undefined) throw configError(`volume "${volume.name}" has no persistent volume set up`);
    return {
      kind,
      root: mount.path,
      readOnly: mount.readOnly,
      ...(mount.localPath ? { insideOf: localPathRootOf(settings) } : {}),
    };
  }
  if (kind === 'hostPath') {
    const path = volume.hostPath!.path;
    const problem = hostPathProblem(path, hostPathPolicyOf(settings));
    if (problem !== undefined) throw configError(problem);
    return { kind, root: path, type: volume.hostPath!.type ?? '' };
  }
  if (kind !== undefined) return { kind, root: volumeDir(settings, pod.metadata.uid ?? '', kind, volume.name) };
  const other = Object.keys(volume).find((key) => key !== 'name') ?? 'unknown';
  throw configError(`volume "${volume.name}" of type ${other} is not supported by this agent`);
}

const propagations: Record<string, Mount['propagation']> = {
  None: 'PROPAGATION_PRIVATE',
  HostToContainer: 'PROPAGATION_HOST_TO_CONTAINER',
  Bidirectional: 'PROPAGATION_BIDIRECTIONAL',
};

/** configMap, secret, downwardAPI and projected volumes are always read-only (upstream). */
const alwaysReadOnly = new Set<VolumeKind>(['configMap', 'secret', 'downwardAPI', 'projected']);

export function planMounts(
  pod: Pod,
  container: Container,
  attempt: number,
  settings: NodePodSettings,
  claimMounts: readonly ClaimMount[] = [],
): MountPlan[] {
  const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
  const uid = pod.metadata.uid ?? '';
  const plans: MountPlan[] = [];
  for (const [index, mount] of (container.volumeMounts ?? []).entries()) {
    const volume = volumes.get(mount.name);
    if (volume === undefined) throw configError(`volumeMount ${mount.name} names no volume of the pod`);
    const root = volumeRoot(pod, volume, settings, claimMounts);
    const subPath = mount.subPath ?? '';
    const problem = subPath === '' ? undefined : subPathProblem(subPath);
    if (problem !== undefined) throw configError(`subPath ${subPath} of volume ${mount.name} ${problem}`);
    const readonly = alwaysReadOnly.has(root.kind) || mount.readOnly === true || root.readOnly === true;
    const writeProblem =
      root.kind === 'hostPath' ? hostPathWriteProblem(root.root, readonly, hostPathPolicyOf(settings)) : undefined;
    if (writeProblem !== undefined) throw configError(writeProblem);
    plans.push({
      volume: mount.name,
      kind: root.kind,
      volumeRoot: root.root,
      hostPath: subPath === '' ? root.root : subPathBindPath(settings, uid, mount.name, container.name, index),
      ...(subPath !== '' ? { subPath } : {}),
      containerPath: mount.mountPath,
      readonly,
      propagation: propagations[mount.mountPropagation ?? 'None'],
      ...(root.type !== undefined ? { hostPathType: root.type, hostPathPolicy: hostPathPolicyOf(settings) } : {}),
      // what the agent makes (volume folders, subPath binds) stays inside the pods folder; a
      // persistent volume folder inside --local-path-root (or, from another PV, the hostPath policy)
      ...(root.kind === 'persistentVolumeClaim' && subPath === ''
        ? root.insideOf !== undefined
          ? { insideOf: root.insideOf }
          : { hostPathPolicy: hostPathPolicyOf(settings) }
        : subPath !== ''
          ? { insideOf: settings.podsDir }
          : root.type === undefined
            ? { insideOf: volumesParent(settings, root.kind) }
            : {}),
    });
  }
  const file = terminationMessageFile(settings, uid, container.name, attempt);
  plans.push({
    volume: '',
    kind: 'terminationMessage',
    volumeRoot: file,
    hostPath: file,
    containerPath: terminationMessagePathOf(container),
    readonly: false,
    propagation: 'PROPAGATION_PRIVATE',
    insideOf: settings.podsDir,
  });
  return plans;
}

async function checkHostPathType(path: string, type: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  const want: Record<string, [(s: NonNullable<typeof info>) => boolean, string]> = {
    Directory: [(s) => s.isDirectory(), 'a directory'],
    File: [(s) => s.isFile(), 'a file'],
    Socket: [(s) => s.isSocket(), 'a socket'],
    CharDevice: [(s) => s.isCharacterDevice(), 'a character device'],
    BlockDevice: [(s) => s.isBlockDevice(), 'a block device'],
  };
  if (type === 'DirectoryOrCreate') {
    if (info === undefined) await mkdir(path, { recursive: true, mode: 0o755 });
    else if (!info.isDirectory()) throw configError(`hostPath ${path} exists and is not a directory`);
    return;
  }
  if (type === 'FileOrCreate') {
    if (info === undefined) {
      await mkdir(dirname(path), { recursive: true, mode: 0o755 });
      await writeFile(path, '', { flag: 'a', mode: 0o644 });
    } else if (!info.isFile()) throw configError(`hostPath ${path} exists and is not a file`);
    return;
  }
  const check = want[type];
  if (check !== undefined && (info === undefined || !check[0](info)))
    throw configError(`hostPath ${path} is not ${check[1]}${info === undefined ? ' (it does not exist)' : ''}`);
  if (type !== '' && check === undefined) throw configError(`hostPath ${path} has an unknown type ${type}`);
}

/** A symlinked hostPath must not lead out of the allowed prefixes (k/k#61043). */
async function checkHostPathTarget(path: string, policy: HostPathPolicy): Promise<void> {
  const real = await realpath(path).catch(() => undefined);
  if (real === undefined || real === path) return;
  const problem = hostPathProblem(real, policy);
  if (problem !== undefined) throw configError(`hostPath ${path} resolves to ${real}: ${problem}`);
}

/**
 * Binds what `plan.subPath` resolves to inside the volume onto plan.hostPath, refusing a subPath
 * that leads out of the volume. A bind from an earlier container is replaced (the content may differ).
 */
async function bindSubPath(plan: MountPlan): Promise<void> {
  let handle;
  try {
    const root = await realpath(plan.volumeRoot);
    const resolved = await resolveSubPath(root, plan.subPath!);
    handle = await openInsideVolume(root, resolved);
  } catch (err) {
    throw configError(`subPath ${plan.subPath} of volume ${plan.volume}: ${(err as Error).message}`);
  }
  try {
    const target = plan.hostPath;
    await unmountAllUnder(target);
    const isDir = (await stat(`/proc/self/fd/${handle.fd}`)).isDirectory();
    await mkdir(isDir ? target : dirname(target), { recursive: true, mode: 0o750 });
    if (!isDir) await writeFile(target, '', { flag: 'a', mode: 0o600 });
    await bindOpenFile(handle.fd, target);
    if (!(await isMountPoint(target)))
      throw new ContainerStartError(
        'CreateContainerConfigError',
        `the bind of subPath ${plan.subPath} did not take effect`,
      );
  } finally {
    await handle.close();
  }
}

/** Creates what the mounts need on the host and returns the CRI mounts. */
export async function prepareMounts(plans: readonly MountPlan[]): Promise<Mount[]> {
  const mounts: Mount[] = [];
  for (const plan of plans) {
    if (plan.insideOf !== undefined) await checkInsideParent(plan.insideOf, plan.hostPath);
    if (plan.kind === 'terminationMessage') {
      await mkdir(join(plan.hostPath, '..'), { recursive: true });
      await writeFile(plan.hostPath, '', { flag: 'a' });
      // any user in the container may write its termination message
      await chmod(plan.hostPath, 0o666);
    } else if (plan.kind === 'hostPath') {
      await checkHostPathType(plan.volumeRoot, plan.hostPathType ?? '');
      if (plan.hostPathPolicy !== undefined) await checkHostPathTarget(plan.volumeRoot, plan.hostPathPolicy);
    } else if (plan.kind === 'persistentVolumeClaim') {
      await checkHostPathType(plan.volumeRoot, 'Directory');
      if (plan.hostPathPolicy !== undefined) await checkHostPathTarget(plan.volumeRoot, plan.hostPathPolicy);
    } else {
      // PodVolumes set the volume up; a missing folder means it never was
      await stat(plan.volumeRoot).catch(() => {
        throw new ContainerStartError('ContainerCreating', `volume ${plan.volume} is not set up`);
      });
    }
    if (plan.subPath !== undefined) await bindSubPath(plan);
    mounts.push({
      containerPath: plan.containerPath,
      hostPath: plan.hostPath,
      readonly: plan.readonly,
      propagation: plan.propagation,
    });
  }
  return mounts;
}
