/** Executes conntrack deletions with Debian's `conntrack` tool. */
import type { CommandRunner } from './command-runner.ts';
import { conntrackArgs, type ConntrackDeletion } from './conntrack-planner.ts';

interface CleanupReport {
  /** Filters that ran. */
  ran: number;
  /** Flows deleted, as the tool reported them. */
  deleted: number;
  /** Filters that failed for another reason than "nothing matched" (or could not run at all). */
  failed: string[];
}

export async function cleanConntrack(
  runner: CommandRunner,
  deletions: readonly ConntrackDeletion[],
): Promise<CleanupReport> {
  const report: CleanupReport = { ran: 0, deleted: 0, failed: [] };
  for (const d of deletions) {
    const args = conntrackArgs(d);
    let r;
    try {
      r = await runner.run(['conntrack', ...args], { timeoutMs: 10_000 });
    } catch (err) {
      // the tool could not run at all (not installed, timed out): the rules are already in, so this
      // is a failed cleanup to report, as kube-proxy logs it, not a failed sync; the other
      // filters would meet the same fate
      report.failed.push(`conntrack ${args.join(' ')}: ${(err as Error).message}`);
      break;
    }
    report.ran++;
    const count = /(\d+) flow entries have been deleted/.exec(r.stderr);
    if (count) report.deleted += Number(count[1]);
    // conntrack exits 1 when no entry matched; that is the usual, harmless case.
    else if (r.code !== 0) report.failed.push(`conntrack ${args.join(' ')}: ${r.stderr.trim()}`);
  }
  return report;
}
