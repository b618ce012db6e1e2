import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage } from '../../../controlplane/storage/sqlite.ts';
import { storageSuite } from '../storage-suite.ts';

const dir = mkdtempSync(join(tmpdir(), `bosun-sqlite-${process.pid}-`));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

storageSuite(test, 'sqlite', { open: async () => new SqliteStorage(join(dir, 'state.db')) });
