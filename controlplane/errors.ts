/**
 * Every coded error the control plane raises, in one place (the shared base and the
 * `BOSUN_<AREA>_<WHAT>` convention are in kube/errors.ts). Callers branch on `code`, never on text.
 * What reaches API clients is an ApiError (upstream's Status reasons); these stay inside the server
 * or end a command with their message.
 */
import { CodedError, isApiError } from '../kube/errors.ts';

/** Failures of a Storage call. */
export type StorageErrorCode =
  | 'BOSUN_STORAGE_NOT_FOUND'
  | 'BOSUN_STORAGE_KEY_EXISTS'
  | 'BOSUN_STORAGE_CONFLICT'
  | 'BOSUN_STORAGE_COMPACTED'
  /** A read at a revision the store has not reached yet. */
  | 'BOSUN_STORAGE_FUTURE_REVISION'
  /** The backend cannot be reached or refused to work; the request may succeed later. */
  | 'BOSUN_STORAGE_UNAVAILABLE';

export class StorageError extends CodedError<StorageErrorCode> {}

export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}

/** A CertificateSigningRequest whose PKCS#10 request cannot be read or was not signed by its own key. */
export class CsrError extends CodedError<'BOSUN_CSR_INVALID'> {
  constructor(message: string) {
    super('BOSUN_CSR_INVALID', message);
  }
}

/** A CronJob schedule that does not parse. */
export class ScheduleError extends CodedError<'BOSUN_CRONJOB_BAD_SCHEDULE'> {
  constructor(message: string) {
    super('BOSUN_CRONJOB_BAD_SCHEDULE', message);
  }
}

/** Some actions of a controller's plan failed; the controller retries the key. */
export class PlanFailed extends CodedError<'BOSUN_CONTROLLER_PLAN_FAILED'> {
  readonly causes: unknown[];
  /** Only write conflicts: the cache was behind and its watch event is on the way. */
  get onlyConflicts(): boolean {
    return this.causes.every((c) => isApiError(c, 'Conflict'));
  }
  constructor(causes: unknown[]) {
    super(
      'BOSUN_CONTROLLER_PLAN_FAILED',
      `${causes.length} action(s) failed; first: ${causes[0] instanceof Error ? causes[0].message : String(causes[0])}`,
    );
    this.causes = causes;
  }
}

/** Why `bosun certs renew` cannot renew here: no cluster PKI in the folder, or the CA's key is elsewhere. */
export class RenewalRefusedError extends CodedError<'BOSUN_PKI_MISSING' | 'BOSUN_PKI_EXTERNAL_CA'> {}

/** Why a datastore snapshot could not be saved, listed or restored; the message says what to do. */
export class SnapshotError extends CodedError<
  | 'BOSUN_SNAPSHOT_BAD_NAME'
  | 'BOSUN_SNAPSHOT_EXISTS'
  | 'BOSUN_SNAPSHOT_NOT_FOUND'
  | 'BOSUN_SNAPSHOT_SAVE_FAILED'
  | 'BOSUN_SNAPSHOT_RESTORE_REFUSED'
  | 'BOSUN_SNAPSHOT_RESTORE_FAILED'
> {}

/** A write of the scheduler or a controller after this process stopped leading their lease: refused before it is sent. */
export class LeadershipLostError extends CodedError<'BOSUN_LEADER_ELECTION_LOST'> {
  constructor(lease: string) {
    super('BOSUN_LEADER_ELECTION_LOST', `not the leader of ${lease} any more: write refused`);
  }
}
