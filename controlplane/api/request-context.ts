/**
 * What code deep inside a request (admission, the registry) needs to know about the request being
 * served, without threading it through every call: who made it, and whether it is a dry run
 * (`?dryRun=All`: everything is checked and answered, nothing is written).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { UserInfo } from '../auth/types.ts';

interface RequestContext {
  readonly user: UserInfo;
  readonly dryRun: boolean;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runRequest<T>(context: RequestContext, body: () => Promise<T>): Promise<T> {
  return storage.run(context, body);
}

/** The requesting user, or undefined outside a request (the server's own writes at start-up). */
export function currentUser(): UserInfo | undefined {
  return storage.getStore()?.user;
}

/** Whether the request being served must leave the datastore untouched. */
export function isDryRun(): boolean {
  return storage.getStore()?.dryRun ?? false;
}
