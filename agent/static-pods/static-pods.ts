/**
 * Static pods: the pods in --pod-manifest-path run on this node without the API, and a mirror pod
 * of each is kept in the API, as the kubelet does. The folder is read again when it changes (a
 * watch) and every --file-check-frequency (the kubelet's 20 s), because a watch misses edits made
 * by renaming over a file on some filesystems and cannot watch a folder that does not exist yet.
 *
 * The pods go to the same PodManager as the API's pods; the informer's mirror pods never do (they
 * are the API's view of a static pod, not pods to run). Reading is pure (static-pod-manifest.ts,
 * mirror-plan.ts); this class only reads the folder, hands the differences on and writes mirrors.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../../kube/clock.ts';
import type { Pod } from '../../kube/corev1.ts';
import { isApiError } from '../../kube/errors.ts';
import { readManifestFolder } from './manifest-folder.ts';
import { diffStaticPods, planMirrors, type MirrorAction } from './mirror-plan.ts';
import {
  configHashAnnotation,
  configMirrorAnnotation,
  isMirrorPod,
  staticPodFromManifest,
} from './static-pod-manifest.ts';

/** Where static pods run: the node's PodManager. */
interface StaticPodRunner {
  upsert(pod: Pod): void;
  remove(pod: Pod): Promise<void>;
}

/** The mirror pod calls; an adapter over KubeClient provides them. */
export interface MirrorApi {
  create(pod: Pod): Promise<void>;
  /** With the UID as precondition and no grace: a mirror stands for a pod that runs elsewhere. */
  delete(namespace: string, name: string, uid: string): Promise<void>;
}

interface StaticPodsOptions {
  dir: string;
  nodeName: string;
  rescanMs: number;
  clock: Clock;
  log: Logger;
  runner: StaticPodRunner;
  /** A mirror the API holds for a running static pod, given the static pod's UID (for status drift checks). */
  onMirror?(mirrorAsStatic: Pod): void;
}

const apiKey = (pod: Pod) => `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;

export class StaticPods {
  readonly #o: StaticPodsOptions;
  /** Running static pods by UID. */
  #pods = new Map<string, Pod>();
  /** Pods of this node in the API, by namespace/name (from the pod informer). */
  readonly #inApi = new Map<string, Pod>();
  /** Files that failed last time, so each failure is logged once until the file changes. */
  #failed = new Map<string, string>();
  #mirrors: { api: MirrorApi; node: { name: string; uid: string } } | undefined;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #mirroring: Promise<void> | undefined;
  #mirrorAgain = false;
  #closed = false;

  constructor(options: StaticPodsOptions) {
    this.#o = options;
  }

  /** UIDs of the static pods that run: not garbage. */
  uids(): Set<string> {
    return new Set(this.#pods.keys());
  }

  /** Reads the folder once and keeps reading it on changes and every rescanMs. */
  start(): void {
    this.rescan();
    this.#watch();
    const tick = () => {
      if (this.#closed) return;
      this.rescan();
      if (this.#watcher === undefined) this.#watch();
      // a mirror write that failed (the API away) is tried again here at the latest
      this.reconcileMirrors();
      this.#timer = setTimeout(tick, this.#o.rescanMs);
    };
    this.#timer = setTimeout(tick, this.#o.rescanMs);
  }

  #watch(): void {
    try {
      this.#watcher = watch(this.#o.dir, () => this.rescan());
      this.#watcher.on('error', () => {
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch {
      // no folder yet: the periodic read finds it when it appears
      this.#watcher = undefined;
    }
  }

  /** Reads the folder and hands what changed to the runner; then brings the mirrors up to date. */
  rescan(): void {
    if (this.#closed) return;
    const next = new Map<string, Pod>();
    const failed = new Map<string, string>();
    const seenAt = new Date(this.#o.clock.now());
    const names = new Map<string, string>();
    for (const file of readManifestFolder(this.#o.dir)) {
      const result =
        file.text === undefined
          ? { error: file.error ?? 'unreadable' }
          : staticPodFromManifest(file.text, file.path, this.#o.nodeName, seenAt);
      if ('error' in result) {
        failed.set(file.path, result.error);
        continue;
      }
      const key = apiKey(result.pod);
      const other = names.get(key);
      if (other !== undefined) {
        failed.set(file.path, `pod ${key} is also defined in ${other}; only the first file is used`);
        continue;
      }
      names.set(key, file.path);
      const uid = result.pod.metadata.uid ?? '';
      // an unchanged file keeps the pod it gave (and the time it was first seen)
      next.set(uid, this.#pods.get(uid) ?? result.pod);
    }
    for (const [path, error] of failed) {
      if (this.#failed.get(path) !== error) this.#o.log.warn({ file: path }, `static pod manifest skipped: ${error}`);
    }
    this.#failed = failed;
    const { added, removed } = diffStaticPods(this.#pods, next);
    this.#pods = next;
    for (const pod of removed) {
      this.#o.log.info({ pod: apiKey(pod), uid: pod.metadata.uid }, 'static pod removed from its file; stopping it');
      void this.#o.runner.remove(pod);
    }
    for (const pod of added) {
      this.#o.log.info({ pod: apiKey(pod), uid: pod.metadata.uid }, 'static pod from file');
      this.#o.runner.upsert(pod);
    }
    if (added.length > 0 || removed.length > 0) this.reconcileMirrors();
  }

  /** From now on mirror pods are kept in the API (once the Node exists: mirrors are owned by it). */
  useApi(api: MirrorApi, node: { name: string; uid: string }): void {
    this.#mirrors = { api, node };
    this.reconcileMirrors();
  }

  /** A pod of this node as the API shows it (informer add/update). */
  observeApiPod(pod: Pod): void {
    this.#inApi.set(apiKey(pod), pod);
    if (isMirrorPod(pod)) {
      const hash = pod.metadata.annotations?.[configMirrorAnnotation] ?? '';
      const running = this.#pods.get(hash);
      if (running !== undefined && this.#o.onMirror !== undefined)
        this.#o.onMirror({ ...pod, metadata: { ...pod.metadata, uid: hash } });
    }
    this.reconcileMirrors();
  }

  /** A pod of this node left the API (informer delete): a static pod's mirror comes back. */
  forgetApiPod(pod: Pod): void {
    if (this.#inApi.get(apiKey(pod))?.metadata.uid === pod.metadata.uid) this.#inApi.delete(apiKey(pod));
    this.reconcileMirrors();
  }

  /** Runs one mirror pass, or queues one more after the pass in progress. */
  reconcileMirrors(): void {
    if (this.#mirrors === undefined || this.#closed) return;
    if (this.#mirroring !== undefined) {
      this.#mirrorAgain = true;
      return;
    }
    this.#mirroring = this.#mirrorPass().finally(() => {
      this.#mirroring = undefined;
      if (this.#mirrorAgain && !this.#closed) {
        this.#mirrorAgain = false;
        this.reconcileMirrors();
      }
    });
  }

  /** Settles when no mirror pass is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#mirroring !== undefined) await this.#mirroring;
  }

  async #mirrorPass(): Promise<void> {
    const mirrors = this.#mirrors!;
    const relevant = [...this.#inApi.values()].filter(
      (pod) => isMirrorPod(pod) || [...this.#pods.values()].some((s) => apiKey(s) === apiKey(pod)),
    );
    for (const action of planMirrors([...this.#pods.values()], relevant, mirrors.node)) {
      await this.#act(mirrors.api, action);
    }
  }

  async #act(api: MirrorApi, action: MirrorAction): Promise<void> {
    const { log } = this.#o;
    try {
      if (action.kind === 'create') {
        await api.create(action.pod);
        log.info(
          { pod: apiKey(action.pod), hash: action.pod.metadata.annotations?.[configHashAnnotation] },
          'mirror pod created',
        );
      } else if (action.kind === 'delete') {
        await api.delete(action.namespace, action.name, action.uid);
        log.info({ pod: `${action.namespace}/${action.name}` }, 'stale mirror pod deleted');
      } else {
        log.warn(
          { pod: `${action.namespace}/${action.name}` },
          'a pod that is not a mirror holds the static pod name in the API; its mirror cannot be created',
        );
      }
    } catch (err) {
      // AlreadyExists/NotFound: the informer's next event brings the state this pass missed
      if (!isApiError(err, 'AlreadyExists') && !isApiError(err, 'NotFound') && !isApiError(err, 'Conflict'))
        log.warn({ err: (err as Error).message }, 'mirror pod update failed; trying again on the next change');
    }
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }
}
