/**
 * The text a failed pull shows in the container's waiting message, worded as the kubelet words
 * it: a runtime error as Go's gRPC status prints itself (`rpc error: code = NotFound desc = ...`),
 * and several failed attempts (one per credential) as `[first, second]` with repeats dropped.
 */
import { CriError } from '../../cri/errors.ts';

/** gRPC status numbers to the names Go's codes.Code prints. */
const goCodeNames = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
] as const;

function runtimeErrorText(err: unknown): string {
  if (err instanceof CriError && err.grpcCode !== undefined && err.detail !== undefined) {
    const name = goCodeNames[err.grpcCode] ?? `Code(${err.grpcCode})`;
    return `rpc error: code = ${name} desc = ${err.detail}`;
  }
  return err instanceof Error ? err.message : String(err);
}

export function pullErrorMessage(failures: readonly unknown[]): string {
  const distinct = [...new Set(failures.map(runtimeErrorText))];
  return distinct.length === 1 ? distinct[0]! : `[${distinct.join(', ')}]`;
}
