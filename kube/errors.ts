/**
 * API errors by reason, in one place. The server raises them and turns them into metav1.Status;
 * the client turns a Status it receives back into the same class, so callers on both sides branch on
 * `reason` / `code`, never on message text.
 */
import type { ListMeta, Status, StatusCause } from './types.ts';

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'TooManyRequests'
  | 'InternalError';

const codes: Record<StatusReason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Expired: 410,
  Invalid: 422,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  ServiceUnavailable: 503,
  Timeout: 504,
  TooManyRequests: 429,
  InternalError: 500,
};

export interface ApiErrorDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  readonly reason: StatusReason;
  readonly code: number;
  readonly details: ApiErrorDetails | undefined;
  /** The Status's list metadata (a 410 on a stale continue token carries a fresh token here). */
  readonly listMeta: ListMeta | undefined;
  constructor(reason: StatusReason, message: string, details?: ApiErrorDetails, listMeta?: ListMeta) {
    super(message);
    this.name = 'ApiError';
    this.reason = reason;
    this.code = codes[reason];
    this.details = details;
    this.listMeta = listMeta;
  }

  toStatus(): Status {
    const status: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: { ...this.listMeta },
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details !== undefined) status.details = this.details;
    return status;
  }

  static fromStatus(status: Partial<Status>, httpCode: number): ApiError {
    const reason = (status.reason && status.reason in codes ? status.reason : reasonForCode(httpCode)) as StatusReason;
    return new ApiError(reason, status.message ?? `HTTP ${httpCode}`, status.details);
  }
}

function reasonForCode(code: number): StatusReason {
  const match = (Object.entries(codes) as [StatusReason, number][]).find(([, c]) => c === code);
  return match?.[0] ?? 'InternalError';
}

export function isApiError(err: unknown, reason?: StatusReason): err is ApiError {
  return err instanceof ApiError && (reason === undefined || err.reason === reason);
}
