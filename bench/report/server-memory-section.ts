/**
 * The scale bench's memory breakdown for bench/REPORT.md: where the server's RSS was at each step
 * (once its nodes had joined, and at its end) and what one more node and one more pod cost, so a
 * miss of the RSS target says whether live objects, heap kept for later or native memory grew.
 */
type Memory = Record<
  'rss_mib' | 'anon_mib' | 'file_mib' | 'heap_used_mib' | 'heap_total_mib' | 'external_mib' | 'array_buffers_mib',
  number | null
>;

interface Step {
  backend: string;
  nodes_ready: number;
  pods_stored_joined?: number | null;
  pods_stored?: number | null;
  server_memory_joined?: Memory;
  server_memory?: Memory;
}

interface Costs {
  backend: string;
  per_node_kib: Partial<Memory>;
  per_pod_kib: Partial<Memory>;
}

const shown = (value: number | null | undefined) => (value === null || value === undefined ? '—' : String(value));

/** Anonymous memory that is neither V8's heap nor its external memory: malloc'd by Node, OpenSSL, nghttp2, sqlite. */
function native(m: Memory): string {
  if (m.anon_mib === null || m.heap_total_mib === null || m.external_mib === null) return '—';
  return String(Math.round(m.anon_mib - m.heap_total_mib - m.external_mib));
}

function cost(c: Partial<Memory>): string {
  if (c.rss_mib === undefined) return 'not measured';
  return `${c.rss_mib} KiB RSS (heap in use ${shown(c.heap_used_mib)}, reserved ${shown(c.heap_total_mib)}, external ${shown(c.external_mib)})`;
}

export function serverMemorySection(result: Record<string, unknown> | undefined): string[] {
  const steps = ((result?.steps as Step[] | undefined) ?? []).filter((s) => s.server_memory !== undefined);
  if (steps.length === 0) return [];
  const lines = [
    '## Server memory per scale step',
    '',
    "MiB. anonymous and file are the server's proportional share (the Node binary's pages are shared with every other Node process, so RSS exceeds their sum); native = anonymous − heap reserved − external: what Node's libraries (OpenSSL, nghttp2, sqlite) and malloc hold outside V8.",
    '',
    '| backend | nodes | pods held | when | RSS | anonymous | file | heap in use / reserved | external (Buffers) | native |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of steps) {
    const moments: [string, Memory | undefined, number | null | undefined][] = [
      ['nodes joined', s.server_memory_joined, s.pods_stored_joined],
      ['step end', s.server_memory, s.pods_stored],
    ];
    for (const [when, m, pods] of moments)
      if (m !== undefined)
        lines.push(
          `| ${s.backend} | ${s.nodes_ready} | ${shown(pods)} | ${when} | ${m.rss_mib} | ${m.anon_mib} | ${m.file_mib} | ${shown(m.heap_used_mib)} / ${shown(m.heap_total_mib)} | ${shown(m.external_mib)} (${shown(m.array_buffers_mib)}) | ${native(m)} |`,
        );
  }
  lines.push('');
  for (const c of (result?.server_memory_costs as Costs[] | undefined) ?? [])
    lines.push(`- ${c.backend}: one more node ${cost(c.per_node_kib)}; one more pod ${cost(c.per_pod_kib)}.`);
  lines.push('');
  return lines;
}
