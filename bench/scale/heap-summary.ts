/**
 * What a heap snapshot holds: `node bench/scale/heap-summary.ts <file.heapsnapshot> [--top 30]`
 * prints the objects' own (shallow) size and count by constructor (plain objects, arrays, strings,
 * compiled code and the like by their kind), largest first, with each one's share of the heap. A
 * snapshot of the server is taken with `--server-node-args=--heapsnapshot-signal=SIGUSR2` on the
 * scale bench and `kill -USR2 <server pid>` when the step of interest is reached.
 */
import { readFileSync } from 'node:fs';
import { fileAndTop } from './summary-args.ts';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

interface HeapRow {
  name: string;
  bytes: number;
  count: number;
}

/** Shallow size and count by constructor name (objects) or by kind (everything else), largest first. */
function summarizeHeap(snapshot: Snapshot): { total: number; rows: HeapRow[] } {
  const fields = snapshot.snapshot.meta.node_fields;
  const kinds = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const rows = new Map<string, HeapRow>();
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const kind = kinds[snapshot.nodes[i + typeAt]!] ?? '?';
    const bytes = snapshot.nodes[i + sizeAt]!;
    // an object's name is its constructor's; a string's or code's name is its text, which says nothing summed
    const name = kind === 'object' || kind === 'native' ? snapshot.strings[snapshot.nodes[i + nameAt]!]! : `(${kind})`;
    const row = rows.get(name) ?? { name, bytes: 0, count: 0 };
    row.bytes += bytes;
    row.count += 1;
    rows.set(name, row);
    total += bytes;
  }
  return { total, rows: [...rows.values()].sort((a, b) => b.bytes - a.bytes) };
}

if (import.meta.main) {
  const { file, top } = fileAndTop('node bench/scale/heap-summary.ts <file.heapsnapshot> [--top 30]');
  const { total, rows } = summarizeHeap(JSON.parse(readFileSync(file, 'utf8')) as Snapshot);
  const mib = (bytes: number) => (bytes / 1048576).toFixed(1).padStart(8);
  process.stdout.write(`heap ${mib(total).trim()} MiB in snapshot\n\n`);
  for (const row of rows.slice(0, top))
    process.stdout.write(
      `${mib(row.bytes)} MiB ${((row.bytes / total) * 100).toFixed(1).padStart(5)}% ${String(row.count).padStart(9)}  ${row.name}\n`,
    );
}
