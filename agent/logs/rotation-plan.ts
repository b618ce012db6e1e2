/**
 * What to do with one container's log files, as the kubelet's container log manager does it
 * (pkg/kubelet/logs/container_log_manager.go), decided here without touching the disk:
 *
 *   <dir>/0.log                      the file the runtime writes now
 *   <dir>/0.log.20260102-150405      the newest rotated file, left uncompressed (the runtime may
 *                                    still finish a write into it, `kubectl logs` reads it as is)
 *   <dir>/0.log.20260102-145901.gz   older rotated files, gzip-compressed
 *
 * When the live file reached max-size: leftovers of an interrupted compression (`*.tmp`) go, an
 * uncompressed file whose `.gz` twin exists goes, the oldest rotated files go until at most
 * max-files − 2 remain, every remaining uncompressed rotated file is compressed, and the live file
 * is renamed to `<name>.<timestamp>` (UTC, `YYYYMMDD-hhmmss`), after which the runtime is asked to
 * reopen it. So a container never holds more than max-files files: the live one, the newest
 * rotated one and max-files − 2 compressed ones.
 *
 * The rename comes first (the live file must stop growing now; compressing can follow). The
 * kubelet rotates at most every 10 s, so its one-second timestamps never collide; a writer of tens
 * of MB/s fills max-size several times a second, so a second rotation within one second gets
 * `-<n>` after the timestamp rather than waiting (and growing) until the next second.
 */
interface RotationInput {
  /** Path of the live log file (`.../0.log`). */
  logPath: string;
  sizeBytes: number;
  /** Names (full paths) of every file `<logPath>.*` in its folder. */
  rotated: readonly string[];
  maxSizeBytes: number;
  /** At least 2. */
  maxFiles: number;
  now: number;
}

export type RotationStep =
  | { kind: 'remove'; path: string }
  | { kind: 'compress'; path: string; to: string }
  /** Rename the live file, then ask the runtime to reopen it (rename back if that fails). */
  | { kind: 'rotate'; from: string; to: string };

const compressSuffix = '.gz';
export const tmpSuffix = '.tmp';

/** `YYYYMMDD-hhmmss` in UTC, upstream's rotation timestamp (Go layout 20060102-150405). */
export function rotationStamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

export function planRotation(input: RotationInput): RotationStep[] {
  if (input.sizeBytes < input.maxSizeBytes) return [];
  const steps: RotationStep[] = [];
  const files = new Set(input.rotated);
  for (const path of input.rotated) {
    const twinCompressed = !path.endsWith(compressSuffix) && files.has(`${path}${compressSuffix}`);
    if (path.endsWith(tmpSuffix) || twinCompressed) {
      steps.push({ kind: 'remove', path });
      files.delete(path);
    }
  }
  const kept = [...files].sort(byAge);
  const keep = Math.max(0, input.maxFiles - 2);
  while (kept.length > keep) steps.push({ kind: 'remove', path: kept.shift()! });
  for (const path of kept) {
    if (!path.endsWith(compressSuffix)) steps.push({ kind: 'compress', path, to: `${path}${compressSuffix}` });
  }
  const taken = new Set(input.rotated.map((p) => p.replace(/\.tmp$/, '').replace(/\.gz$/, '')));
  const stamp = `${input.logPath}.${rotationStamp(input.now)}`;
  let to = stamp;
  for (let n = 1; taken.has(to); n++) to = `${stamp}-${n}`;
  return [{ kind: 'rotate', from: input.logPath, to }, ...steps];
}

/** Oldest first: by timestamp, then by the `-<n>` of a rotation within the same second. */
function byAge(a: string, b: string): number {
  const [stampA, nA] = ageKey(a);
  const [stampB, nB] = ageKey(b);
  return stampA < stampB ? -1 : stampA > stampB ? 1 : nA - nB;
}

function ageKey(path: string): [string, number] {
  const match = /\.(\d{8}-\d{6})(?:-(\d+))?(?:\.gz)?$/.exec(path);
  return match === null ? [path, 0] : [match[1]!, Number(match[2] ?? 0)];
}
