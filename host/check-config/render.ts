/** The text `bosun check-config` prints: one line per finding, grouped by area, fixes indented below misses. */
import type { Finding } from './checks.ts';
import { hostPasses } from './checks.ts';

const marks: Record<Finding['verdict'], string> = {
  ok: 'ok',
  missing: 'MISSING',
  warning: 'warning',
  unknown: 'unknown',
};

export function renderFindings(findings: readonly Finding[], kernel: string): string {
  const lines: string[] = [`bosun check-config: ${kernel}`];
  let area: string | undefined;
  const width = Math.max(...findings.map((finding) => finding.name.length));
  for (const finding of findings) {
    if (finding.area !== area) {
      area = finding.area;
      lines.push('', `${area}:`);
    }
    const optional = finding.need === 'optional' && finding.verdict !== 'ok' ? ' (optional)' : '';
    lines.push(`  ${finding.name.padEnd(width)}  ${marks[finding.verdict]}${optional}: ${finding.detail}`);
    if (finding.fix !== undefined && finding.verdict !== 'ok') lines.push(`  ${''.padEnd(width)}  fix: ${finding.fix}`);
  }
  const missing = findings.filter((f) => f.need === 'required' && f.verdict === 'missing').length;
  const warnings = findings.filter((f) => f.verdict === 'warning' || f.verdict === 'unknown').length;
  lines.push(
    '',
    hostPasses(findings)
      ? `This host can run bosun (${warnings} warning${warnings === 1 ? '' : 's'}).`
      : `This host cannot run bosun yet: ${missing} required item${missing === 1 ? '' : 's'} missing (see fix: lines).`,
  );
  return `${lines.join('\n')}\n`;
}
