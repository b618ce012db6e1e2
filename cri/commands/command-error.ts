/**
 * A `bosun cri` command's own refusal, meant for the user as it stands: its message is the whole
 * line printed, and its exit code says whose fault it is (1: the command could not do it, 2: the
 * command was used wrongly). The CLI turns it into its exit; this folder does not know the CLI.
 */
export class CommandError extends Error {
  readonly exitCode: 1 | 2;
  constructor(message: string, exitCode: 1 | 2 = 1) {
    super(message);
    this.name = 'CommandError';
    this.exitCode = exitCode;
  }
}
