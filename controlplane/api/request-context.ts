/**
 * Who made the request being served, available to code deep in a request (admission) without
 * threading it through every registry call.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { UserInfo } from '../auth/types.ts';

const storage = new AsyncLocalStorage<UserInfo>();

export function runAs<T>(user: UserInfo, body: () => Promise<T>): Promise<T> {
  return storage.run(user, body);
}

/** The requesting user, or undefined outside a request (the server's own writes at start-up). */
export function currentUser(): UserInfo | undefined {
  return storage.getStore();
}
