/**
 * Where a process's resident memory is, from /proc/PID/smaps_rollup (Linux): anonymous pages (the
 * JavaScript heap, malloc'd buffers, TLS and HTTP/2 state, sqlite's page cache) against file pages
 * (the node binary and shared libraries, sqlite's memory-mapped database), proportional shares so
 * that pages shared with other processes count once. Undefined once the process has gone.
 */
import { readFileSync } from 'node:fs';

interface MemoryBreakdown {
  rss_mib: number;
  anon_mib: number;
  file_mib: number;
  shmem_mib: number;
}

const mib = (kb: number) => Math.round((kb / 1024) * 10) / 10;

/** The fields of an smaps_rollup text, in kB. */
export function parseSmapsRollup(text: string): Map<string, number> {
  const fields = new Map<string, number>();
  for (const match of text.matchAll(/^(\w+):\s+(\d+) kB$/gm)) fields.set(match[1]!, Number(match[2]));
  return fields;
}

export function memoryBreakdown(pid: number): MemoryBreakdown | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = parseSmapsRollup(text);
  return {
    rss_mib: mib(kb.get('Rss') ?? 0),
    // kernels before 5.7 have no Pss_Anon: the anonymous total is the same figure for a private process
    anon_mib: mib(kb.get('Pss_Anon') ?? kb.get('Anonymous') ?? 0),
    file_mib: mib(kb.get('Pss_File') ?? 0),
    shmem_mib: mib(kb.get('Pss_Shmem') ?? 0),
  };
}

/** The server's memory at one moment: where its RSS is (smaps_rollup) and what V8 says of its heap (its /metrics). */
export interface ServerMemory extends MemoryBreakdown {
  /** null: the server's metrics were not scraped at that moment. */
  heap_used_mib: number | null;
  heap_total_mib: number | null;
  external_mib: number | null;
  array_buffers_mib: number | null;
}

/** What one more node and one more pod cost the server, from the moments nothing but nodes, or nothing but pods, were added. */
interface MemoryCosts {
  backend: string;
  /** Per field of ServerMemory, KiB per node: from one step's end to the next step's join (same pods, more nodes). */
  per_node_kib: Partial<Record<keyof ServerMemory, number>>;
  /** Per field, KiB per pod held: from a step's join to its end (same nodes, more pods), over every step. */
  per_pod_kib: Partial<Record<keyof ServerMemory, number>>;
}

interface MeasuredStep {
  backend: string;
  nodes_ready: number;
  /** The pods the server held once the step's nodes had joined and at its end (null: not counted). */
  pods_stored_joined: number | null;
  pods_stored: number | null;
  server_memory_joined?: ServerMemory;
  server_memory?: ServerMemory;
}

const fields = [
  'rss_mib',
  'anon_mib',
  'file_mib',
  'heap_used_mib',
  'heap_total_mib',
  'external_mib',
  'array_buffers_mib',
] as const satisfies readonly (keyof ServerMemory)[];

/** Sum of the field's growth over `spans` divided by the sum of their sizes, in KiB per unit; absent when unknown. */
function slope(spans: { from: ServerMemory; to: ServerMemory; units: number }[], field: (typeof fields)[number]) {
  let grew = 0;
  let units = 0;
  for (const { from, to, units: n } of spans) {
    const a = from[field];
    const b = to[field];
    if (a === null || b === null || n <= 0) continue;
    grew += b - a;
    units += n;
  }
  return units === 0 ? undefined : Math.round(((grew * 1024) / units) * 10) / 10;
}

/**
 * Per-node and per-pod cost for each backend. Pods and nodes grow together in the scale run, but
 * within it there are spans where only one of them does: a step's rollout (nodes fixed) and the
 * next step's join (pods fixed), so the two costs separate without a second run.
 */
export function memoryCosts(steps: readonly MeasuredStep[]): MemoryCosts[] {
  const backends = [...new Set(steps.map((s) => s.backend))];
  return backends.map((backend) => {
    const mine = steps.filter((s) => s.backend === backend);
    // pods the server holds, not pods running: a rollout cut short by the budget still stored them all
    const podSpans = mine.flatMap((s) =>
      s.server_memory_joined && s.server_memory && s.pods_stored_joined !== null && s.pods_stored !== null
        ? [{ from: s.server_memory_joined, to: s.server_memory, units: s.pods_stored - s.pods_stored_joined }]
        : [],
    );
    const nodeSpans = mine.slice(1).flatMap((s, i) => {
      const previous = mine[i]!;
      return previous.server_memory && s.server_memory_joined
        ? [{ from: previous.server_memory, to: s.server_memory_joined, units: s.nodes_ready - previous.nodes_ready }]
        : [];
    });
    const costs = (spans: typeof podSpans) =>
      Object.fromEntries(fields.flatMap((f) => (slope(spans, f) === undefined ? [] : [[f, slope(spans, f)!]])));
    return { backend, per_node_kib: costs(nodeSpans), per_pod_kib: costs(podSpans) };
  });
}
