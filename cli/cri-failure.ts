/**
 * How a `bosun cri` failure ends the command: the one line a user sees and its exit code. Loaded
 * only when a subcommand runs, with the CRI code it names.
 */
import { CommandError } from '../cri/commands/command-error.ts';
import { CriError } from '../cri/errors.ts';
import { CliError, ExitCode } from './exit.ts';

/** Which CRI errors are the user's input rather than the runtime's failure (exit 2). */
const usageCodes = new Set(['BOSUN_CRI_BAD_ENDPOINT', 'BOSUN_CRI_INVALID_ARGUMENT']);

export function cliErrorFrom(err: unknown): unknown {
  if (err instanceof CommandError) return new CliError(err.message, err.exitCode);
  if (err instanceof CriError)
    return new CliError(err.message, usageCodes.has(err.code) ? ExitCode.usage : ExitCode.failed);
  return err;
}
