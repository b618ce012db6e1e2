/**
 * Where a suite's measured time went, as the suite itself split it in the same run: printed under
 * the suite's first missed target, beside the explanation. Pure: a suite's result in, Markdown
 * lines out (none when the result has no breakdown).
 */
type Result = Record<string, unknown>;

const pair = (value: unknown): [number, number] | undefined =>
  Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')
    ? (value as [number, number])
    : undefined;

interface Step {
  p50?: number;
  p99?: number;
}

const ms = (value: number | undefined) => (value === undefined ? '—' : String(Math.round(value * 10) / 10));

/** pod-start: each API pod's start in consecutive steps, from the agent's debug log joined with the bench's clock. */
function podStartTimeline(result: Result): string[] {
  const timeline = result.timeline as { pods?: number; steps?: Record<string, Step> } | undefined;
  if (timeline?.steps === undefined) return [];
  const lines = [
    '',
    `Each API pod's start in steps (${timeline.pods ?? '?'} pods; each step from the end of the one before), ms:`,
    '',
    '| step | p50 | p99 |',
    '|---|---|---|',
  ];
  for (const [step, value] of Object.entries(timeline.steps))
    lines.push(`| ${step} | ${ms(value.p50)} | ${ms(value.p99)} |`);
  return lines;
}

/** proxy-sync: one nftables partial sync split into nft's time, ours, and the transaction's size. */
function nftablesPartial(result: Result): string[] {
  const nft = result.nftables as Result | undefined;
  if (nft === undefined) return [];
  const rows: [string, [number, number] | undefined, string][] = [
    ['nft -f, wall', pair(nft.partial_apply_ms_p50_p99), 'ms'],
    ['nft -f, CPU', pair(nft.partial_apply_cpu_ms_p50_p99), 'ms'],
    ['this process, CPU (plan, render, start nft)', pair(nft.partial_own_cpu_ms_p50_p99), 'ms'],
    ['transaction size', pair(nft.partial_payload_bytes_p50_p99), 'bytes'],
  ];
  // time(1) gives CPU in hundredths of a second: a child under 10 ms reads 0, which says nothing
  const present = rows.filter(([, value]) => value !== undefined && value[1] > 0);
  if (present.length === 0) return [];
  const lines = [
    '',
    'One nftables partial sync at the largest size, split:',
    '',
    '| part | p50 | p99 | unit |',
    '|---|---|---|---|',
  ];
  for (const [part, value, unit] of present) lines.push(`| ${part} | ${ms(value![0])} | ${ms(value![1])} | ${unit} |`);
  return lines;
}

/** network-policy: one apply split into the processes it ran, against the restore alone. */
function networkPolicyApply(result: Result): string[] {
  const commands = result.apply_commands_ms as Record<string, number> | undefined;
  if (commands === undefined || Object.keys(commands).length === 0) return [];
  const lines = [
    '',
    'One apply split into the commands it ran (median ms per apply), beside the restore alone:',
    '',
    '| part | ms |',
    '|---|---|',
    `| the whole apply | ${ms(result.apply_ms as number | undefined)} |`,
  ];
  for (const [name, spent] of Object.entries(commands)) lines.push(`| \`${name}\` | ${ms(spent)} |`);
  lines.push(
    `| \`iptables-restore\` of the same payload alone | ${ms(result.restore_only_ms as number | undefined)} |`,
  );
  return lines;
}

const bySuite: Record<string, (result: Result) => string[]> = {
  'network-policy': networkPolicyApply,
  'pod-start': podStartTimeline,
  'proxy-sync': nftablesPartial,
};

export function breakdownLines(suite: string, result: Result): string[] {
  return bySuite[suite]?.(result) ?? [];
}
