/**
 * What code deep inside a request (admission, the registry) needs to know about the request being
 * served, without threading it through every call: who made it, and whether it is a dry run
 * (`?dryRun=All`: everything is checked and answered, nothing is written). Admission adds to it
 * what the answer carries besides the object: warnings for the client (`Warning` headers) and
 * annotations for the request's audit event.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { UserInfo } from '../auth/types.ts';
import { addAuditAnnotation as annotateAudit } from '../audit/request-audit.ts';

interface RequestContext {
  readonly user: UserInfo;
  readonly dryRun: boolean;
}

interface RequestNotes {
  readonly warnings: string[];
  readonly auditAnnotations: Record<string, string>;
}

const storage = new AsyncLocalStorage<RequestContext & RequestNotes>();

export function runRequest<T>(context: RequestContext, body: () => Promise<T>): Promise<T> {
  // A nested run (a dry run asked for in the body) keeps adding to the outer request's notes.
  const outer = storage.getStore();
  return storage.run(
    { ...context, warnings: outer?.warnings ?? [], auditAnnotations: outer?.auditAnnotations ?? {} },
    body,
  );
}

/** Adds a warning for the client of the request being served (sent as a `Warning` header). */
export function addWarning(warning: string): void {
  const warnings = storage.getStore()?.warnings;
  if (warnings !== undefined && !warnings.includes(warning)) warnings.push(warning);
}

/** Warnings added so far while serving the current request. */
export function requestWarnings(): readonly string[] {
  return storage.getStore()?.warnings ?? [];
}

/** Records an annotation for the audit event of the request being served (and so in the audit log). */
export function addAuditAnnotation(key: string, value: string): void {
  const annotations = storage.getStore()?.auditAnnotations;
  if (annotations !== undefined) annotations[key] = value;
  annotateAudit(key, value);
}

/** The audit annotations of the current request (for the audit log). */
export function auditAnnotations(): Readonly<Record<string, string>> {
  return storage.getStore()?.auditAnnotations ?? {};
}

/** The requesting user, or undefined outside a request (the server's own writes at start-up). */
export function currentUser(): UserInfo | undefined {
  return storage.getStore()?.user;
}

/** Whether the request being served must leave the datastore untouched. */
export function isDryRun(): boolean {
  return storage.getStore()?.dryRun ?? false;
}
