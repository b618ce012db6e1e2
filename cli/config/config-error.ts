import { CliError, ExitCode } from '../exit.ts';

/** One line naming the file and what is wrong in it: a usage error, as a bad flag is. */
export function configError(file: string, what: string): CliError {
  return new CliError(`${file}: ${what}`, ExitCode.usage);
}
