/**
 * Volume mounts of a container: where each mount's host side lives (planned purely) and the
 * folders and files made ready before CreateContainer.
 *
 * This increment handles emptyDir and hostPath. hostPath is only allowed under the node's allow
 * list and is read-only unless the mount says `readOnly: false`. subPath must stay inside its
 * volume: it may not be absolute or climb with '..', and after the folder exists its real path
 * (symlinks resolved) must still lie inside the volume. configMap, secret, projected and
 * downwardAPI volumes are refused with a clear reason until the agent serves them.
 */
import { mkdir, realpath, stat, writeFile, chmod } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import type { Mount } from '../../cri/types.ts';
import type { Container, Pod, Volume } from '../../kube/corev1.ts';
import { configError } from './start-errors.ts';
import { terminationMessagePathOf } from './defaults.ts';
import type { NodePodSettings } from './node-settings.ts';

export interface MountPlan {
  volume: string;
  kind: 'emptyDir' | 'hostPath' | 'terminationMessage';
  /** The volume's root on the host. */
  volumeRoot: string;
  /** What gets mounted (volumeRoot, or volumeRoot/subPath). */
  hostPath: string;
  containerPath: string;
  readonly: boolean;
  propagation: Mount['propagation'];
  hostPathType?: string;
}

export function podDir(settings: Pick<NodePodSettings, 'podsDir'>, uid: string): string {
  return join(settings.podsDir, uid);
}

export function emptyDirPath(settings: Pick<NodePodSettings, 'podsDir'>, uid: string, volume: string): string {
  return join(podDir(settings, uid), 'volumes', 'kubernetes.io~empty-dir', volume);
}

export function terminationMessageFile(settings: Pick<NodePodSettings, 'podsDir'>, uid: string, container: string, attempt: number): string {
  return join(podDir(settings, uid), 'containers', container, `${attempt}-termination-log`);
}

function within(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function volumeRoot(pod: Pod, volume: Volume, settings: NodePodSettings): { kind: 'emptyDir' | 'hostPath'; root: string; type?: string } {
  if (volume.emptyDir !== undefined) return { kind: 'emptyDir', root: emptyDirPath(settings, pod.metadata.uid ?? '', volume.name) };
  if (volume.hostPath !== undefined) {
    const path = volume.hostPath.path;
    if (!isAbsolute(path) || path.split('/').includes('..')) throw configError(`hostPath ${path} must be an absolute path without '..'`);
    if (!settings.hostPathAllowList.some((allowed) => within(allowed, path))) {
      throw configError(`hostPath ${path} is not allowed on this node (allowed: ${settings.hostPathAllowList.join(', ') || 'none'})`);
    }
    return { kind: 'hostPath', root: path, type: volume.hostPath.type ?? '' };
  }
  const kind = Object.keys(volume).find((key) => key !== 'name') ?? 'unknown';
  throw configError(`volume "${volume.name}" of type ${kind} is not supported by this agent yet`);
}

const propagations: Record<string, Mount['propagation']> = {
  None: 'PROPAGATION_PRIVATE',
  HostToContainer: 'PROPAGATION_HOST_TO_CONTAINER',
  Bidirectional: 'PROPAGATION_BIDIRECTIONAL',
};

export function planMounts(pod: Pod, container: Container, attempt: number, settings: NodePodSettings): MountPlan[] {
  const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
  const plans: MountPlan[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = volumes.get(mount.name);
    if (volume === undefined) throw configError(`volumeMount ${mount.name} names no volume of the pod`);
    const root = volumeRoot(pod, volume, settings);
    const subPath = mount.subPath ?? '';
    if (subPath !== '' && (isAbsolute(subPath) || subPath.split('/').includes('..'))) {
      throw configError(`subPath ${subPath} must be relative and stay inside volume ${mount.name}`);
    }
    plans.push({
      volume: mount.name,
      kind: root.kind,
      volumeRoot: root.root,
      hostPath: subPath === '' ? root.root : join(root.root, subPath),
      containerPath: mount.mountPath,
      readonly: root.kind === 'hostPath' ? mount.readOnly !== false : mount.readOnly === true,
      propagation: propagations[mount.mountPropagation ?? 'None'],
      ...(root.type !== undefined ? { hostPathType: root.type } : {}),
    });
  }
  const file = terminationMessageFile(settings, pod.metadata.uid ?? '', container.name, attempt);
  plans.push({
    volume: '',
    kind: 'terminationMessage',
    volumeRoot: file,
    hostPath: file,
    containerPath: terminationMessagePathOf(container),
    readonly: false,
    propagation: 'PROPAGATION_PRIVATE',
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
    if (info === undefined) await writeFile(path, '', { flag: 'a', mode: 0o644 });
    else if (!info.isFile()) throw configError(`hostPath ${path} exists and is not a file`);
    return;
  }
  const check = want[type];
  if (check !== undefined && (info === undefined || !check[0](info))) throw configError(`hostPath ${path} is not ${check[1]}`);
}

/** Creates what the mounts need on the host and returns the CRI mounts. */
export async function prepareMounts(plans: readonly MountPlan[]): Promise<Mount[]> {
  const mounts: Mount[] = [];
  for (const plan of plans) {
    if (plan.kind === 'terminationMessage') {
      await mkdir(join(plan.hostPath, '..'), { recursive: true });
      await writeFile(plan.hostPath, '', { flag: 'a' });
      // any user in the container may write its termination message
      await chmod(plan.hostPath, 0o666);
    } else if (plan.kind === 'emptyDir') {
      await mkdir(plan.volumeRoot, { recursive: true, mode: 0o777 });
      await chmod(plan.volumeRoot, 0o777);
    } else {
      await checkHostPathType(plan.volumeRoot, plan.hostPathType ?? '');
    }
    if (plan.hostPath !== plan.volumeRoot) {
      await mkdir(plan.hostPath, { recursive: true });
      const [real, root] = await Promise.all([realpath(plan.hostPath), realpath(plan.volumeRoot)]);
      if (!within(root, real)) throw configError(`subPath of volume ${plan.volume} leaves the volume (resolves to ${real})`);
    }
    mounts.push({ containerPath: plan.containerPath, hostPath: plan.hostPath, readonly: plan.readonly, propagation: plan.propagation });
  }
  return mounts;
}
