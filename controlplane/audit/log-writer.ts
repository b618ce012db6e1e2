/**
 * The audit log backend (`--audit-log-path`): one JSON event per line, written asynchronously
 * from a bounded queue so a slow disk never holds a request up. When the queue is full, events
 * are dropped and counted (`apiserver_audit_error_total{plugin="log"}`, as upstream counts
 * events a backend failed to take).
 *
 * Rotation follows upstream's (lumberjack's) rules: past `maxSizeMB` the file is renamed to
 * `<name>-<UTC time>.<ext>` (`audit-2026-12-07T05-10-00.000.log`) and a new one is opened; then
 * backups beyond `maxBackups` (newest kept) and older than `maxAgeDays` are removed. 0 disables
 * each limit, as upstream's defaults do.
 */
import { mkdirSync } from 'node:fs';
import { open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { systemClock, type Clock } from '../../kube/clock.ts';

export interface AuditLogOptions {
  /** A file, or `-` for stdout. */
  readonly path: string;
  readonly maxSizeMB: number;
  readonly maxBackups: number;
  readonly maxAgeDays: number;
  /** Events held in memory while the disk catches up (upstream's buffer: 10000). */
  readonly queueLimit?: number;
  readonly clock?: Pick<Clock, 'now'>;
  /** Told once per failed write (the server logs it); the writer keeps going. */
  readonly onError?: (err: Error) => void;
}

/** `audit.log` rotated at `time` → `audit-2026-12-07T05-10-00.000.log`. */
export function backupName(path: string, time: Date): string {
  const ext = extname(path);
  const stem = basename(path, ext);
  const stamp = time.toISOString().replace(/:/g, '-').replace(/Z$/, '');
  return join(dirname(path), `${stem}-${stamp}${ext}`);
}

/** Parses a backup's time back from its name; undefined for other files. */
function backupTime(path: string, file: string): Date | undefined {
  const ext = extname(path);
  const stem = basename(path, ext);
  const match = new RegExp(
    `^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d{4}-\\d{2}-\\d{2})T(\\d{2})-(\\d{2})-(\\d{2})\\.(\\d{3})${ext.replace('.', '\\.')}$`,
  ).exec(file);
  if (!match) return undefined;
  return new Date(`${match[1]}T${match[2]}:${match[3]}:${match[4]}.${match[5]}Z`);
}

export class AuditLogWriter {
  readonly #options: AuditLogOptions;
  readonly #queue: string[] = [];
  readonly #limit: number;
  #file: FileHandle | undefined;
  #size = 0;
  #running: Promise<void> | undefined;
  #dropped = 0;
  #written = 0;
  #closed = false;
  #lastRotation = 0;

  constructor(options: AuditLogOptions) {
    this.#options = options;
    this.#limit = options.queueLimit ?? 10_000;
    if (options.path !== '-') mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
  }

  /** Queues one line; never waits. False when the queue was full and the event was dropped. */
  write(line: string): boolean {
    if (this.#closed || this.#queue.length >= this.#limit) {
      this.#dropped++;
      return false;
    }
    this.#queue.push(line.endsWith('\n') ? line : `${line}\n`);
    this.#kick();
    return true;
  }

  /** Starts the one drain loop unless it runs. */
  #kick(): void {
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
  }

  get dropped(): number {
    return this.#dropped;
  }

  get written(): number {
    return this.#written;
  }

  /** Resolves once every queued line is written. */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    await this.#file?.close();
    this.#file = undefined;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#queue.length);
      try {
        await this.#writeLines(batch);
        this.#written += batch.length;
      } catch (err) {
        this.#dropped += batch.length;
        this.#options.onError?.(err as Error);
      }
    }
  }

  async #writeLines(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    if (this.#options.path === '-') {
      await new Promise<void>((resolve, reject) =>
        process.stdout.write(lines.join(''), (err) => (err ? reject(err) : resolve())),
      );
      return;
    }
    const limit = this.#options.maxSizeMB * 1024 * 1024;
    let chunk: string[] = [];
    let chunkBytes = 0;
    for (const line of lines) {
      const bytes = Buffer.byteLength(line);
      const file = await this.#openFile();
      if (limit > 0 && this.#size + chunkBytes + bytes > limit && this.#size + chunkBytes > 0) {
        await this.#append(file, chunk, chunkBytes);
        chunk = [];
        chunkBytes = 0;
        await this.#rotate();
      }
      chunk.push(line);
      chunkBytes += bytes;
    }
    await this.#append(await this.#openFile(), chunk, chunkBytes);
  }

  async #append(file: FileHandle, chunk: readonly string[], bytes: number): Promise<void> {
    if (chunk.length === 0) return;
    await file.write(chunk.join(''));
    this.#size += bytes;
  }

  async #openFile(): Promise<FileHandle> {
    if (this.#file) return this.#file;
    this.#file = await open(this.#options.path, 'a', 0o600);
    this.#size = (await this.#file.stat()).size;
    return this.#file;
  }

  async #rotate(): Promise<void> {
    // two rotations within one millisecond must not share a backup name
    const now = new Date(Math.max((this.#options.clock ?? systemClock).now(), this.#lastRotation + 1));
    this.#lastRotation = now.getTime();
    await this.#file?.close();
    this.#file = undefined;
    await rename(this.#options.path, backupName(this.#options.path, now));
    await this.#removeOldBackups(now);
  }

  async #removeOldBackups(now: Date): Promise<void> {
    const { path, maxBackups, maxAgeDays } = this.#options;
    if (maxBackups === 0 && maxAgeDays === 0) return;
    const folder = dirname(path);
    const backups = (await readdir(folder))
      .map((file) => ({ file: join(folder, file), time: backupTime(path, file) }))
      .filter((b): b is { file: string; time: Date } => b.time !== undefined)
      .sort((a, b) => b.time.getTime() - a.time.getTime());
    const cutoff = now.getTime() - maxAgeDays * 24 * 3600 * 1000;
    const doomed = backups.filter(
      (b, i) => (maxBackups > 0 && i >= maxBackups) || (maxAgeDays > 0 && b.time.getTime() < cutoff),
    );
    await Promise.all(doomed.map((b) => unlink(b.file).catch(() => undefined)));
  }
}
