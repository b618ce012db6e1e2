/**
 * The report's account of each missed target: the measured value, why it was missed (the
 * explanation recorded in bench/report/miss-explanations.md, written from the profiles and
 * breakdowns of the run), and the profile itself where the suite captured one in the same run
 * (the servers of scale, api and http2, the executable's `cri ps`). Pure: outcomes and explanations in, Markdown lines out.
 */
import { breakdownLines } from './breakdowns.ts';
import { suiteChecks, suiteOrder, verdict } from './targets.ts';

type Result = Record<string, unknown>;

/** suite → check label → explanation (Markdown). */
export type Explanations = Record<string, Record<string, string>>;

/**
 * Reads the explanations file: each `## <suite>: <check label>` heading starts one explanation,
 * which runs to the next such heading; text before the first heading is the file's own preface.
 */
export function parseExplanations(text: string): Explanations {
  const explanations: Explanations = {};
  let current: { suite: string; label: string; lines: string[] } | undefined;
  const keep = () => {
    if (current) (explanations[current.suite] ??= {})[current.label] = current.lines.join('\n').trim();
  };
  for (const line of text.split('\n')) {
    const heading = /^## ([a-z0-9-]+): (.+)$/.exec(line);
    if (heading) {
      keep();
      current = { suite: heading[1]!, label: heading[2]!.trim(), lines: [] };
    } else current?.lines.push(line);
  }
  keep();
  return explanations;
}

interface Outcome {
  suite: string;
  status: string;
  result?: Result;
}

interface Digest {
  /** What was profiled, e.g. "the executable's `cri ps`, 10 runs"; a server's profile names its backend instead. */
  title?: string;
  backend?: string;
  sampled_s?: number;
  functions?: { name: string; pct: number }[];
  files?: { name: string; pct: number }[];
}

function profileLines(result: Result): string[] {
  const profiles = (result.profiles as Digest[] | undefined) ?? [];
  const lines: string[] = [];
  for (const profile of profiles) {
    lines.push(
      '',
      `${profile.title ? `CPU profile of ${profile.title}` : `Server CPU profile, ${profile.backend ?? 'server'}`} (${profile.sampled_s ?? '?'} s sampled), self time:`,
      '',
      '| share | function | | share | file |',
      '|---|---|---|---|---|',
    );
    const functions = profile.functions ?? [];
    const files = profile.files ?? [];
    for (let i = 0; i < Math.max(functions.length, files.length); i++) {
      const fn = functions[i];
      const file = files[i];
      lines.push(
        `| ${fn ? `${fn.pct} %` : ''} | ${fn ? `\`${fn.name.replace(/\|/g, '/')}\`` : ''} | | ${file ? `${file.pct} %` : ''} | ${file ? `\`${file.name}\`` : ''} |`,
      );
    }
  }
  return lines;
}

export function missesSection(
  outcomes: readonly Outcome[],
  format: (value: number | undefined, unit: string) => string,
  explanations: Explanations,
): string[] {
  const bySuite = new Map(outcomes.map((o) => [o.suite, o]));
  const lines: string[] = ['## Misses, and where the time went', ''];
  let misses = 0;
  for (const suite of suiteOrder) {
    const outcome = bySuite.get(suite);
    if (outcome?.status !== 'ran') continue;
    const result = outcome.result ?? {};
    let detailShown = false;
    for (const check of suiteChecks[suite] ?? []) {
      const value = check.measured(result);
      if (verdict(check, value) !== 'miss') continue;
      misses++;
      const comparison = check.better === 'lower' ? '≤' : '≥';
      lines.push(
        `### ${suite}: ${check.label}`,
        '',
        `Measured ${format(value, check.unit)} against ${comparison} ${format(check.target, check.unit)}.`,
        '',
        explanations[suite]?.[check.label] ?? 'No explanation recorded for this miss.',
      );
      if (!detailShown) {
        lines.push(...breakdownLines(suite, result), ...profileLines(result));
        detailShown = true;
      }
      lines.push('');
    }
  }
  if (misses === 0) lines.push('Every target that was measured was met.', '');
  return lines;
}
