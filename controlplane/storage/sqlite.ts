/**
 * The embedded datastore: one SQLite file in WAL mode with synchronous=FULL, so a commit is on disk
 * before the write's promise resolves. Layout:
 *   kv    current value of every live key, with its create and last-modify revision;
 *   log   every change (put/delete) by revision, the history watches replay from and snapshot
 *         lists read back through (the value and modRevision a key had before each change);
 *   meta  the global revision counter and the compacted revision.
 * All statements run synchronously in this process (node:sqlite), so a commit and its publication
 * to watchers happen in one step and a watch that replays the log and then subscribes sees no gap.
 * Writes queued in the same event-loop turn share one transaction and one fsync (group commit).
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ChangeFanout } from './fanout.ts';
import { fromSqliteValue, sqliteValue } from './binary-values.ts';
import { StorageError } from '../errors.ts';
import { prefixEnd } from './prefix.ts';
import type { Change, KeyValue, ListOptions, ListResult, Storage, WatchCallbacks, WatchHandle } from './store.ts';

const schema = `
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  create_rev INTEGER NOT NULL,
  mod_rev INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log (
  rev INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  created INTEGER NOT NULL,
  value TEXT NOT NULL,
  prev_value TEXT,
  prev_mod_rev INTEGER
);
CREATE INDEX IF NOT EXISTS log_key ON log (key, rev);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('compacted', 0);
`;

interface Row {
  key: string;
  value: string | Uint8Array;
  create_rev: number;
  mod_rev: number;
}
interface LogRow {
  rev: number;
  key: string;
  deleted: number;
  created: number;
  value: string | Uint8Array;
  prev_value: string | Uint8Array | null;
}

/** The first change to a key after a snapshot's revision: what it says about the key before it. */
interface FirstChangeRow {
  key: string;
  rev: number;
  deleted: number;
  created: number;
  value: string | Uint8Array;
  prev_value: string | Uint8Array | null;
  prev_mod_rev: number | null;
}

interface PendingWrite {
  body(revision: number): { result: KeyValue; change: Change };
  resolve(kv: KeyValue): void;
  reject(err: unknown): void;
}

function toKeyValue(row: Row): KeyValue {
  return {
    key: row.key,
    value: fromSqliteValue(row.value),
    createRevision: Number(row.create_rev),
    modRevision: Number(row.mod_rev),
  };
}

export class SqliteStorage implements Storage {
  readonly backend = 'sqlite' as const;
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #fanout = new ChangeFanout();
  readonly #stmt: Record<
    | 'get'
    | 'insertKv'
    | 'updateKv'
    | 'deleteKv'
    | 'insertLog'
    | 'getMeta'
    | 'setMeta'
    | 'list'
    | 'listAfter'
    | 'countFrom'
    | 'history'
    | 'firstChangesAfter'
    | 'lastWriteAtOrBefore'
    | 'compactLog',
    StatementSync
  >;
  #closed = false;
  readonly #queue: PendingWrite[] = [];
  #flushScheduled = false;

  /** Opens (creating when missing) the database file at `path`. */
  constructor(path: string) {
    this.path = path;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;');
    this.#db.exec(schema);
    // Databases made before the log kept previous values get the column (empty for old rows).
    const columns = this.#db.prepare('PRAGMA table_info(log)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'prev_value')) this.#db.exec('ALTER TABLE log ADD COLUMN prev_value TEXT');
    // ...and before it kept the modRevision they replaced (snapshot reads fall back to the log).
    if (!columns.some((c) => c.name === 'prev_mod_rev'))
      this.#db.exec('ALTER TABLE log ADD COLUMN prev_mod_rev INTEGER');
    const p = (sql: string) => this.#db.prepare(sql);
    this.#stmt = {
      get: p('SELECT key, value, create_rev, mod_rev FROM kv WHERE key = ?'),
      insertKv: p('INSERT INTO kv (key, value, create_rev, mod_rev) VALUES (?, ?, ?, ?)'),
      updateKv: p('UPDATE kv SET value = ?, mod_rev = ? WHERE key = ?'),
      deleteKv: p('DELETE FROM kv WHERE key = ?'),
      insertLog: p(
        'INSERT INTO log (rev, key, deleted, created, value, prev_value, prev_mod_rev) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      getMeta: p('SELECT value FROM meta WHERE name = ?'),
      setMeta: p('UPDATE meta SET value = ? WHERE name = ?'),
      list: p('SELECT key, value, create_rev, mod_rev FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?'),
      listAfter: p('SELECT key, value, create_rev, mod_rev FROM kv WHERE key > ? AND key < ? ORDER BY key LIMIT ?'),
      countFrom: p('SELECT count(*) AS n FROM kv WHERE key >= ? AND key < ?'),
      // for every key changed after a revision (at or past a start key), its first change after it
      firstChangesAfter: p(
        `SELECT l.key, l.rev, l.deleted, l.created, l.value, l.prev_value, l.prev_mod_rev FROM log l
         JOIN (SELECT key, min(rev) AS rev FROM log WHERE rev > ? AND key >= ? AND key < ? GROUP BY key) f
         ON l.key = f.key AND l.rev = f.rev`,
      ),
      lastWriteAtOrBefore: p('SELECT max(rev) AS rev FROM log WHERE key = ? AND rev <= ?'),
      history: p(
        'SELECT rev, key, deleted, created, value, prev_value FROM log WHERE rev > ? AND key >= ? AND key < ? ORDER BY rev',
      ),
      compactLog: p('DELETE FROM log WHERE rev <= ?'),
    };
  }

  #meta(name: 'revision' | 'compacted'): number {
    const row = this.#stmt.getMeta.get(name) as { value: number } | undefined;
    return Number(row?.value ?? 0);
  }

  #check(): void {
    if (this.#closed) throw new StorageError('BOSUN_STORAGE_UNAVAILABLE', 'the sqlite datastore is closed');
  }

  /**
   * Queues a write; all writes queued in the same turn of the event loop commit in one transaction
   * (group commit), so one fsync serves many writers. Each write runs inside its own savepoint:
   * a write that fails (KeyExists, Conflict) is undone alone and the others still commit. Nothing is
   * resolved or published before the COMMIT returns.
   */
  #write(body: (revision: number) => { result: KeyValue; change: Change }): Promise<KeyValue> {
    return new Promise((resolve, reject) => {
      try {
        this.#check();
      } catch (err) {
        reject(err);
        return;
      }
      this.#queue.push({ body, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue.splice(0);
    if (batch.length === 0) return;
    if (this.#closed) {
      for (const op of batch)
        op.reject(new StorageError('BOSUN_STORAGE_UNAVAILABLE', 'the sqlite datastore is closed'));
      return;
    }
    const done: { op: PendingWrite; outcome: { result: KeyValue; change: Change } }[] = [];
    const failed: { op: PendingWrite; err: unknown }[] = [];
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      let revision = this.#meta('revision');
      for (const op of batch) {
        this.#db.exec('SAVEPOINT one_write');
        try {
          const outcome = op.body(revision + 1);
          revision++;
          this.#db.exec('RELEASE one_write');
          done.push({ op, outcome });
        } catch (err) {
          this.#db.exec('ROLLBACK TO one_write');
          this.#db.exec('RELEASE one_write');
          failed.push({ op, err });
        }
      }
      this.#stmt.setMeta.run(revision, 'revision');
      this.#db.exec('COMMIT');
    } catch (err) {
      try {
        this.#db.exec('ROLLBACK');
      } catch {
        // the transaction may not have started
      }
      const unavailable = new StorageError(
        'BOSUN_STORAGE_UNAVAILABLE',
        `sqlite write failed: ${(err as Error).message}`,
        { cause: err },
      );
      for (const op of batch) op.reject(unavailable);
      return;
    }
    for (const { op, outcome } of done) {
      this.#fanout.publish(outcome.change);
      op.resolve(outcome.result);
    }
    for (const { op, err } of failed) {
      op.reject(
        err instanceof StorageError
          ? err
          : new StorageError('BOSUN_STORAGE_UNAVAILABLE', `sqlite write failed: ${(err as Error).message}`, {
              cause: err,
            }),
      );
    }
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.#check();
    const row = this.#stmt.get.get(key) as Row | undefined;
    return row === undefined ? undefined : toKeyValue(row);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.#check();
    const limit = options.limit !== undefined && options.limit > 0 ? options.limit : undefined;
    const end = prefixEnd(prefix);
    const after = options.afterKey !== undefined && options.afterKey >= prefix ? options.afterKey : undefined;
    const from =
      after === undefined && options.fromKey !== undefined && options.fromKey > prefix ? options.fromKey : prefix;
    this.#db.exec('BEGIN');
    try {
      const current = this.#meta('revision');
      const at = options.atRevision;
      if (at === undefined || at === current) return this.#listCurrent(from, end, after, limit, current);
      if (at > current)
        throw new StorageError('BOSUN_STORAGE_FUTURE_REVISION', `revision ${at} is newer than the store's ${current}`);
      const compacted = this.#meta('compacted');
      if (at < compacted)
        throw new StorageError('BOSUN_STORAGE_COMPACTED', `revision ${at} is compacted (oldest ${compacted})`);
      return this.#listAt(at, from, end, after, limit);
    } finally {
      this.#db.exec('COMMIT');
    }
  }

  /** Rows from the live table: keys in [from, end) after `after` (when given), in key order. */
  #liveRows(from: string, end: string, after: string | undefined, fetch: number): KeyValue[] {
    const rows = (after !== undefined
      ? this.#stmt.listAfter.all(after, end, fetch)
      : this.#stmt.list.all(from, end, fetch)) as unknown as Row[];
    return rows.map(toKeyValue);
  }

  #countFrom(from: string, end: string): number {
    return Number((this.#stmt.countFrom.get(from, end) as { n: number }).n);
  }

  #listCurrent(
    from: string,
    end: string,
    after: string | undefined,
    limit: number | undefined,
    revision: number,
  ): ListResult {
    const rows = this.#liveRows(from, end, after, limit === undefined ? -1 : limit + 1);
    const more = limit !== undefined && rows.length > limit;
    const items = more ? rows.slice(0, limit) : rows;
    const last = items.at(-1);
    const remaining = more && last !== undefined ? this.#countFrom(`${last.key}\0`, end) : 0;
    return { items, revision, more, remaining };
  }

  /**
   * The keys as they were at revision `at`: the live rows, with every key changed after `at` put
   * back as its first later change says it was (a creation: absent; an update or a delete: the
   * value and modRevision it replaced). The live rows read are enough for a page: each changed key
   * can take at most one of them away.
   */
  #listAt(at: number, start: string, end: string, after: string | undefined, limit: number | undefined): ListResult {
    const from = after !== undefined ? `${after}\0` : start;
    const changed = this.#stmt.firstChangesAfter.all(at, from, end) as unknown as FirstChangeRow[];
    const firstChange = new Map(changed.map((row) => [row.key, row]));
    const fetch = limit === undefined ? -1 : limit + 1 + changed.length;
    const live = this.#liveRows(start, end, after, fetch);
    const unchanged = live.filter((kv) => !firstChange.has(kv.key));
    const restored = changed.flatMap((row) => {
      if (row.created) return [];
      const value = fromSqliteValue(row.deleted ? row.value : (row.prev_value ?? ''));
      const modRevision = row.prev_mod_rev !== null ? Number(row.prev_mod_rev) : this.#lastWriteAtOrBefore(row.key, at);
      return [{ key: row.key, value, createRevision: modRevision, modRevision } satisfies KeyValue];
    });
    const lastLive = live.at(-1);
    const all = [...unchanged, ...restored]
      // a restored key past the last live row read may lie beyond rows not read: leave it to the next page
      .filter((kv) => fetch < 0 || live.length < fetch || lastLive === undefined || kv.key <= lastLive.key)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const items = limit === undefined ? all : all.slice(0, limit);
    // keys at `at` from the start key on: the live ones, less those created since, plus those gone since
    const createdSince = changed.filter((row) => row.created && this.#isLive(row.key)).length;
    const goneSince = changed.filter((row) => !row.created && !this.#isLive(row.key)).length;
    const total = this.#countFrom(from, end) - createdSince + goneSince;
    const remaining = Math.max(0, total - items.length);
    return { items, revision: at, more: remaining > 0, remaining };
  }

  #isLive(key: string): boolean {
    return this.#stmt.get.get(key) !== undefined;
  }

  /** Where the log no longer says (rows older than the column): the key's last write at or before `at`. */
  #lastWriteAtOrBefore(key: string, at: number): number {
    const row = this.#stmt.lastWriteAtOrBefore.get(key, at) as { rev: number | null } | undefined;
    return row?.rev !== null && row?.rev !== undefined ? Number(row.rev) : this.#meta('compacted');
  }

  create(key: string, value: string): Promise<KeyValue> {
    return this.#write((revision) => {
      if (this.#stmt.get.get(key) !== undefined)
        throw new StorageError('BOSUN_STORAGE_KEY_EXISTS', `${key} already exists`);
      this.#stmt.insertKv.run(key, sqliteValue(value), revision, revision);
      this.#stmt.insertLog.run(revision, key, 0, 1, sqliteValue(value), null, null);
      return {
        result: { key, value, createRevision: revision, modRevision: revision },
        change: { type: 'put', key, value, revision, created: true },
      };
    });
  }

  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.#write((revision) => {
      const row = this.#stmt.get.get(key) as Row | undefined;
      if (row === undefined) throw new StorageError('BOSUN_STORAGE_NOT_FOUND', `${key} not found`);
      if (Number(row.mod_rev) !== expectedModRevision) {
        throw new StorageError(
          'BOSUN_STORAGE_CONFLICT',
          `${key} is at revision ${row.mod_rev}, not ${expectedModRevision}`,
        );
      }
      this.#stmt.updateKv.run(sqliteValue(value), revision, key);
      this.#stmt.insertLog.run(revision, key, 0, 0, sqliteValue(value), row.value, row.mod_rev);
      return {
        result: { key, value, createRevision: Number(row.create_rev), modRevision: revision },
        change: { type: 'put', key, value, revision, created: false, prevValue: fromSqliteValue(row.value) },
      };
    });
  }

  delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.#write((revision) => {
      const row = this.#stmt.get.get(key) as Row | undefined;
      if (row === undefined) throw new StorageError('BOSUN_STORAGE_NOT_FOUND', `${key} not found`);
      if (expectedModRevision !== undefined && Number(row.mod_rev) !== expectedModRevision) {
        throw new StorageError(
          'BOSUN_STORAGE_CONFLICT',
          `${key} is at revision ${row.mod_rev}, not ${expectedModRevision}`,
        );
      }
      this.#stmt.deleteKv.run(key);
      this.#stmt.insertLog.run(revision, key, 1, 0, row.value, null, row.mod_rev);
      const value = fromSqliteValue(row.value);
      return {
        result: { key, value, createRevision: Number(row.create_rev), modRevision: revision },
        change: { type: 'delete', key, value, revision, created: false },
      };
    });
  }

  async watch(prefix: string, fromRevision: number, callbacks: WatchCallbacks): Promise<WatchHandle> {
    this.#check();
    const compacted = this.#meta('compacted');
    if (fromRevision < compacted) {
      throw new StorageError('BOSUN_STORAGE_COMPACTED', `revision ${fromRevision} is compacted (oldest ${compacted})`);
    }
    const backlog = (this.#stmt.history.all(fromRevision, prefix, prefixEnd(prefix)) as unknown as LogRow[]).map(
      (row): Change => ({
        type: row.deleted ? 'delete' : 'put',
        key: row.key,
        value: fromSqliteValue(row.value),
        revision: Number(row.rev),
        created: Boolean(row.created),
        ...(row.prev_value !== null ? { prevValue: fromSqliteValue(row.prev_value) } : {}),
      }),
    );
    // Reading the backlog and subscribing happen in one synchronous step: no write can slip between.
    return this.#fanout.subscribe(prefix, callbacks, backlog);
  }

  async compact(revision: number): Promise<void> {
    this.#check();
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const target = Math.min(revision, this.#meta('revision'));
      if (target > this.#meta('compacted')) {
        this.#stmt.compactLog.run(target);
        this.#stmt.setMeta.run(target, 'compacted');
      }
      this.#db.exec('COMMIT');
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw new StorageError('BOSUN_STORAGE_UNAVAILABLE', `sqlite compaction failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async currentRevision(): Promise<number> {
    this.#check();
    return this.#meta('revision');
  }

  /**
   * Commits publish to watchers synchronously and delivery runs in microtasks, so by the time any
   * timer callback runs, every committed change has reached every watcher.
   */
  deliveredRevision(): number {
    return this.#closed ? 0 : this.#meta('revision');
  }

  async compactedRevision(): Promise<number> {
    this.#check();
    return this.#meta('compacted');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Writes already queued still commit: their callers are waiting for an answer.
    this.#flush();
    this.#closed = true;
    this.#fanout.failAll(new StorageError('BOSUN_STORAGE_UNAVAILABLE', 'the datastore closed'));
    this.#db.close();
  }
}
