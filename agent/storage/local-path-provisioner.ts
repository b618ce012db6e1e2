/**
 * The local-path provisioner of one node: watches claims, volumes and classes, plans with
 * local-path-plan.ts and carries the plan out on this node's disk and through the API. Syncs are
 * coalesced (a burst of watch events is one pass) and repeated every `resyncMs`, so a failed step
 * is tried again. The root folder is 0700 (only root reaches the volumes from the host); each volume
 * folder is 0777 inside it, so a container of any user may write its volume.
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { KubeClient } from '../../kube/client.ts';
import { isApiError } from '../../kube/errors.ts';
import { apiListWatch, Informer } from '../../kube/informer.ts';
import { refs } from '../../kube/resource-ref.ts';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../../kube/storagev1.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { Recorder } from '../events/event-recorder.ts';
import { checkInsideParent } from '../pods/volumes/inside-parent.ts';
import { mountsUnder } from '../pods/volumes/host-mounts.ts';
import { planLocalPath, type LocalPathAction } from './local-path-plan.ts';
import type { ClaimSource } from '../pods/volumes/claim-source.ts';

interface LocalPathOptions {
  readonly client: KubeClient;
  readonly nodeName: string;
  readonly localPathRoot: string;
  readonly recorder: Recorder;
  readonly log: Logger;
  readonly resyncMs?: number;
}

function claimReference(claim: PersistentVolumeClaim) {
  return {
    kind: 'PersistentVolumeClaim',
    apiVersion: 'v1',
    namespace: claim.metadata.namespace ?? 'default',
    name: claim.metadata.name ?? '',
    uid: claim.metadata.uid ?? '',
  };
}

export class LocalPathProvisioner {
  readonly #o: LocalPathOptions;
  readonly #claims: Informer;
  readonly #volumes: Informer;
  readonly #classes: Informer;
  #pending = false;
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: LocalPathOptions) {
    this.#o = options;
    this.#claims = new Informer(apiListWatch(options.client, refs.persistentvolumeclaims));
    this.#volumes = new Informer(apiListWatch(options.client, refs.persistentvolumes));
    this.#classes = new Informer(apiListWatch(options.client, refs.storageclasses));
    for (const informer of [this.#claims, this.#volumes, this.#classes]) {
      const wake = () => this.#wake();
      informer.addHandlers({ onAdd: wake, onUpdate: wake, onDelete: wake });
    }
  }

  /**
   * Claims and volumes from this provisioner's watches, for pods' claim volumes: a Bound claim and
   * its volume are read from memory (the scheduler binds a pod only once its claims are Bound, so
   * the watch has usually seen it); anything else is asked of `fallback` (the API), never assumed.
   */
  claimSource(fallback: ClaimSource): ClaimSource {
    return {
      claim: async (namespace, name) => {
        const cached = this.#claims.get(`${namespace}/${name}`) as unknown as PersistentVolumeClaim | undefined;
        return cached?.status?.phase === 'Bound' && !cached.metadata.deletionTimestamp
          ? cached
          : fallback.claim(namespace, name);
      },
      volume: async (name) =>
        (this.#volumes.get(name) as unknown as PersistentVolume | undefined) ?? fallback.volume(name),
    };
  }

  /** Runs until stop(); resolves when the watches end. */
  run(): Promise<void>[] {
    const runs = [this.#claims.run(), this.#volumes.run(), this.#classes.run()];
    const tick = () => {
      if (this.#stopped) return;
      this.#wake();
      this.#timer = setTimeout(tick, this.#o.resyncMs ?? 30_000);
    };
    this.#timer = setTimeout(tick, this.#o.resyncMs ?? 30_000);
    return runs;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const informer of [this.#claims, this.#volumes, this.#classes]) informer.stop();
    await this.#running;
  }

  #wake(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#pending = true;
      return;
    }
    this.#running = this.#sync().finally(() => {
      this.#running = undefined;
      if (this.#pending) {
        this.#pending = false;
        this.#wake();
      }
    });
  }

  async #sync(): Promise<void> {
    const actions = planLocalPath({
      nodeName: this.#o.nodeName,
      localPathRoot: this.#o.localPathRoot,
      claims: this.#claims.list() as unknown as PersistentVolumeClaim[],
      volumes: this.#volumes.list() as unknown as PersistentVolume[],
      classes: this.#classes.list() as unknown as StorageClass[],
    });
    // each action touches its own folder and object: a burst of claims is served side by side
    await Promise.all(
      actions.map((action) =>
        this.#carryOut(action).catch((err: unknown) =>
          this.#o.log.warn(
            { err: (err as Error).message, action: action.kind },
            'local-path step failed; retrying later',
          ),
        ),
      ),
    );
  }

  async #carryOut(action: LocalPathAction): Promise<void> {
    const { client, recorder, localPathRoot } = this.#o;
    switch (action.kind) {
      case 'refuse':
        recorder.event(claimReference(action.claim), 'Warning', 'ProvisioningFailed', action.message);
        return;
      case 'provision': {
        await mkdir(localPathRoot, { recursive: true, mode: 0o700 });
        await checkInsideParent(localPathRoot, action.folder);
        await mkdir(action.folder, { recursive: true, mode: 0o777 });
        await checkInsideParent(localPathRoot, action.folder);
        await chmod(action.folder, 0o777);
        try {
          await client.create(refs.persistentvolumes, action.pv as unknown as KubeObject);
        } catch (err) {
          if (!isApiError(err, 'AlreadyExists')) throw err;
          return;
        }
        this.#o.log.info({ pv: action.pv.metadata.name, folder: action.folder }, 'provisioned a local-path volume');
        recorder.event(
          claimReference(action.claim),
          'Normal',
          'ProvisioningSucceeded',
          `Successfully provisioned volume ${action.pv.metadata.name}`,
        );
        return;
      }
      case 'reclaim': {
        await checkInsideParent(localPathRoot, action.folder);
        // a folder something is still mounted in (a pod not yet torn down) is left for a later pass
        if ((await mountsUnder(action.folder)).length > 0) return;
        await rm(action.folder, { recursive: true, force: true });
        try {
          await client.delete(refs.persistentvolumes, action.pv.metadata.name ?? '', {
            preconditions: { uid: action.pv.metadata.uid ?? '' },
          });
        } catch (err) {
          if (!isApiError(err, 'NotFound')) throw err;
        }
        this.#o.log.info(
          { pv: action.pv.metadata.name, folder: action.folder },
          'deleted a local-path volume and its data',
        );
      }
    }
  }
}
