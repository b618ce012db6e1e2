/**
 * Carries out a plan against the API, in order. Pod creations go in slow-start batches (1, 2, 4,
 * ...): when a batch has a failure, the rest is not sent, so a template the API refuses costs one
 * request instead of hundreds. Deleting something already gone counts as done. Any other failure
 * is thrown after the remaining independent actions ran, so the caller retries the whole plan
 * later with fresh observations.
 */
import { isApiError } from '../../kube/errors.ts';
import { PlanFailed } from '../errors.ts';
import type { Action, ObjectReference } from './actions.ts';
import type { ClusterClient } from './client.ts';
import type { EventRecorder } from './events.ts';
import type { Expectations } from './expectations.ts';
import { controllerOf, slowStartBatches } from './pods.ts';

interface ExecuteContext {
  readonly client: ClusterClient;
  readonly events: EventRecorder;
  readonly expectations?: Expectations;
  /** The owner the plan is for, whose expectations the creations and deletions feed. */
  readonly ownerUid?: string;
}

async function createPods(
  context: ExecuteContext,
  action: Extract<Action, { kind: 'createPods' }>,
  failures: unknown[],
): Promise<void> {
  const { client, expectations, ownerUid } = context;
  if (ownerUid) expectations?.expect(ownerUid, action.pods.length, []);
  let sent = 0;
  for (const size of slowStartBatches(action.pods.length)) {
    const batch = action.pods.slice(sent, sent + size);
    sent += size;
    const results = await Promise.allSettled(batch.map((pod) => client.create('pods', pod)));
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length > 0) {
      if (ownerUid) expectations?.lowerAdds(ownerUid, failed.length + (action.pods.length - sent));
      failures.push(...failed.map((r) => (r as PromiseRejectedResult).reason));
      return;
    }
  }
}

/** Whether any of the objects still exists with the same uid (a cache may not have seen it yet). */
async function anyExists(client: ClusterClient, refs: readonly ObjectReference[]): Promise<boolean> {
  for (const ref of refs) {
    try {
      const found = await client.get(ref.resource, ref.namespace, ref.name);
      if (found.metadata.uid === ref.uid) return true;
    } catch (err) {
      if (!isApiError(err, 'NotFound')) throw err;
    }
  }
  return false;
}

export async function execute(context: ExecuteContext, actions: readonly Action[]): Promise<void> {
  const { client, events, expectations, ownerUid } = context;
  const failures: unknown[] = [];
  for (const action of actions) {
    try {
      switch (action.kind) {
        case 'createPods':
          await createPods(context, action, failures);
          break;
        case 'create': {
          // Only dependents the owner controls come back through its informers as "observed".
          const dependent = ownerUid !== undefined && controllerOf(action.object)?.uid === ownerUid;
          if (dependent) expectations?.expect(ownerUid, 1, []);
          try {
            await client.create(action.resource, action.object);
          } catch (err) {
            if (dependent) expectations?.lowerAdds(ownerUid, 1);
            if (!isApiError(err, 'AlreadyExists')) throw err;
          }
          break;
        }
        case 'update':
          await client.update(action.resource, action.object);
          break;
        case 'updateStatus':
          try {
            await client.updateStatus(action.resource, action.object);
          } catch (err) {
            if (!isApiError(err, 'Conflict')) throw err;
            // The status was computed from fresh observations; only the object's version is stale.
            // Write it once more onto the latest version (what upstream's status updates do).
            const latest = await client.get(
              action.resource,
              action.object.metadata.namespace,
              action.object.metadata.name ?? '',
            );
            await client.updateStatus(action.resource, { ...latest, status: action.object.status });
          }
          break;
        case 'delete': {
          if (action.ifAbsent && (await anyExists(client, action.ifAbsent))) break;
          const key = `${action.namespace ?? ''}/${action.name}`;
          // Pod deletions are what a controller counts on seeing; other deletions need no waiting.
          const dependent = ownerUid !== undefined && action.resource === 'pods';
          if (dependent) expectations?.expect(ownerUid, 0, [key]);
          try {
            await client.delete(action.resource, action.namespace, action.name, {
              ...(action.uid ? { preconditions: { uid: action.uid } } : {}),
              ...(action.propagationPolicy ? { propagationPolicy: action.propagationPolicy } : {}),
            });
          } catch (err) {
            if (dependent) expectations?.observedDelete(ownerUid, key);
            if (!isApiError(err, 'NotFound')) throw err;
          }
          break;
        }
        case 'event':
          await events.record(action.object, action.type, action.reason, action.message);
          break;
      }
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length > 0) throw new PlanFailed(failures);
}
