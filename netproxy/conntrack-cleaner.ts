/** Executes conntrack deletions with Debian's `conntrack` tool. */
import type { CommandRunner } from './command-runner.ts';
import { conntrackArgs, type ConntrackDeletion } from './conntrack-planner.ts';

interface CleanupReport {
  /** Filters that ran. */
  ran: number;
  /** Flows deleted, as the tool reported them. */
  deleted: number;
  /** Filters that failed for another reason than "nothing matched". */
  failed: string[];
}

export async function cleanConntrack(
  runner: CommandRunner,
  deletions: readonly ConntrackDeletion[],
): Promise<CleanupReport> {
  const report: CleanupReport = { ran: 0, deleted: 0, failed: [] };
  for (const d of deletions) {
    const args = conntrackArgs(d);
    const r = await runner.run(['conntrack', ...args], { timeoutMs: 10_000 });
    report.ran++;
    const count = /(\d+) flow entries have been deleted/.exec(r.stderr);
    if (count) report.deleted += Number(count[1]);
    // conntrack exits 1 when no entry matched; that is the usual, harmless case.
    else if (r.code !== 0) report.failed.push(`conntrack ${args.join(' ')}: ${r.stderr.trim()}`);
  }
  return report;
}
