/**
 * How the bosun command ends. Every command failure reaches the user as one line on stderr and an
 * exit code; never as a stack trace.
 *   0  success
 *   1  the command ran and failed (runtime unreachable, object not found, ...)
 *   2  the command was used wrongly (unknown flag, missing argument, bad input file)
 */
export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error meant for the user: its message is the whole line we print. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode = ExitCode.failed) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A word on the command line that the command does not take; its line names the command itself. */
export class UnknownArgumentError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = 'UnknownArgumentError';
  }
}

/** Turns anything thrown into the one line a user sees. */
export function describeFailure(err: unknown): { line: string; code: ExitCode } {
  if (err instanceof CliError) return { line: err.message, code: err.exitCode };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const prefix = typeof code === 'string' ? `${code}: ` : '';
    return { line: `${prefix}${err.message.split('\n')[0]}`, code: ExitCode.failed };
  }
  return { line: String(err), code: ExitCode.failed };
}

/** Prints a failed command's one line on stderr and gives its exit code. */
export function reportFailure(err: unknown): ExitCode {
  const { line, code } = describeFailure(err);
  // an unknown word names its command itself ("bosun server: unknown flag ...")
  process.stderr.write(err instanceof UnknownArgumentError ? `${line}\n` : `bosun: ${line}\n`);
  return code;
}
