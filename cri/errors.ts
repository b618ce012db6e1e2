/**
 * Every error the CRI layer raises, in one place, each with a stable `code`. Callers branch on the
 * code (or instanceof); the message is for people and may change. The codes follow the project's
 * convention `BOSUN_<AREA>_<WHAT>` (kube/errors.ts); cri/ imports nothing of ours, so its base class
 * is its own.
 *
 * gRPC status -> error:
 *   NOT_FOUND          CriNotFoundError           'BOSUN_CRI_NOT_FOUND'
 *   UNAVAILABLE        CriUnavailableError        'BOSUN_CRI_UNAVAILABLE'   (socket missing, refused, runtime restarting)
 *   DEADLINE_EXCEEDED  CriDeadlineExceededError   'BOSUN_CRI_DEADLINE_EXCEEDED'
 *   PERMISSION_DENIED  CriPermissionDeniedError   'BOSUN_CRI_PERMISSION_DENIED' (also EACCES on the socket)
 *   UNIMPLEMENTED      CriUnimplementedError      'BOSUN_CRI_UNIMPLEMENTED'
 *   ALREADY_EXISTS     CriAlreadyExistsError      'BOSUN_CRI_ALREADY_EXISTS'
 *   INVALID_ARGUMENT   CriInvalidArgumentError    'BOSUN_CRI_INVALID_ARGUMENT'
 *   CANCELLED          CriCancelledError          'BOSUN_CRI_CANCELLED'
 *   anything else      CriRuntimeError            'BOSUN_CRI_RUNTIME'
 * and, raised by bosun itself: CriUnsupportedVersionError 'BOSUN_CRI_UNSUPPORTED_VERSION',
 * CriClosedError 'BOSUN_CRI_CLOSED', CriStreamError 'BOSUN_CRI_STREAM', CriBadEndpointError 'BOSUN_CRI_BAD_ENDPOINT',
 * CriAmbiguousIdError 'BOSUN_CRI_AMBIGUOUS_ID'.
 */

/** gRPC status numbers (the wire values; the same in every gRPC implementation). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type CriErrorCode =
  | 'BOSUN_CRI_NOT_FOUND'
  | 'BOSUN_CRI_UNAVAILABLE'
  | 'BOSUN_CRI_DEADLINE_EXCEEDED'
  | 'BOSUN_CRI_PERMISSION_DENIED'
  | 'BOSUN_CRI_UNIMPLEMENTED'
  | 'BOSUN_CRI_ALREADY_EXISTS'
  | 'BOSUN_CRI_INVALID_ARGUMENT'
  | 'BOSUN_CRI_CANCELLED'
  | 'BOSUN_CRI_RUNTIME'
  | 'BOSUN_CRI_UNSUPPORTED_VERSION'
  | 'BOSUN_CRI_CLOSED'
  | 'BOSUN_CRI_STREAM'
  | 'BOSUN_CRI_BAD_ENDPOINT'
  | 'BOSUN_CRI_AMBIGUOUS_ID';

/** Where a failure happened; all optional because the fake and the stream code know less. */
export interface CriErrorContext {
  /** The RPC, e.g. 'ListContainers'. */
  method?: string;
  endpoint?: string;
  /** The runtime's own text (gRPC status details), kept for logs. */
  detail?: string;
  /** The gRPC status number, when the error came from one. */
  grpcCode?: number | undefined;
}

export class CriError extends Error {
  readonly code: CriErrorCode;
  readonly method: string | undefined;
  readonly endpoint: string | undefined;
  readonly detail: string | undefined;
  readonly grpcCode: number | undefined;
  constructor(code: CriErrorCode, message: string, context: CriErrorContext = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.method = context.method;
    this.endpoint = context.endpoint;
    this.detail = context.detail;
    this.grpcCode = context.grpcCode;
  }
}

export class CriNotFoundError extends CriError {
  constructor(message: string, context?: CriErrorContext) {
    super('BOSUN_CRI_NOT_FOUND', message, context);
  }
}
export class CriUnavailableError extends CriError {
  constructor(message: string, context?: CriErrorContext) {
    super('BOSUN_CRI_UNAVAILABLE', message, context);
  }
}
export class CriDeadlineExceededError extends CriError {
  constructor(message: string, context?: CriErrorContext) {
    super('BOSUN_CRI_DEADLINE_EXCEEDED', message, context);
  }
}
export class CriPermissionDeniedError extends CriError {
  constructor(message: string, context?: CriErrorContext) {
    super('BOSUN_CRI_PERMISSION_DENIED', message, context);
  }
}
export class CriUnimplementedError extends CriError {
  constructor(message: string, context?: CriErrorContext) {
    super('BOSUN_CRI_UNIMPLEMENTED', message, context);
  }
}
export class CriAlreadyExistsError extends CriError {
  constructor(message: string, context?: CriErrorContext) {
    super('BOSUN_CRI_ALREADY_EXISTS', message, context);
  }
}
export class CriInvalidArgumentError extends CriError {
  constructor(message: string, context?: CriErrorContext) {
    super('BOSUN_CRI_INVALID_ARGUMENT', message, context);
  }
}
export class CriCancelledError extends CriError {
  constructor(message: string, context?: CriErrorContext) {
    super('BOSUN_CRI_CANCELLED', message, context);
  }
}
/** The runtime failed for a reason of its own (gRPC Unknown, Internal, FailedPrecondition, ...). */
export class CriRuntimeError extends CriError {
  constructor(message: string, context?: CriErrorContext) {
    super('BOSUN_CRI_RUNTIME', message, context);
  }
}
/** The runtime does not speak CRI v1. */
export class CriUnsupportedVersionError extends CriError {
  constructor(message: string, context?: CriErrorContext) {
    super('BOSUN_CRI_UNSUPPORTED_VERSION', message, context);
  }
}
/** A call on a client after close(). */
export class CriClosedError extends CriError {
  constructor(message: string, context?: CriErrorContext) {
    super('BOSUN_CRI_CLOSED', message, context);
  }
}
/** An exec/attach/port-forward stream failed (handshake refused, connection lost, protocol error). */
export class CriStreamError extends CriError {
  constructor(message: string, context?: CriErrorContext) {
    super('BOSUN_CRI_STREAM', message, context);
  }
}

/** An endpoint or crictl-style config file that cannot be used (a usage error on the CLI). */
export class CriBadEndpointError extends CriError {
  constructor(message: string, context?: CriErrorContext) {
    super('BOSUN_CRI_BAD_ENDPOINT', message, context);
  }
}

/** An ID prefix that matches more than one object; the message lists them. */
export class CriAmbiguousIdError extends CriError {
  constructor(message: string, context?: CriErrorContext) {
    super('BOSUN_CRI_AMBIGUOUS_ID', message, context);
  }
}

/** 'containerd' and its service name, guessed from the endpoint, for messages people can act on. */
export function runtimeNameOf(endpoint: string): { name: string; unit: string } {
  if (/crio|cri-o/i.test(endpoint)) return { name: 'CRI-O', unit: 'crio' };
  return { name: 'containerd', unit: 'containerd' };
}

/** The shape of a gRPC failure as @grpc/grpc-js reports it (kept structural: no grpc-js import here). */
export interface GrpcFailure {
  code?: number;
  details?: string;
  message?: string;
}

/**
 * Turns a gRPC failure into the matching CriError with a one-line message.
 * `timeoutMs` is the deadline the call had, for the DeadlineExceeded message.
 */
export function criErrorFromGrpc(
  failure: GrpcFailure,
  where: { method: string; endpoint: string; timeoutMs?: number | undefined },
): CriError {
  const detail = (failure.details ?? failure.message ?? '').split('\n')[0] ?? '';
  const context: CriErrorContext = { method: where.method, endpoint: where.endpoint, detail, grpcCode: failure.code };
  const runtime = runtimeNameOf(where.endpoint);
  // The socket file exists but we may not open it: grpc-js reports that as UNAVAILABLE.
  if (failure.code === GrpcStatus.PERMISSION_DENIED || /\bEACCES\b|\bEPERM\b/.test(detail)) {
    return new CriPermissionDeniedError(
      `permission denied on ${where.endpoint}: run bosun as root (or with sudo)`,
      context,
    );
  }
  switch (failure.code) {
    case GrpcStatus.UNAVAILABLE:
      return new CriUnavailableError(
        `${runtime.name} is not reachable at ${where.endpoint}: is it running? (systemctl status ${runtime.unit})`,
        context,
      );
    case GrpcStatus.DEADLINE_EXCEEDED: {
      const after = where.timeoutMs === undefined ? '' : ` within ${formatSeconds(where.timeoutMs)}`;
      return new CriDeadlineExceededError(
        `${runtime.name} at ${where.endpoint} did not answer ${where.method}${after}`,
        context,
      );
    }
    case GrpcStatus.NOT_FOUND:
      return new CriNotFoundError(`not found: ${detail}`, context);
    case GrpcStatus.UNIMPLEMENTED:
      return new CriUnimplementedError(
        `${runtime.name} at ${where.endpoint} does not implement ${where.method}`,
        context,
      );
    case GrpcStatus.ALREADY_EXISTS:
      return new CriAlreadyExistsError(`already exists: ${detail}`, context);
    case GrpcStatus.INVALID_ARGUMENT:
      return new CriInvalidArgumentError(`${where.method} refused its input: ${detail}`, context);
    case GrpcStatus.CANCELLED:
      return new CriCancelledError(`${where.method} was cancelled`, context);
    default:
      return new CriRuntimeError(`${where.method} failed: ${detail}`, context);
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}
