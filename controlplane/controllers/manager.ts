/**
 * Runs controllers: one shared informer per resource, one work queue per controller, and the
 * observe → plan → execute cycle for each key. A controller is described as data (ControllerSpec):
 * its primary resource, which changes of other resources concern which primary keys, and its
 * pure planner. Keys whose previous plan is still on its way (expectations) are skipped until the
 * informers show the result, which also triggers the key again.
 */
import type { KubeObject } from '../../kube/types.ts';
import type { Plan } from './actions.ts';
import { objectKey, type ClusterClient, type ResourceName } from './client.ts';
import { eventRecorder, type EventRecorder } from './events.ts';
import { execute } from './execute.ts';
import { PlanFailed } from '../errors.ts';
import { systemClock, type Clock } from '../../kube/clock.ts';
import { Expectations } from './expectations.ts';
import type { Informer } from '../../kube/informer.ts';
import { clusterInformer, listClaimable, listNamespace, listOnNode } from './informer.ts';
import { controllerOf } from './pods.ts';
import { WorkQueue } from './work-queue.ts';

const conflictRetryMs = 50;

export interface Caches {
  get(resource: ResourceName, key: string): KubeObject | undefined;
  /** Every cached object of the resource, or only those in `namespace`. */
  list(resource: ResourceName, namespace?: string): KubeObject[];
  /**
   * What `owner` may claim: the objects it controls and those in its namespace that no controller
   * controls (claim.ts ignores the rest, so this is the same answer as list() for claiming).
   */
  claimable(resource: ResourceName, owner: KubeObject): KubeObject[];
  /** The pods bound to `node`, from an index; absent (simple caches in tests): filter list('pods'). */
  podsOn?(node: string): KubeObject[];
}

interface Trigger {
  readonly resource: ResourceName;
  /** Primary keys ("namespace/name", or "name" when cluster-scoped) to look at when `object` changes. */
  readonly keysFor: (object: KubeObject, caches: Caches) => string[];
}

export interface ControllerSpec {
  readonly name: string;
  readonly primary: ResourceName;
  readonly triggers: readonly Trigger[];
  /** Plan for one primary object. */
  readonly plan: (object: KubeObject, caches: Caches, now: Date) => Plan;
  /** Plan for a key whose primary object is gone (cleaning up after it); by default nothing. */
  readonly planMissing?: (key: string, caches: Caches, now: Date) => Plan;
  /** Extra resources the planner reads without being triggered by them. */
  readonly reads?: readonly ResourceName[];
  readonly workers?: number;
  /**
   * Whether the pods this controller creates and deletes are its own dependents, whose arrival and
   * departure it waits to see (expectations). Default true; false for controllers that delete
   * other owners' pods (the namespace controller), which would otherwise wait for ever.
   */
  readonly ownsWhatItTouches?: boolean;
}

interface ManagerOptions {
  readonly client: ClusterClient;
  readonly controllers: readonly ControllerSpec[];
  /** The controllers' time (plans, events, expectations); default the system's. */
  readonly clock?: Clock;
  readonly onError?: (err: unknown, controller: string, key: string) => void;
  /** Records every completed pass; tests wait on it. */
  readonly onSynced?: (controller: string, key: string) => void;
}

/** Keys of the controllers of `object` that are of `kind`. */
export function ownerKeys(object: KubeObject, kind: string): string[] {
  const ref = controllerOf(object);
  if (ref === undefined || ref.kind !== kind) return [];
  return [object.metadata.namespace ? `${object.metadata.namespace}/${ref.name}` : ref.name];
}

export class ControllerManager {
  readonly #options: ManagerOptions;
  readonly #informers = new Map<ResourceName, Informer>();
  readonly #queues = new Map<string, WorkQueue>();
  readonly #expectations: Expectations;
  readonly #events: EventRecorder;
  readonly #now: () => Date;
  readonly #workers: Promise<void>[] = [];
  readonly caches: Caches;
  #stopped = false;

  constructor(options: ManagerOptions) {
    this.#options = options;
    const clock = options.clock ?? systemClock;
    this.#now = () => new Date(clock.now());
    this.#expectations = new Expectations(clock);
    this.#events = eventRecorder(options.client, 'controller-manager', clock);
    this.caches = {
      get: (resource, key) => this.#informer(resource).get(key),
      list: (resource, namespace) =>
        namespace === undefined ? this.#informer(resource).list() : listNamespace(this.#informer(resource), namespace),
      claimable: (resource, owner) =>
        listClaimable(this.#informer(resource), owner.metadata.namespace ?? '', owner.metadata.uid ?? ''),
      podsOn: (node) => listOnNode(this.#informer('pods'), node),
    };
    for (const spec of options.controllers) {
      const queue = new WorkQueue();
      this.#queues.set(spec.name, queue);
      const primary = this.#informer(spec.primary);
      primary.addHandlers({
        onAdd: (o) => queue.add(objectKey(o)),
        onUpdate: (_old, o) => queue.add(objectKey(o)),
        onDelete: (o) => {
          if (o.metadata.uid) this.#expectations.forget(o.metadata.uid);
          if (spec.planMissing) queue.add(objectKey(o));
        },
      });
      for (const trigger of spec.triggers) {
        const enqueue = (o: KubeObject) => {
          for (const key of trigger.keysFor(o, this.caches)) queue.add(key);
        };
        this.#informer(trigger.resource).addHandlers({
          onAdd: enqueue,
          onUpdate: (old, o) => {
            // A change can move an object from one owner to another (labels): tell both.
            enqueue(old);
            enqueue(o);
          },
          onDelete: enqueue,
        });
      }
      for (const resource of spec.reads ?? []) this.#informer(resource);
    }
    // Dependents showing up (or going) satisfy their owner's expectations, whoever the owner is.
    for (const informer of this.#informers.values()) {
      informer.addHandlers({
        onAdd: (o) => {
          const owner = controllerOf(o)?.uid;
          if (owner) this.#expectations.observedAdd(owner);
        },
        onUpdate: (old, o) => {
          const owner = controllerOf(o)?.uid;
          if (owner && !old.metadata.deletionTimestamp && o.metadata.deletionTimestamp)
            this.#expectations.observedDelete(owner, `${o.metadata.namespace ?? ''}/${o.metadata.name}`);
        },
        onDelete: (o) => {
          const owner = controllerOf(o)?.uid;
          if (owner) this.#expectations.observedDelete(owner, `${o.metadata.namespace ?? ''}/${o.metadata.name}`);
        },
      });
    }
  }

  #informer(resource: ResourceName): Informer {
    let informer = this.#informers.get(resource);
    if (informer === undefined) {
      informer = clusterInformer(this.#options.client, resource, {
        onError: (err) => this.#options.onError?.(err, `informer ${resource}`, ''),
      });
      this.#informers.set(resource, informer);
    }
    return informer;
  }

  /** Fills every cache, then starts the workers. Resolves when all caches are synced. */
  async start(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.start()));
    for (const spec of this.#options.controllers) {
      const queue = this.#queues.get(spec.name)!;
      for (let i = 0; i < (spec.workers ?? 1); i++) this.#workers.push(this.#work(spec, queue));
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const informer of this.#informers.values()) informer.stop();
    for (const queue of this.#queues.values()) queue.close();
    await Promise.allSettled(this.#workers);
  }

  async #work(spec: ControllerSpec, queue: WorkQueue): Promise<void> {
    for (;;) {
      const key = await queue.next();
      if (key === undefined || this.#stopped) return;
      try {
        await this.#sync(spec, queue, key);
        queue.forget(key);
      } catch (err) {
        if (err instanceof PlanFailed && err.onlyConflicts) {
          // A stale cache, not a failure: look again soon, without growing the backoff.
          queue.addAfter(key, conflictRetryMs);
        } else {
          this.#options.onError?.(err, spec.name, key);
          queue.addRateLimited(key);
        }
      } finally {
        queue.done(key);
        this.#options.onSynced?.(spec.name, key);
      }
    }
  }

  async #sync(spec: ControllerSpec, queue: WorkQueue, key: string): Promise<void> {
    const object = this.caches.get(spec.primary, key);
    if (object === undefined) {
      if (spec.planMissing) {
        const plan = spec.planMissing(key, this.caches, this.#now());
        await execute({ client: this.#options.client, events: this.#events }, plan.actions);
        if (plan.requeueAfterMs !== undefined) queue.addAfter(key, plan.requeueAfterMs);
      }
      return;
    }
    const uid = object.metadata.uid ?? key;
    const owning = spec.ownsWhatItTouches !== false;
    if (owning && !this.#expectations.satisfied(uid)) return;
    const plan = spec.plan(object, this.caches, this.#now());
    await execute(
      {
        client: this.#options.client,
        events: this.#events,
        ...(owning ? { expectations: this.#expectations, ownerUid: uid } : {}),
      },
      plan.actions,
    );
    if (plan.requeueAfterMs !== undefined) queue.addAfter(key, plan.requeueAfterMs);
  }
}
