/**
 * Container log files in the CRI format that containerd writes:
 *   2026-11-22T01:03:21.123456789Z stdout F the whole line
 *   2026-11-22T01:03:21.123456789Z stderr P the first part of a long line
 * (time, stream, tag, message; tag P = partial, the line continues in the next record of the same
 * stream; F = the line ends here). Reading joins partial records into whole lines; following
 * survives rotation (the file renamed away and a new one created at the same path) and
 * truncation.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

type LogStream = 'stdout' | 'stderr';

interface LogRecord {
  /** The timestamp as written (RFC 3339 with nanoseconds). */
  time: string;
  /** Milliseconds since the epoch, for --since. */
  timeMs: number;
  stream: LogStream;
  partial: boolean;
  message: string;
}

/** One record, or undefined for a line that is not in the CRI format. */
export function parseLogRecord(line: string): LogRecord | undefined {
  const firstSpace = line.indexOf(' ');
  const secondSpace = line.indexOf(' ', firstSpace + 1);
  if (firstSpace <= 0 || secondSpace <= 0) return undefined;
  const time = line.slice(0, firstSpace);
  const stream = line.slice(firstSpace + 1, secondSpace);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const thirdSpace = line.indexOf(' ', secondSpace + 1);
  const tags = thirdSpace === -1 ? line.slice(secondSpace + 1) : line.slice(secondSpace + 1, thirdSpace);
  const message = thirdSpace === -1 ? '' : line.slice(thirdSpace + 1);
  const timeMs = Date.parse(time);
  if (Number.isNaN(timeMs)) return undefined;
  return { time, timeMs, stream, partial: tags.split(':')[0] === 'P', message };
}

/** Joins partial records per stream; a whole line carries the time of its first part. */
export class LineJoiner {
  readonly #pending = new Map<LogStream, LogRecord>();

  /** Returns the completed line, if this record completes one. */
  push(record: LogRecord): LogRecord | undefined {
    const pending = this.#pending.get(record.stream);
    const joined = pending
      ? { ...pending, message: pending.message + record.message, partial: record.partial }
      : record;
    if (record.partial) {
      this.#pending.set(record.stream, joined);
      return undefined;
    }
    this.#pending.delete(record.stream);
    return joined;
  }
}

/** Whole lines of a log text (records that fail to parse are skipped, as the kubelet does). */
export function wholeLines(text: string): LogRecord[] {
  const joiner = new LineJoiner();
  const lines: LogRecord[] = [];
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    const record = parseLogRecord(raw);
    if (!record) continue;
    const line = joiner.push(record);
    if (line) lines.push(line);
  }
  return lines;
}

/** '30s', '5m', '2h', '1h30m' or an RFC 3339 time -> the earliest time to show, in ms. */
export function parseSince(text: string, nowMs: number): number | undefined {
  const duration = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (duration && text !== '') {
    const [, h = '0', m = '0', s = '0'] = duration;
    return nowMs - (Number(h) * 3600 + Number(m) * 60 + Number(s)) * 1000;
  }
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : time;
}

interface LogSink {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

interface ReadLogOptions {
  /** Only the last N lines (undefined or negative: all). */
  tail?: number | undefined;
  /** Only lines at or after this time (ms since the epoch). */
  sinceMs?: number | undefined;
  timestamps?: boolean | undefined;
  follow?: boolean | undefined;
  /** While following: false ends the follow once the file is drained (the container stopped). */
  stillWriting?: (() => Promise<boolean>) | undefined;
  signal?: AbortSignal | undefined;
  /** How often to look for new lines while following (default 100 ms). */
  pollMs?: number | undefined;
  /** Awaited after each chunk read, so a slow reader (a network client) holds the file reading back. */
  drain?: (() => Promise<void>) | undefined;
}

function emit(sink: LogSink, line: LogRecord, options: ReadLogOptions): void {
  if (options.sinceMs !== undefined && line.timeMs < options.sinceMs) return;
  const text = options.timestamps ? `${line.time} ${line.message}\n` : `${line.message}\n`;
  sink[line.stream].write(text);
}

/** Prints a log file's lines; with follow, keeps printing new ones until stopped. */
export async function readLog(path: string, sink: LogSink, options: ReadLogOptions = {}): Promise<void> {
  let handle: FileHandle = await open(path, 'r');
  let inode = (await handle.stat()).ino;
  const joiner = new LineJoiner();
  let carry = '';
  let offset = 0;

  // Without a tail, lines go out as they are read: a large file is never held in memory.
  const streaming = options.tail === undefined || options.tail < 0;
  const readNew = async (): Promise<LogRecord[]> => {
    const lines: LogRecord[] = [];
    while (!options.signal?.aborted) {
      const buffer = Buffer.allocUnsafe(64 * 1024);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      const text = carry + buffer.subarray(0, bytesRead).toString('utf8');
      const end = text.lastIndexOf('\n');
      carry = end === -1 ? text : text.slice(end + 1);
      if (end === -1) continue;
      for (const raw of text.slice(0, end).split('\n')) {
        const record = raw === '' ? undefined : parseLogRecord(raw);
        const line = record && joiner.push(record);
        if (line) {
          if (streaming) emit(sink, line, options);
          else lines.push(line);
        }
      }
      if (streaming && options.drain) await options.drain();
    }
    return lines;
  };

  try {
    let first = await readNew();
    if (options.tail !== undefined && options.tail >= 0) first = first.slice(Math.max(0, first.length - options.tail));
    for (const line of first) emit(sink, line, options);
    if (!options.follow) return;

    const pollMs = options.pollMs ?? 100;
    let lastLivenessCheck = Date.now();
    while (!options.signal?.aborted) {
      for (const line of await readNew()) emit(sink, line, options);
      // Rotation: the path now names a new file. Finish the old one, then continue with the new.
      const current = await stat(path).catch(() => undefined);
      if (current && current.ino !== inode) {
        for (const line of await readNew()) emit(sink, line, options);
        await handle.close();
        handle = await open(path, 'r');
        inode = current.ino;
        offset = 0;
        carry = '';
        continue;
      }
      if (current && current.size < offset) {
        offset = 0; // truncated in place
        carry = '';
      }
      if (options.stillWriting && Date.now() - lastLivenessCheck >= 1000) {
        lastLivenessCheck = Date.now();
        if (!(await options.stillWriting())) {
          for (const line of await readNew()) emit(sink, line, options);
          return;
        }
      }
      await sleep(pollMs, undefined, { signal: options.signal }).catch(() => undefined);
    }
  } finally {
    await handle.close();
  }
}
