/**
 * The scheduling loop around the pure decision: informers feed the cluster state and the queue;
 * the loop pops one pod at a time, decides, assumes the pod onto the chosen node at once (so the
 * next decision already counts it), and binds through pods/binding in the background. A failed
 * binding forgets the assumption and retries the pod after a backoff. A pod that fits nowhere gets
 * PodScheduled=False with kube-scheduler's message and a FailedScheduling event, and waits for the
 * cluster to change.
 */
import type { Node, Pod, PodCondition } from '../../kube/corev1.ts';
import { isApiError } from '../../kube/errors.ts';
import type { ClusterClient } from '../controllers/client.ts';
import { eventRecorder, type EventRecorder } from '../controllers/events.ts';
import type { Informer } from '../../kube/informer.ts';
import { clusterInformer } from '../controllers/informer.ts';
import { ClusterState, holdsResources, podKey } from './cluster-state.ts';
import { SchedulingQueue } from './queue.ts';
import { decide, type DecisionOptions } from './schedule-pod.ts';
import { podVolumes } from './volume-binding.ts';
import {
  selectedNodeAnnotation,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type StorageClass,
} from '../../kube/storagev1.ts';
import type { KubeObject } from '../../kube/types.ts';
import { apiTime } from '../../kube/api-time.ts';
import { systemClock, type Clock } from '../../kube/clock.ts';

const defaultSchedulerName = 'default-scheduler';

/** How long a binding waits for its pod's claims to be bound (kube-scheduler's bindTimeoutSeconds). */
const claimBindTimeoutMs = 600_000;

interface SchedulerOptions {
  readonly client: ClusterClient;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly onError?: (err: unknown, what: string) => void;
  readonly decision?: Omit<DecisionOptions, 'random'>;
}

interface SchedulerStats {
  scheduled: number;
  unschedulable: number;
  bindFailures: number;
}

/** Whether this scheduler is responsible for placing the pod now. */
function wantsScheduling(pod: Pod): boolean {
  return (
    !pod.spec.nodeName &&
    (pod.spec.schedulerName ?? defaultSchedulerName) === defaultSchedulerName &&
    !pod.metadata.deletionTimestamp &&
    holdsResources(pod)
  );
}

export class Scheduler {
  readonly stats: SchedulerStats = { scheduled: 0, unschedulable: 0, bindFailures: 0 };
  readonly #client: ClusterClient;
  readonly #options: SchedulerOptions;
  readonly #now: () => Date;
  readonly #state = new ClusterState();
  /** Where the next decision's filtering starts in a cluster too large to evaluate whole. */
  #nextStartIndex = 0;
  readonly #queue: SchedulingQueue;
  readonly #pods: Informer<Pod>;
  readonly #nodes: Informer<Node>;
  /** Claims, volumes and classes: what the VolumeBinding filter reads. */
  readonly #claims: Informer;
  readonly #volumes: Informer;
  readonly #classes: Informer;
  /** Bindings waiting for their pods' claims to be bound; woken by every claim change. */
  readonly #claimWaiters = new Set<() => void>();
  readonly #events: EventRecorder;
  /** Pods placed in the state by this scheduler whose binding is not yet seen through the watch. */
  readonly #assumed = new Set<string>();
  readonly #inFlight = new Set<Promise<void>>();
  #wake: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#client = options.client;
    const clock = options.clock ?? systemClock;
    this.#now = () => new Date(clock.now());
    this.#queue = new SchedulingQueue({
      clock,
      ...(options.initialBackoffMs !== undefined ? { initialBackoffMs: options.initialBackoffMs } : {}),
      ...(options.maxBackoffMs !== undefined ? { maxBackoffMs: options.maxBackoffMs } : {}),
    });
    this.#events = eventRecorder(options.client, defaultSchedulerName, clock);
    const onError = (err: unknown) => options.onError?.(err, 'watch');
    this.#pods = clusterInformer<Pod>(options.client, 'pods', { onError });
    this.#nodes = clusterInformer<Node>(options.client, 'nodes', { onError });
    this.#nodes.addHandlers({
      onAdd: (node) => this.#nodeChanged(node),
      onUpdate: (_old, node) => this.#nodeChanged(node),
      onDelete: (node) => {
        this.#state.removeNode(node.metadata.name ?? '');
        this.#signal();
      },
    });
    this.#claims = clusterInformer(options.client, 'persistentvolumeclaims', { onError });
    this.#volumes = clusterInformer(options.client, 'persistentvolumes', { onError });
    this.#classes = clusterInformer(options.client, 'storageclasses', { onError });
    this.#state.storage = {
      claim: (namespace, name) => this.#claims.get(`${namespace}/${name}`) as PersistentVolumeClaim | undefined,
      volume: (name) => this.#volumes.get(name) as PersistentVolume | undefined,
      volumes: () => this.#volumes.list() as unknown as PersistentVolume[],
      classes: () => this.#classes.list() as unknown as StorageClass[],
    };
    // A claim bound, a volume made or freed, a class added: pods waiting on storage may fit now.
    for (const informer of [this.#claims, this.#volumes, this.#classes]) {
      const changed = () => {
        this.#queue.clusterChanged();
        this.#signal();
      };
      informer.addHandlers({ onAdd: changed, onUpdate: changed, onDelete: changed });
    }
    const claimChanged = () => {
      for (const wake of [...this.#claimWaiters]) wake();
    };
    this.#claims.addHandlers({ onAdd: claimChanged, onUpdate: claimChanged, onDelete: claimChanged });
    this.#pods.addHandlers({
      onAdd: (pod) => this.#podChanged(pod),
      onUpdate: (_old, pod) => this.#podChanged(pod),
      onDelete: (pod) => this.#podGone(pod),
    });
  }

  /** Starts watching and scheduling; resolves once the caches are filled. */
  async start(): Promise<void> {
    await this.#nodes.start();
    await Promise.all([this.#claims.start(), this.#volumes.start(), this.#classes.start()]);
    await this.#pods.start();
    this.#running = this.#loop();
  }

  /** Stops the loop and waits for bindings in flight. Safe to call twice. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#pods.stop();
    this.#nodes.stop();
    for (const informer of [this.#claims, this.#volumes, this.#classes]) informer.stop();
    if (this.#timer) clearTimeout(this.#timer);
    this.#wake?.();
    await this.#running;
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Pods waiting in any part of the queue. */
  get pending(): number {
    return this.#queue.size;
  }

  #nodeChanged(node: Node): void {
    this.#state.setNode(node);
    this.#queue.clusterChanged();
    this.#signal();
  }

  #podChanged(pod: Pod): void {
    const key = podKey(pod);
    if (pod.spec.nodeName) {
      this.#assumed.delete(key);
      this.#queue.remove(key);
      if (holdsResources(pod) && !this.#isGoneForGood(pod)) this.#state.setPod(pod, pod.spec.nodeName);
      else {
        // A finished pod frees its node's resources: parked pods may fit now.
        this.#state.removePod(key);
        this.#queue.clusterChanged();
      }
      this.#signal();
      return;
    }
    if (this.#assumed.has(key)) return; // our binding is on its way; the watch will confirm it
    if (wantsScheduling(pod)) this.#queue.add(pod);
    else this.#queue.remove(key);
    this.#signal();
  }

  #isGoneForGood(pod: Pod): boolean {
    return pod.metadata.deletionTimestamp !== undefined && (pod.metadata.deletionGracePeriodSeconds ?? 0) === 0;
  }

  #podGone(pod: Pod): void {
    const key = podKey(pod);
    this.#assumed.delete(key);
    this.#queue.remove(key);
    if (this.#state.nodeOf(key) !== undefined) {
      this.#state.removePod(key);
      this.#queue.clusterChanged();
    }
    this.#signal();
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #idle(): Promise<void> {
    const wakeAt = this.#queue.nextWakeAt();
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      if (wakeAt !== undefined) {
        const delay = Math.max(1, wakeAt - this.#now().getTime());
        this.#timer = setTimeout(() => this.#signal(), delay);
      }
    });
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #loop(): Promise<void> {
    let sinceYield = 0;
    while (!this.#stopped) {
      const pod = this.#queue.pop();
      if (pod === undefined) {
        await this.#idle();
        continue;
      }
      this.#scheduleOne(pod);
      // Let watch events and binding replies in now and then, without a timer per pod.
      if (++sinceYield >= 16) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  #scheduleOne(pod: Pod): void {
    const key = podKey(pod);
    const decision = decide(pod, this.#state, {
      ...this.#options.decision,
      ...(this.#options.random ? { random: this.#options.random } : {}),
      startIndex: this.#nextStartIndex,
    });
    if (decision.kind === 'unschedulable') {
      this.stats.unschedulable++;
      this.#queue.parkUnschedulable(pod);
      this.#track(this.#reportUnschedulable(pod, decision.message));
      return;
    }
    this.#nextStartIndex =
      (this.#nextStartIndex + decision.evaluated) % Math.max(1, this.#state.schedulableNodes().length);
    this.#assumed.add(key);
    this.#state.setPod(pod, decision.node);
    this.#track(this.#bind(pod, decision.node));
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  async #bind(pod: Pod, nodeName: string): Promise<void> {
    const key = podKey(pod);
    try {
      await this.#claimsBound(await this.#selectNodeForClaims(pod, nodeName));
      await this.#client.bind(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '', nodeName);
      this.stats.scheduled++;
      await this.#events
        .record(
          { ...pod, apiVersion: 'v1', kind: 'Pod' },
          'Normal',
          'Scheduled',
          `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`,
        )
        .catch((err: unknown) => this.#options.onError?.(err, 'event'));
    } catch (err) {
      this.stats.bindFailures++;
      // Forget the assumption; whoever won (another binding, a deletion) shows up through the watch.
      if (this.#assumed.delete(key)) this.#state.removePod(key);
      if (!isApiError(err, 'NotFound')) {
        const current = this.#pods.get(`${pod.metadata.namespace}/${pod.metadata.name}`);
        if (current !== undefined && wantsScheduling(current)) this.#queue.retryLater(current);
        this.#options.onError?.(err, `binding ${key} to ${nodeName}`);
      }
      this.#signal();
    }
  }

  /**
   * Names the chosen node on the pod's WaitForFirstConsumer claims (volume.kubernetes.io/selected-node),
   * as upstream's VolumeBinding PreBind does, so the binder or the node's provisioner acts on them.
   */
  async #selectNodeForClaims(pod: Pod, nodeName: string): Promise<string[]> {
    const volumes = podVolumes(pod, this.#state.storage);
    if (volumes.kind !== 'check') return [];
    for (const claim of volumes.delayed) await this.#annotateSelectedNode(claim, nodeName);
    return volumes.delayed.map((claim) => `${claim.metadata.namespace}/${claim.metadata.name}`);
  }

  /** Writes the node onto the claim; a claim another writer changed meanwhile is read again. */
  async #annotateSelectedNode(cached: PersistentVolumeClaim, nodeName: string): Promise<void> {
    let claim = cached;
    for (let attempt = 1; ; attempt++) {
      if (claim.metadata.annotations?.[selectedNodeAnnotation] === nodeName) return;
      try {
        await this.#client.update('persistentvolumeclaims', {
          ...(claim as unknown as KubeObject),
          metadata: {
            ...claim.metadata,
            annotations: { ...claim.metadata.annotations, [selectedNodeAnnotation]: nodeName },
          },
        });
        return;
      } catch (err) {
        if (!isApiError(err, 'Conflict') || attempt >= 5) throw err;
        const { namespace, name } = claim.metadata;
        claim = (await this.#client.get(
          'persistentvolumeclaims',
          namespace,
          name ?? '',
        )) as unknown as PersistentVolumeClaim;
      }
    }
  }

  /**
   * Waits until the claims (namespace/name) are Bound, as upstream's PreBind waits (at most
   * bindTimeoutSeconds, 600 s): the pod reaches its node only when its volumes can be mounted,
   * instead of failing its first start and waiting out a retry.
   */
  async #claimsBound(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const bound = () =>
      keys.every((key) => {
        const claim = this.#claims.get(key) as PersistentVolumeClaim | undefined;
        return claim?.status?.phase === 'Bound' && !!claim.spec.volumeName;
      });
    const deadline = this.#now().getTime() + claimBindTimeoutMs;
    while (!bound()) {
      if (this.#stopped) throw new Error('the scheduler is stopping');
      const left = deadline - this.#now().getTime();
      if (left <= 0) throw new Error(`binding volumes: timed out waiting for the condition (${keys.join(', ')})`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#claimWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 1_000));
        this.#claimWaiters.add(done);
      });
    }
  }

  async #reportUnschedulable(pod: Pod, message: string): Promise<void> {
    const conditions = pod.status?.conditions ?? [];
    const existing = conditions.find((c) => c.type === 'PodScheduled');
    try {
      if (existing?.status !== 'False' || existing.reason !== 'Unschedulable' || existing.message !== message) {
        const condition: PodCondition = {
          type: 'PodScheduled',
          status: 'False',
          lastProbeTime: null,
          lastTransitionTime:
            existing?.status === 'False' && existing.lastTransitionTime
              ? existing.lastTransitionTime
              : apiTime(this.#now()),
          reason: 'Unschedulable',
          message,
        };
        const current = (await this.#client.get('pods', pod.metadata.namespace, pod.metadata.name ?? '')) as Pod;
        if (!wantsScheduling(current)) return;
        const others = (current.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
        await this.#client.updateStatus('pods', {
          ...current,
          status: { ...current.status, phase: current.status?.phase ?? 'Pending', conditions: [...others, condition] },
        });
      }
      await this.#events.record({ ...pod, apiVersion: 'v1', kind: 'Pod' }, 'Warning', 'FailedScheduling', message);
    } catch (err) {
      if (!isApiError(err, 'NotFound')) this.#options.onError?.(err, `reporting ${podKey(pod)} unschedulable`);
    }
  }
}
