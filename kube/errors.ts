/**
 * Errors of the shared layer, in one place, and the base every folder's errors build on.
 *
 * - ApiError: API errors by reason. The server raises them and turns them into metav1.Status; the
 *   client turns a Status it receives back into the same class, so callers on both sides branch on
 *   `reason` / `code` (upstream's Status reasons and HTTP codes), never on message text.
 * - CodedError: bosun's own failures, each with a stable code `BOSUN_<AREA>_<WHAT>` (as undici's
 *   UND_ERR_* and fastify's FST_ERR_*). Each folder keeps its classes in its own errors module; the
 *   message is the one line a person reads and may change, the code may not.
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
  | 'InternalError'
  /**
   * Upstream's StatusReasonUnknown (""): a 500 the server could not classify, sent without a
   * reason, which kubectl prints as `Error from server: <message>` (a failed CRD conversion).
   */
  | 'Unknown';

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
  // after InternalError: a reason-less 500 read back by a client is an InternalError
  Unknown: 500,
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
      ...(this.reason === 'Unknown' ? {} : { reason: this.reason }),
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

/** A stable error code: `BOSUN_<AREA>_<WHAT>`, upper case with underscores. */
export type ErrorCode = `BOSUN_${string}`;

export class CodedError<Code extends ErrorCode = ErrorCode> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Whether `err` is one of bosun's coded errors, optionally with exactly `code`. */
export function isCodedError(err: unknown, code?: ErrorCode): err is CodedError {
  return err instanceof CodedError && (code === undefined || err.code === code);
}

/** A kubeconfig that cannot be read or used. */
export class KubeconfigError extends CodedError<'BOSUN_KUBE_KUBECONFIG_INVALID'> {
  constructor(message: string) {
    super('BOSUN_KUBE_KUBECONFIG_INVALID', message);
  }
}

/** A key and certificate that do not belong together, with no interrupted write to finish. */
export class KeyPairMismatchError extends CodedError<'BOSUN_KUBE_KEY_PAIR_MISMATCH'> {
  constructor(message: string) {
    super('BOSUN_KUBE_KEY_PAIR_MISMATCH', message);
  }
}

/** Another writer held the pair's lock for longer than a write takes. */
export class KeyPairBusyError extends CodedError<'BOSUN_KUBE_KEY_PAIR_BUSY'> {
  constructor(message: string) {
    super('BOSUN_KUBE_KEY_PAIR_BUSY', message);
  }
}

/** A quantity ("100m", "1Gi") that does not parse; `input` is what was given. */
export class QuantityError extends CodedError<'BOSUN_KUBE_BAD_QUANTITY'> {
  readonly input: string;
  constructor(input: string, message: string) {
    super('BOSUN_KUBE_BAD_QUANTITY', message);
    this.input = input;
  }
}
