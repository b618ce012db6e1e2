/**
 * Progress of an image pull. CRI's PullImage is a single call that answers only when done, so the
 * bytes on their way are read where containerd puts them: each download in flight is a folder
 * under <containerd root>/io.containerd.content.v1.content/ingest holding `data` (what arrived so
 * far) and `total` (the expected size, once known). The containerd root comes from the runtime's
 * verbose Status ("config".containerdRootDir).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { humanSize } from './format.ts';

interface PullProgress {
  /** Bytes downloaded so far by the downloads in flight. */
  done: number;
  /** Their expected sizes where known. */
  total: number;
  /** Downloads in flight. */
  layers: number;
}

/** containerd's root folder from the verbose Status info, if it says. */
export function containerdRootFromInfo(info: Record<string, string>): string | undefined {
  try {
    const config = JSON.parse(info.config ?? '{}') as { containerdRootDir?: unknown };
    return typeof config.containerdRootDir === 'string' && config.containerdRootDir !== ''
      ? config.containerdRootDir
      : undefined;
  } catch {
    return undefined;
  }
}

export function ingestDir(containerdRoot: string): string {
  return join(containerdRoot, 'io.containerd.content.v1.content', 'ingest');
}

/** Sums the downloads in flight; an unreadable folder counts as nothing in flight. */
export async function scanIngest(dir: string): Promise<PullProgress> {
  const progress: PullProgress = { done: 0, total: 0, layers: 0 };
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return progress;
  }
  await Promise.all(
    entries.map(async (entry) => {
      const [data, total] = await Promise.all([
        stat(join(dir, entry, 'data')).catch(() => undefined),
        readFile(join(dir, entry, 'total'), 'utf8').catch(() => ''),
      ]);
      if (!data) return;
      progress.layers += 1;
      progress.done += data.size;
      progress.total += Number(total.trim()) || data.size;
    }),
  );
  return progress;
}

/** "[#########-----------]  1.2MB / 2.7MB  2 layers" in `width` columns for the bar. */
export function renderProgressBar(progress: PullProgress, width = 30): string {
  const fraction = progress.total > 0 ? Math.min(1, progress.done / progress.total) : 0;
  const filled = Math.round(fraction * width);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  const layers = `${progress.layers} ${progress.layers === 1 ? 'layer' : 'layers'}`;
  return `[${bar}] ${humanSize(progress.done)} / ${humanSize(progress.total)}  ${layers}`;
}
