/**
 * The `bosun` command. `bosun --version` answers here, before the command-line parser loads (it is
 * what scripts and install checks run most), a plain `bosun cri ps` and its kin in cri-quick.ts,
 * `bosun agent` with plain flags in agent-command-line.ts (the agent then never loads yargs);
 * everything else goes to command-line.ts.
 */
import { versionLine } from './version.ts';

/** The arguments a user gave: what follows `node cli/main.ts`, or the single executable's path. */
export const userArguments = (): string[] => process.argv.slice(2);

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${versionLine()}\n`);
    return 0;
  }
  if (argv[0] === 'cri') {
    const quick = await (await import('./cri-quick.ts')).runQuickCommandLine(argv);
    if (quick !== undefined) return quick;
  }
  if (argv[0] === 'agent') {
    const plain = await (await import('./agent-command-line.ts')).runAgentCommandLine(argv);
    if (plain !== undefined) return plain;
  }
  const { runCommandLine } = await import('./command-line.ts');
  return runCommandLine(argv);
}

if (import.meta.main) {
  // a promise, not a top-level await: the single executable's bundle is a CommonJS script
  void main(userArguments()).then((code) => {
    process.exitCode = code;
  });
}
