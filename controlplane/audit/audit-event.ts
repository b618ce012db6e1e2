/**
 * One request's audit record and the `audit.k8s.io/v1` Event it becomes at each stage, in
 * upstream's JSON shape. Pure: the caller supplies times and hands the result to a backend.
 */
import type { AuditLevel, AuditStage } from './policy.ts';

export interface AuditUser {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
}

export interface ObjectReference {
  resource?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiGroup?: string;
  apiVersion?: string;
  resourceVersion?: string;
  subresource?: string;
}

export interface ResponseStatus {
  readonly metadata: Record<string, never>;
  readonly status?: string;
  readonly message?: string;
  readonly reason?: string;
  readonly code: number;
}

export interface AuditEvent {
  readonly kind: 'Event';
  readonly apiVersion: 'audit.k8s.io/v1';
  readonly level: AuditLevel;
  readonly auditID: string;
  readonly stage: AuditStage;
  readonly requestURI: string;
  readonly verb: string;
  readonly user: AuditUser;
  readonly impersonatedUser?: AuditUser;
  readonly sourceIPs: readonly string[];
  readonly userAgent?: string;
  readonly objectRef?: ObjectReference;
  readonly responseStatus?: ResponseStatus;
  readonly requestObject?: unknown;
  readonly responseObject?: unknown;
  readonly requestReceivedTimestamp: string;
  readonly stageTimestamp: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A copy without metadata.managedFields (also in a list's items), for omitManagedFields. */
export function withoutManagedFields(object: unknown): unknown {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return object;
  const copy: Record<string, unknown> = { ...(object as Record<string, unknown>) };
  const metadata = copy['metadata'];
  if (typeof metadata === 'object' && metadata !== null && 'managedFields' in metadata) {
    const { managedFields: _dropped, ...rest } = metadata as Record<string, unknown>;
    copy['metadata'] = rest;
  }
  if (Array.isArray(copy['items'])) copy['items'] = copy['items'].map(withoutManagedFields);
  return copy;
}
