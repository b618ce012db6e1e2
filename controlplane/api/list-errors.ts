/**
 * The refusals of a list that asks for a revision the datastore cannot show, worded as upstream's
 * apiserver words them (clients such as client-go's reflector and pager branch on their reasons).
 */
import { ApiError } from '../../kube/errors.ts';

/** A continue token whose snapshot was compacted: 410, with a token that goes on at the newest state. */
export function staleContinue(restartToken: string): ApiError {
  return new ApiError(
    'Expired',
    'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, ' +
      'or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an ' +
      'inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
    undefined,
    { continue: restartToken },
  );
}

/** An exact resourceVersion whose state was compacted. */
export function tooOldResourceVersion(): ApiError {
  return new ApiError('Expired', 'The resourceVersion for the provided list is too old.');
}

/** A resourceVersion the datastore has not reached: 504 (upstream words every timeout "Timeout: ..."), to be retried after a second. */
export function tooLargeResourceVersion(asked: number, current: number): ApiError {
  return new ApiError('Timeout', `Timeout: Too large resource version: ${asked}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}
