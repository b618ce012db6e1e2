/**
 * Several read-only commands in one process: a shell runs them in turn, and each one's output and
 * exit status are told apart by a marker line. From a Node process of the agent's size, starting a
 * process costs more than a listing itself, so a round of listings in one process is several
 * times cheaper than one process each.
 */
import type { CommandRunner } from './command-runner.ts';

/** One command's part of the combined run; stderr is the whole run's (a shell merges nothing else). */
export interface ListingResult {
  code: number;
  stdout: string;
  stderr: string;
}

const endMarker = '@@bosun-listing-end';

/** An argument as the shell reads it literally. */
function quoted(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** Runs each argv in turn in one shell; a command the shell never reached counts as failed. */
export async function runListings(
  runner: CommandRunner,
  commands: readonly (readonly string[])[],
  timeoutMs = 30_000,
): Promise<ListingResult[]> {
  const script = commands.map((argv) => `${argv.map(quoted).join(' ')}; echo "${endMarker} $?"`).join('; ');
  const r = await runner.run(['sh', '-c', script], { timeoutMs });
  // [output 0, status 0, output 1, status 1, ..., what follows the last marker]
  const parts = r.stdout.split(new RegExp(`${endMarker} (\\d+)\\n`));
  return commands.map((_, i) => {
    const status = parts[2 * i + 1];
    return {
      code: status === undefined ? r.code || 1 : Number(status),
      stdout: status === undefined ? '' : (parts[2 * i] ?? ''),
      stderr: r.stderr,
    };
  });
}
