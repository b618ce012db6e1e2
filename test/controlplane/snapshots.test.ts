/**
 * `bosun datastore snapshot save|list|restore` and the server's scheduled snapshots, on real
 * servers: sqlite (online backup while the server runs, secrets encrypted at rest and read again
 * after a restore, the same CA) and etcd (etcd's snapshot stream, restored by etcdctl into a new etcd
 * that a new server serves). Refusals leave everything as it was.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptionConfigYaml } from '../../host/init/at-rest-encryption.ts';
import { snapshotsToPrune, type SnapshotMeta } from '../../controlplane/snapshots/snapshot-catalog.ts';
import { adminIdentity, call, startServerProcess, type ServerProcess } from './server-process.ts';
import { startEtcd } from './etcd-process.ts';
import { waitFor } from './ports.ts';
import { run } from '../helpers/run.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
const scratch = mkdtempSync(join(tmpdir(), `bosun-snapshots-${process.pid}-`));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

const admin = (server: ServerProcess) => adminIdentity(server.dataDir);

async function create(server: ServerProcess, path: string, body: object): Promise<void> {
  const reply = await call(server, 'POST', path, admin(server), body);
  if (reply.status !== 201) throw new Error(`POST ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
}

async function snapshotCli(args: string[]) {
  return run([bosun, 'datastore', 'snapshot', ...args], { timeoutMs: 120_000 });
}

test('sqlite: a snapshot of a running server restores into a new folder with its objects, secrets and CA', async (t) => {
  const encryption = join(scratch, 'encryption-config.yaml');
  writeFileSync(encryption, encryptionConfigYaml(randomBytes(32)), { mode: 0o600 });
  const dataDir = join(scratch, 'sqlite-server');
  const server = await startServerProcess({
    datastore: 'sqlite',
    dataDir,
    serverArgs: ['--encryption-provider-config', encryption],
  });
  t.teardown(() => server.destroy());
  await create(server, '/api/v1/namespaces/default/configmaps', {
    metadata: { name: 'kept' },
    data: { answer: '42' },
  });
  await create(server, '/api/v1/namespaces/default/secrets', {
    metadata: { name: 'token' },
    stringData: { password: 'hunter2' },
  });

  const saved = await snapshotCli([
    'save',
    '--data-dir',
    dataDir,
    '--encryption-provider-config',
    encryption,
    '--name',
    'first',
    '-o',
    'json',
  ]);
  t.is(saved.code, 0, saved.stderr);
  const meta = JSON.parse(saved.stdout) as SnapshotMeta;
  t.like(meta, {
    name: 'first',
    datastore: 'sqlite',
    scheduled: false,
    includes: { pki: true, encryptionConfig: true },
  });
  t.true(meta.size > 0);
  const again = await snapshotCli(['save', '--data-dir', dataDir, '--name', 'first']);
  t.is(again.code, 1);
  t.regex(again.stderr, /snapshot first exists in .*; pick another --name/);
  const listed = await snapshotCli(['list', '--data-dir', dataDir]);
  t.regex(listed.stdout, /^NAME\s+DATASTORE\s+SIZE\s+CREATED\s+SCHEDULED\nfirst\s+sqlite\s+\d+\s+\S+\s+false\n$/);

  // written after the snapshot: must not come back
  await create(server, '/api/v1/namespaces/default/configmaps', { metadata: { name: 'later' } });

  const refused = await snapshotCli([
    'restore',
    'first',
    '--snapshot-dir',
    join(dataDir, 'snapshots'),
    '--data-dir',
    dataDir,
  ]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /data folder .* is not empty; restore into a new folder \(nothing was changed\)/);
  const badName = await snapshotCli(['restore', '../../etc', '--data-dir', join(scratch, 'never')]);
  t.is(badName.code, 1);
  t.false(existsSync(join(scratch, 'never')));
  const unknown = await snapshotCli([
    'restore',
    'nope',
    '--snapshot-dir',
    join(dataDir, 'snapshots'),
    '--data-dir',
    join(scratch, 'never'),
  ]);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /is not a bosun snapshot \(no readable snapshot\.json\)/);
  t.false(existsSync(join(scratch, 'never')));

  const restoredDir = join(scratch, 'sqlite-restored');
  const restored = await snapshotCli([
    'restore',
    'first',
    '--snapshot-dir',
    join(dataDir, 'snapshots'),
    '--data-dir',
    restoredDir,
  ]);
  t.is(restored.code, 0, restored.stderr);
  t.regex(
    restored.stdout,
    /start the server from it: bosun server --data-dir \S+ --encryption-provider-config \S+encryption-config\.yaml/,
  );
  t.deepEqual(
    readdirSync(scratch).filter((name) => name.includes('.restoring-')),
    [],
    'no staging folder left',
  );

  const second = await startServerProcess({
    datastore: 'sqlite',
    dataDir: restoredDir,
    serverArgs: ['--encryption-provider-config', join(restoredDir, 'encryption-config.yaml')],
  });
  t.teardown(() => second.destroy());
  t.is(readFileSync(join(restoredDir, 'pki', 'ca.crt'), 'utf8'), readFileSync(join(dataDir, 'pki', 'ca.crt'), 'utf8'));
  const kept = await call(second, 'GET', '/api/v1/namespaces/default/configmaps/kept', admin(second));
  t.is(kept.status, 200);
  t.deepEqual(kept.body.data, { answer: '42' });
  const secret = await call(second, 'GET', '/api/v1/namespaces/default/secrets/token', admin(second));
  t.is(secret.status, 200, 'a secret encrypted at rest is read with the restored key');
  t.is(Buffer.from(secret.body.data.password, 'base64').toString(), 'hunter2');
  t.is((await call(second, 'GET', '/api/v1/namespaces/default/configmaps/later', admin(second))).status, 404);
});

/** What the etcd scenario's first step leaves for the second: the restored folders. */
const etcdRestored = {
  etcdDataDir: join(scratch, 'etcd-restored-data'),
  dataDir: join(scratch, 'etcd-server-restored'),
};

test.serial(
  "etcd: a snapshot taken through etcd's snapshot stream is restored by etcd into a new data folder",
  async (t) => {
    const etcd = await startEtcd();
    t.teardown(() => etcd.destroy());
    const dataDir = join(scratch, 'etcd-server');
    const server = await startServerProcess({ datastore: 'etcd', etcd, dataDir });
    t.teardown(() => server.destroy());
    await create(server, '/api/v1/namespaces', { metadata: { name: 'from-etcd' } });

    const flags = etcd.serverFlags;
    const saved = await snapshotCli([
      'save',
      '--data-dir',
      dataDir,
      '--datastore',
      'etcd',
      ...flags,
      '--name',
      'etcd-one',
      '-o',
      'json',
    ]);
    t.is(saved.code, 0, saved.stderr);
    t.is((JSON.parse(saved.stdout) as SnapshotMeta).datastore, 'etcd');

    const noEtcdDir = await snapshotCli([
      'restore',
      'etcd-one',
      '--snapshot-dir',
      join(dataDir, 'snapshots'),
      '--data-dir',
      join(scratch, 'x'),
    ]);
    t.is(noEtcdDir.code, 1);
    t.regex(noEtcdDir.stderr, /is of an etcd datastore: name the new etcd data folder with --etcd-data-dir/);
    t.false(existsSync(join(scratch, 'x')));

    const restored = await snapshotCli([
      'restore',
      join(dataDir, 'snapshots', 'etcd-one'),
      '--data-dir',
      etcdRestored.dataDir,
      '--etcd-data-dir',
      etcdRestored.etcdDataDir,
    ]);
    t.is(restored.code, 0, restored.stderr);
    t.true(existsSync(join(etcdRestored.etcdDataDir, 'member')), "etcd's own restore made a member folder");
  },
);

test.serial("etcd: a new etcd on the restored folder, and a server on it, serve the snapshot's objects", async (t) => {
  if (!existsSync(join(etcdRestored.etcdDataDir, 'member'))) return t.fail('the restore step before this one failed');
  const etcd2 = await startEtcd({ dataDir: etcdRestored.etcdDataDir });
  t.teardown(() => etcd2.destroy());
  const second = await startServerProcess({ datastore: 'etcd', etcd: etcd2, dataDir: etcdRestored.dataDir });
  t.teardown(() => second.destroy());
  t.is((await call(second, 'GET', '/api/v1/namespaces/from-etcd', admin(second))).status, 200);
});

test('scheduled snapshots: taken on the cron schedule, the oldest scheduled ones pruned, ones taken by hand kept', async (t) => {
  const dataDir = join(scratch, 'scheduled');
  mkdirSync(dataDir, { recursive: true });
  const server = await startServerProcess({
    datastore: 'sqlite',
    dataDir,
    serverArgs: ['--snapshot-cron', '* * * * * *', '--snapshot-retention', '2'],
  });
  t.teardown(() => server.destroy());
  const byHand = await snapshotCli(['save', '--data-dir', dataDir, '--name', 'by-hand']);
  t.is(byHand.code, 0, byHand.stderr);
  await waitFor(
    'the server to prune its scheduled snapshots down to 2 after taking more',
    () => /old scheduled snapshot removed/.test(server.output()),
    30_000,
  );
  const listed = JSON.parse(
    (await snapshotCli(['list', '--data-dir', dataDir, '-o', 'json'])).stdout,
  ) as SnapshotMeta[];
  t.true(listed.some((s) => s.name === 'by-hand' && !s.scheduled));
  t.true(listed.filter((s) => s.scheduled).length <= 3, 'at most the retention, and one taken since the prune');
  t.true(listed.filter((s) => s.scheduled).every((s) => /^bosun-snapshot-/.test(s.name)));
});

test('pruning keeps the newest scheduled snapshots and never those taken by hand', (t) => {
  const snap = (name: string, scheduled: boolean, createdAt: string) =>
    ({ name, scheduled, createdAt }) as SnapshotMeta;
  const newestFirst = [
    snap('s4', true, '2026-01-04'),
    snap('hand', false, '2026-01-03'),
    snap('s3', true, '2026-01-03'),
    snap('s2', true, '2026-01-02'),
    snap('s1', true, '2026-01-01'),
  ];
  t.deepEqual(
    snapshotsToPrune(newestFirst, 2).map((s) => s.name),
    ['s2', 's1'],
  );
});

test('a bad --snapshot-cron or retention stops the server before it starts, in one line', async (t) => {
  const cron = await run([
    bosun,
    'server',
    '--snapshot-cron',
    'every day',
    '--data-dir',
    join(scratch, 'never-server'),
  ]);
  t.is(cron.code, 2);
  t.regex(cron.stderr, /^bosun: --snapshot-cron "every day": /);
  const retention = await run([
    bosun,
    'server',
    '--snapshot-retention',
    '0',
    '--data-dir',
    join(scratch, 'never-server'),
  ]);
  t.is(retention.code, 2);
  t.regex(retention.stderr, /--snapshot-retention 0 must be a whole number of at least 1/);
  t.false(existsSync(join(scratch, 'never-server')));
});
