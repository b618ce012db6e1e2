/**
 * The soak's report: per fault how long the cluster took to satisfy every invariant again, then
 * p50/p99 per fault kind over the run. Pure: outcomes in, text and a JSON-ready summary out.
 */
import { faultKinds, describeFault, type Fault, type FaultKind } from './faults.ts';

export interface FaultOutcome {
  fault: Fault;
  /** From the end of the injection (restart done, link healed) to every invariant holding. */
  recoveryMs?: number;
  /** What was still wrong at the deadline; empty when it recovered. */
  problems: string[];
}

export interface KindSummary {
  kind: FaultKind;
  count: number;
  recovered: number;
  p50_ms?: number;
  p99_ms?: number;
  max_ms?: number;
}

/** Nearest-rank percentile (p in 0..100) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function summarizeByKind(outcomes: readonly FaultOutcome[]): KindSummary[] {
  const summaries: KindSummary[] = [];
  for (const kind of faultKinds) {
    const own = outcomes.filter((o) => o.fault.kind === kind);
    if (own.length === 0) continue;
    const times = own.flatMap((o) => (o.problems.length === 0 && o.recoveryMs !== undefined ? [o.recoveryMs] : []));
    summaries.push({
      kind,
      count: own.length,
      recovered: times.length,
      ...(times.length > 0
        ? { p50_ms: percentile(times, 50), p99_ms: percentile(times, 99), max_ms: Math.max(...times) }
        : {}),
    });
  }
  return summaries;
}

const secs = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

/** One line per fault, then the per-kind table. */
export function renderTable(outcomes: readonly FaultOutcome[]): string {
  const lines = ['#   fault                       recovery   problems at deadline'];
  for (const o of outcomes) {
    lines.push(
      `${String(o.fault.index).padEnd(3)} ${describeFault(o.fault).padEnd(27)} ${secs(o.recoveryMs).padStart(8)}   ${o.problems.length === 0 ? '' : o.problems.join('; ')}`,
    );
  }
  lines.push('', 'kind              count  recovered      p50      p99      max');
  for (const s of summarizeByKind(outcomes)) {
    lines.push(
      `${s.kind.padEnd(17)} ${String(s.count).padStart(5)}  ${String(s.recovered).padStart(9)} ${secs(s.p50_ms).padStart(8)} ${secs(s.p99_ms).padStart(8)} ${secs(s.max_ms).padStart(8)}`,
    );
  }
  return lines.join('\n');
}
