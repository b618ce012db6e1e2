/**
 * The pod volumes that have contents or a filesystem of their own: emptyDir (a tmpfs of its own
 * for `medium: Memory`, sized by its sizeLimit), configMap, secret, downwardAPI and projected (the
 * last three in the node's one memory tmpfs, mounted on first need, as the kubelet keeps secrets
 * off the disk; see memoryBackedKinds). setUp runs before a pod's container starts; refresh
 * rewrites the files of running pods when their ConfigMaps, Secrets, labels or tokens change
 * (through the AtomicWriter swap, so a reader never sees half an update); collect tears down what
 * is left of pods that are gone and whose sandboxes were removed, also after an agent restart.
 * persistentVolumeClaim volumes are resolved to their folder on this node (claim → bound PV →
 * path, volumes/claim-mount.ts) before anything else, and get the pod's fsGroup.
 */
import { chmod, mkdir, readdir, rm, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Clock } from '../../kube/clock.ts';
import type { Pod, Volume, VolumeProjection } from '../../kube/corev1.ts';
import { parseQuantity } from '../../kube/quantity.ts';
import type { ConfigLookup } from './config-source.ts';
import type { FieldSources } from './env.ts';
import type { NodePodSettings } from './node-settings.ts';
import { podKey } from './pod-containers.ts';
import { removeLogDirsOfGonePods } from './pod-log-dirs.ts';
import { defaultTokenSeconds, minTokenSeconds } from './service-account-tokens.ts';
import { ContainerStartError } from './start-errors.ts';
import {
  hostPathPolicyOf,
  hostPathProblem,
  localPathRootOf,
  memoryBackedKinds,
  memoryPodsDir,
  ownTmpfsVolumeDir,
  podDir,
  volumeDir,
  volumeKindOf,
  volumesParent,
  type VolumeKind,
} from './volumes.ts';
import { claimVolumes, resolveClaimMount, type ClaimMount } from './volumes/claim-mount.ts';
import type { ClaimSource } from './volumes/claim-source.ts';
import { applyFsGroup } from './volumes/fs-group.ts';
import { writeAtomically, type Payload } from './volumes/atomic-writer.ts';
import { hostMounts, type HostMounts } from './volumes/host-mounts.ts';
import { checkInsideParent } from './volumes/inside-parent.ts';
import { uidProblems } from './path-parts.ts';
import {
  defaultVolumeMode,
  projectAll,
  projectDownward,
  projectKeys,
  VolumeSetupError,
  type ResolvedProjection,
} from './volumes/projection.ts';

interface PodVolumesDeps {
  settings: NodePodSettings;
  config: ConfigLookup;
  log: Logger;
  /** Where tmpfs mounts are made and undone; default: this host (hollow nodes pass one that mounts nothing). */
  mounts?: HostMounts;
  /** Claims and volumes, for persistentVolumeClaim volumes; absent: such volumes cannot be set up. */
  claims?: ClaimSource;
  /** The node's labels, for the node affinity of persistent volumes; default: its hostname label. */
  nodeLabels?: () => Record<string, string>;
}

type ContentKind = Extract<VolumeKind, 'configMap' | 'secret' | 'downwardAPI' | 'projected'>;
const contentKinds = new Set<VolumeKind>(['configMap', 'secret', 'downwardAPI', 'projected']);

interface SetUpPod {
  pod: Pod;
  fields: FieldSources;
}

/** Downward API items that read the pod's address: a volume with one is written again once the sandbox has it. */
function readsPodAddress(volumes: readonly Volume[]): boolean {
  return volumes.some((volume) =>
    [
      ...(volume.downwardAPI?.items ?? []),
      ...(volume.projected?.sources ?? []).flatMap((source) => source.downwardAPI?.items ?? []),
    ].some((item) => {
      const path: unknown = item.fieldRef?.fieldPath;
      return typeof path === 'string' && path.startsWith('status.podIP');
    }),
  );
}

/** Whether a set-up done for `before` already holds what `now` asks for. */
function sameVolumeInputs(before: SetUpPod, now: SetUpPod): boolean {
  const volumes = now.pod.spec.volumes ?? [];
  if (JSON.stringify(before.pod.spec.volumes ?? []) !== JSON.stringify(volumes)) return false;
  return !readsPodAddress(volumes) || before.fields.podIPs.join(',') === now.fields.podIPs.join(',');
}

export class PodVolumes {
  readonly #deps: PodVolumesDeps;
  readonly #mounts: HostMounts;
  /** Pods whose volumes were set up, by UID, with what their downward API values come from. */
  readonly #pods = new Map<string, SetUpPod>();
  /** The persistent volume folders of set-up pods, by UID. */
  readonly #claimMounts = new Map<string, readonly ClaimMount[]>();
  /** The set-up running for each pod, by UID: a second one waits for it (no tmpfs is mounted twice). */
  readonly #settingUp = new Map<string, Promise<void>>();
  /** The node's memory tmpfs, once it is (being) mounted; cleared when mounting it failed. */
  #memoryRoot: Promise<void> | undefined;

  constructor(deps: PodVolumesDeps) {
    this.#deps = deps;
    this.#mounts = deps.mounts ?? hostMounts;
  }

  /**
   * Makes every volume of the pod ready. Throws a ContainerStartError (ContainerCreating) naming
   * the volume and the cause, as the kubelet's `MountVolume.SetUp failed` does.
   */
  async setUp(pod: Pod, fields: FieldSources): Promise<void> {
    const uid = pod.metadata.uid ?? '';
    const earlier = this.#settingUp.get(uid);
    const mine = (earlier ?? Promise.resolve()).catch(() => undefined).then(() => this.#setUpNow(pod, fields));
    this.#settingUp.set(uid, mine);
    try {
      await mine;
    } finally {
      if (this.#settingUp.get(uid) === mine) this.#settingUp.delete(uid);
    }
  }

  async #setUpNow(pod: Pod, fields: FieldSources): Promise<void> {
    const uid = pod.metadata.uid ?? '';
    const done = this.#pods.get(uid);
    // set up already, as the kubelet finds its volumes mounted: what changes later (a ConfigMap, a
    // label, a token about to expire) is the refresh loop's to write, not each container start's
    if (done !== undefined && sameVolumeInputs(done, { pod, fields })) {
      this.#pods.set(uid, { pod, fields });
      return;
    }
    this.#claimMounts.set(uid, await this.#setUpClaims(pod));
    for (const volume of pod.spec.volumes ?? []) {
      try {
        await this.#setUpVolume(pod, volume, fields);
      } catch (err) {
        throw new ContainerStartError(
          'ContainerCreating',
          `MountVolume.SetUp failed for volume "${volume.name}" : ${(err as Error).message}`,
        );
      }
    }
    this.#pods.set(uid, { pod, fields });
  }

  /**
   * Resolves every claim volume of the pod to its folder, or refuses the start with the kubelet's
   * words (a claim missing, going away, not Bound or Lost; a volume missing or not for this node).
   */
  async #setUpClaims(pod: Pod): Promise<readonly ClaimMount[]> {
    const volumes = claimVolumes(pod);
    if (volumes.length === 0) return [];
    const names = volumes.map((v) => v.name).join(' ');
    const refuse = (message: string): never => {
      throw new ContainerStartError(
        'ContainerCreating',
        `Unable to attach or mount volumes: unmounted volumes=[${names}], unattached volumes=[${names}]: ${message}`,
      );
    };
    const { claims, settings } = this.#deps;
    if (claims === undefined) return refuse('this agent has no API access to read persistent volume claims');
    const localPathRoot = localPathRootOf(settings);
    const mountSettings = {
      nodeName: settings.nodeName,
      localPathRoot,
      hostPathAllowed: (path: string) => hostPathProblem(path, hostPathPolicyOf(settings)),
    };
    const labels = this.#deps.nodeLabels?.();
    const resolved: ClaimMount[] = [];
    for (const volume of volumes) {
      const namespace = pod.metadata.namespace ?? 'default';
      try {
        const claim = await claims.claim(namespace, volume.persistentVolumeClaim!.claimName);
        const pv = claim?.spec.volumeName ? await claims.volume(claim.spec.volumeName) : undefined;
        const mount = resolveClaimMount(pod, volume, claim, pv, mountSettings, labels);
        if (mount.localPath) await checkInsideParent(localPathRoot, mount.path);
        const info = await stat(mount.path).catch(() => undefined);
        if (info === undefined || !info.isDirectory())
          refuse(
            `MountVolume.NewMounter initialization failed for volume "${mount.pvName}" : path "${mount.path}" does not exist`,
          );
        const fsGroup = pod.spec.securityContext?.fsGroup;
        if (fsGroup !== undefined && !mount.readOnly)
          await applyFsGroup(mount.path, fsGroup, pod.spec.securityContext?.fsGroupChangePolicy);
        resolved.push(mount);
      } catch (err) {
        if (err instanceof ContainerStartError) throw err;
        refuse((err as Error).message);
      }
    }
    return resolved;
  }

  /** The persistent volume folders of every set-up pod, by pod UID. */
  claimMounts(): { podUid: string; mount: ClaimMount }[] {
    return [...this.#claimMounts].flatMap(([podUid, mounts]) => mounts.map((mount) => ({ podUid, mount })));
  }

  /** Persistent volumes in use by set-up pods, named as the kubelet names them in Node status. */
  volumesInUse(): { name: string; path: string }[] {
    return [...this.#claimMounts.values()].flat().map((m) => ({
      name: `kubernetes.io/${m.kind === 'local' ? 'local-volume' : 'host-path'}/${m.pvName}`,
      path: m.path,
    }));
  }

  /** The persistent volume folders of a set-up pod (what its claim mounts bind). */
  claimMountsOf(uid: string): readonly ClaimMount[] {
    return this.#claimMounts.get(uid) ?? [];
  }

  async #setUpVolume(pod: Pod, volume: Volume, fields: FieldSources): Promise<void> {
    const kind = volumeKindOf(volume);
    if (kind === undefined || kind === 'hostPath' || kind === 'persistentVolumeClaim') return;
    const parent = volumesParent(this.#deps.settings, kind);
    const dir = volumeDir(this.#deps.settings, pod.metadata.uid ?? '', kind, volume.name);
    // checked before the folder is made and again before it is opened up, mounted on or written
    await checkInsideParent(parent, dir);
    if (kind === 'emptyDir') {
      await mkdir(dir, { recursive: true, mode: 0o777 });
      await checkInsideParent(parent, dir);
      if (volume.emptyDir?.medium === 'Memory' && !(await this.#mounts.isMountPoint(dir, 'tmpfs'))) {
        const limit = volume.emptyDir.sizeLimit;
        await this.#mounts.mountTmpfs(dir, limit !== undefined ? Math.ceil(parseQuantity(limit)) : undefined);
      }
      await chmod(dir, 0o777);
      return;
    }
    // compute the files first: a missing ConfigMap leaves nothing half made
    const payload = await this.#payload(pod, volume, kind as ContentKind, fields);
    if (memoryBackedKinds.has(kind)) {
      await this.#memoryRootReady();
      await checkInsideParent(parent, dir);
    }
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await checkInsideParent(parent, dir);
    await writeAtomically(dir, payload);
  }

  /** Mounts the node's memory tmpfs unless it is there already (mounted by an earlier run of the agent). */
  #memoryRootReady(): Promise<void> {
    this.#memoryRoot ??= (async () => {
      const root = memoryPodsDir(this.#deps.settings);
      await mkdir(root, { recursive: true, mode: 0o750 });
      if (!(await this.#mounts.isMountPoint(root, 'tmpfs'))) await this.#mounts.mountTmpfs(root);
      // a fresh tmpfs is world-writable (1777); what it holds is only the agent's to write
      await chmod(root, 0o750);
    })().catch((err: Error) => {
      this.#memoryRoot = undefined;
      throw new Error(`cannot prepare the memory volume folder: ${err.message}`);
    });
    return this.#memoryRoot;
  }

  async #payload(pod: Pod, volume: Volume, kind: ContentKind, fields: FieldSources): Promise<Payload> {
    const namespace = pod.metadata.namespace ?? 'default';
    const { config } = this.#deps;
    switch (kind) {
      case 'configMap': {
        const source = volume.configMap!;
        return projectKeys(
          'configmap',
          source.name,
          await config.configMap(namespace, source.name),
          source,
          source.defaultMode ?? defaultVolumeMode,
        );
      }
      case 'secret': {
        const source = volume.secret!;
        return projectKeys(
          'secret',
          source.secretName,
          await config.secret(namespace, source.secretName),
          source,
          source.defaultMode ?? defaultVolumeMode,
        );
      }
      case 'downwardAPI':
        return projectDownward(
          pod,
          volume.downwardAPI!.items ?? [],
          volume.downwardAPI!.defaultMode ?? defaultVolumeMode,
          fields,
        );
      case 'projected': {
        const resolved: ResolvedProjection[] = [];
        for (const source of volume.projected!.sources ?? []) resolved.push(await this.#resolveProjection(pod, source));
        return projectAll(pod, resolved, volume.projected!.defaultMode ?? defaultVolumeMode, fields);
      }
    }
  }

  async #resolveProjection(pod: Pod, source: VolumeProjection): Promise<ResolvedProjection> {
    const namespace = pod.metadata.namespace ?? 'default';
    const { config } = this.#deps;
    if (source.configMap)
      return { kind: 'configmap', ...source.configMap, data: await config.configMap(namespace, source.configMap.name) };
    if (source.secret)
      return { kind: 'secret', ...source.secret, data: await config.secret(namespace, source.secret.name) };
    if (source.downwardAPI) return { kind: 'downwardAPI', items: source.downwardAPI.items ?? [] };
    if (source.serviceAccountToken) {
      const request = source.serviceAccountToken;
      const expirationSeconds = request.expirationSeconds ?? defaultTokenSeconds;
      if (expirationSeconds < minTokenSeconds)
        throw new VolumeSetupError(
          `serviceAccountToken expirationSeconds ${expirationSeconds} is below the minimum of ${minTokenSeconds}`,
        );
      const serviceAccount = pod.spec.serviceAccountName ?? 'default';
      const token = await config
        .serviceAccountToken({
          namespace,
          serviceAccount,
          audience: request.audience ?? '',
          expirationSeconds,
          pod: { name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' },
        })
        .catch((err: Error) => {
          throw new VolumeSetupError(
            `failed to fetch token for service account ${namespace}/${serviceAccount}: ${err.message}`,
          );
        });
      return { kind: 'serviceAccountToken', path: request.path, token };
    }
    throw new VolumeSetupError(
      'a projected volume source names none of configMap, secret, downwardAPI, serviceAccountToken',
    );
  }

  /**
   * Brings the files of set-up pods up to date with `pods` (the latest objects of this node's
   * pods). A failure keeps the files as they were (the kubelet does the same) and is logged.
   */
  async refresh(pods: readonly Pod[]): Promise<void> {
    for (const pod of pods) {
      const uid = pod.metadata.uid ?? '';
      const known = this.#pods.get(uid);
      if (known === undefined) continue;
      const podIP = pod.status?.podIP ?? known.fields.podIP;
      const fields = { ...known.fields, podIP, podIPs: podIP ? [podIP] : known.fields.podIPs };
      this.#pods.set(uid, { pod, fields });
      for (const volume of pod.spec.volumes ?? []) {
        const kind = volumeKindOf(volume);
        if (kind === undefined || !contentKinds.has(kind)) continue;
        try {
          const payload = await this.#payload(pod, volume, kind as ContentKind, fields);
          const { settings } = this.#deps;
          const dir = volumeDir(settings, uid, kind as ContentKind, volume.name);
          await checkInsideParent(volumesParent(settings, kind), dir);
          let changed = await writeAtomically(dir, payload);
          const earlier = await this.#ownTmpfsOfEarlierAgent(uid, kind as ContentKind, volume.name);
          if (earlier !== undefined) {
            await checkInsideParent(settings.podsDir, earlier);
            changed = (await writeAtomically(earlier, payload)) || changed;
          }
          if (changed) this.#deps.log.info({ pod: podKey(pod), volume: volume.name }, 'volume contents updated');
        } catch (err) {
          this.#deps.log.warn(
            { pod: podKey(pod), volume: volume.name, err: (err as Error).message },
            'could not update the volume',
          );
        }
      }
    }
  }

  /**
   * The tmpfs of its own that an agent before the memory tmpfs mounted for this volume, if it is
   * still there: the containers it started see that copy until they restart.
   */
  async #ownTmpfsOfEarlierAgent(uid: string, kind: ContentKind, name: string): Promise<string | undefined> {
    if (!memoryBackedKinds.has(kind)) return undefined;
    const dir = ownTmpfsVolumeDir(this.#deps.settings, uid, kind, name);
    // a stat first: the mount table is read only for the rare pod that has such a folder
    if ((await stat(dir).catch(() => undefined)) === undefined) return undefined;
    return (await this.#mounts.isMountPoint(dir, 'tmpfs')) ? dir : undefined;
  }

  /**
   * Tears down the folders (unmounting their tmpfs and subPath binds first) of pods that are not
   * in `keep`: pods that are gone from the API and have no sandbox left; a pod's folder in the
   * memory tmpfs goes with it, the tmpfs itself stays for the other pods. A folder that still has
   * a mount after unmounting is left alone, never removed across a mount. Returns the UIDs removed.
   */
  async collect(keep: ReadonlySet<string>): Promise<string[]> {
    const { settings, log } = this.#deps;
    const removed: string[] = [];
    const memoryRoot = memoryPodsDir(settings);
    const listed = await Promise.all(
      [settings.podsDir, memoryRoot].map((root) => readdir(root).catch(() => [] as string[])),
    );
    for (const uid of new Set(listed.flat())) {
      // a folder the agent did not name after a pod is not the agent's to remove
      if (keep.has(uid) || uidProblems(uid).length > 0) continue;
      const dirs = [podDir(settings, uid), podDir({ podsDir: memoryRoot }, uid)];
      try {
        for (const dir of dirs) {
          await this.#mounts.unmountAllUnder(dir);
          if ((await this.#mounts.mountsUnder(dir)).length > 0) throw new Error(`mounts remain under ${dir}`);
          await rm(dir, { recursive: true, force: true });
        }
        this.#pods.delete(uid);
        this.#claimMounts.delete(uid);
        this.#deps.config.forgetPod?.(uid);
        removed.push(uid);
      } catch (err) {
        log.warn(
          { uid, dir: dirs[0], err: (err as Error).message },
          'could not tear down the volumes of a removed pod; retrying later',
        );
      }
    }
    return removed;
  }

  /**
   * Every `periodMs` until `signal` aborts: refresh the volumes of `pods()`, then collect what
   * belongs to neither those pods nor a sandbox the runtime still has (`sandboxUids()`).
   */
  async run(
    signal: AbortSignal,
    periodMs: number,
    pods: () => readonly Pod[],
    sandboxUids: () => Promise<ReadonlySet<string>>,
    clock: Clock,
  ): Promise<void> {
    while (!signal.aborted) {
      try {
        const current = pods();
        await this.refresh(current);
        const keep = new Set([...current.map((p) => p.metadata.uid ?? ''), ...(await sandboxUids())]);
        await this.collect(keep);
        // the pod's log folder goes by the same rule
        await removeLogDirsOfGonePods(this.#deps.settings.podLogRoot, keep);
      } catch (err) {
        this.#deps.log.warn({ err: (err as Error).message }, 'volume sync failed');
      }
      await new Promise<void>((resolve) => {
        const timer = clock.after(periodMs, resolve);
        signal.addEventListener(
          'abort',
          () => {
            timer.cancel();
            resolve();
          },
          { once: true },
        );
      });
    }
  }

  /** UIDs with volumes set up by this process. */
  get setUpPods(): ReadonlySet<string> {
    return new Set(this.#pods.keys());
  }
}
