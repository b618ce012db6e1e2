/**
 * Which parts of the process's own executable are resident: the file pages in a Node or
 * single-executable process's RSS, split by the ELF section (and the largest data blobs in it)
 * that each resident page belongs to. Read from /proc/PID/maps and /proc/PID/pagemap (a page's
 * "present" bit), so it needs to run as root or as the process's owner.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readlinkSync, readSync, statSync } from 'node:fs';

const pageBytes = 4096;

interface Region {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/** File-offset ranges of the ELF sections that are loaded, and of a few large symbols inside them. */
function regionsOf(file: string): Region[] {
  const regions: Region[] = [];
  const sections = execFileSync('readelf', ['-S', '-W', file], { encoding: 'utf8' });
  const loaded = new Map<string, { address: number; offset: number }>();
  for (const line of sections.split('\n')) {
    const m = /\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+\S+\s+(\S*A\S*)/.exec(line);
    if (!m) continue;
    const [, name, address, offset, size] = m;
    const start = Number.parseInt(offset!, 16);
    regions.push({ name: name!, start, end: start + Number.parseInt(size!, 16) });
    loaded.set(name!, { address: Number.parseInt(address!, 16), offset: start });
  }
  // the largest read-only blobs: ICU's data, V8's built-in snapshot
  const rodata = loaded.get('.rodata');
  if (rodata) {
    const symbols = execFileSync('nm', ['-S', '--size-sort', file], { encoding: 'utf8', maxBuffer: 256 << 20 });
    for (const line of symbols.trimEnd().split('\n').slice(-3)) {
      const [address, size, , name] = line.split(' ');
      if (name === undefined || Number.parseInt(size!, 16) < 1 << 20) continue;
      const start = Number.parseInt(address!, 16) - rodata.address + rodata.offset;
      regions.unshift({ name: `.rodata:${name}`, start, end: start + Number.parseInt(size!, 16) });
    }
  }
  return regions;
}

/** Resident MiB of `pid`'s executable by region ("other" is what no section covers, e.g. an SEA blob). */
export function residentExecutablePages(pid: number): Record<string, number> {
  const file = readlinkSync(`/proc/${pid}/exe`);
  const regions = regionsOf(file);
  const pages: Record<string, number> = {};
  const pagemap = openSync(`/proc/${pid}/pagemap`, 'r');
  try {
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s+(.*)$/.exec(line);
      if (!m || m[4] !== file) continue;
      const start = Number.parseInt(m[1]!, 16);
      const count = (Number.parseInt(m[2]!, 16) - start) / pageBytes;
      const entries = Buffer.alloc(count * 8);
      readSync(pagemap, entries, 0, entries.length, (start / pageBytes) * 8);
      for (let i = 0; i < count; i += 1) {
        if (entries.readBigUInt64LE(i * 8) >> 63n === 0n) continue;
        const offset = Number.parseInt(m[3]!, 16) + i * pageBytes;
        const region = regions.find((r) => offset >= r.start && offset < r.end)?.name ?? 'other';
        pages[region] = (pages[region] ?? 0) + 1;
      }
    }
  } finally {
    closeSync(pagemap);
  }
  const mib = Object.entries(pages)
    .sort(([, a], [, b]) => b - a)
    .map(([name, n]) => [name, Math.round((n * pageBytes) / 10485.76) / 100]);
  return { fileMiB: Math.round(statSync(file).size / 10485.76) / 100, ...Object.fromEntries(mib) };
}
