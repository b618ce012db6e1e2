/** Failures of a Storage call, by stable code; callers branch on `code`, never on text. */
export type StorageErrorCode =
  | 'NotFound'
  | 'KeyExists'
  | 'Conflict'
  | 'Compacted'
  /** A read at a revision the store has not reached yet. */
  | 'FutureRevision'
  /** The backend cannot be reached or refused to work; the request may succeed later. */
  | 'Unavailable';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }
}

export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}
