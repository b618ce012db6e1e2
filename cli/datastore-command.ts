/**
 * `bosun datastore snapshot save|list|restore`: the datastore and the cluster's keys in one folder,
 * as `k3s etcd-snapshot` and `etcdctl snapshot` give them. save works on a running server (sqlite's
 * online backup, etcd's snapshot stream); restore writes a new data folder that `bosun server
 * --data-dir` starts from, and never overwrites anything.
 */
import { existsSync } from 'node:fs';
import { columnsText } from './columns.ts';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { agentCommand } from './agent-command.ts';
import { defaultConfigFile, withConfigFile } from './config/daemon-config.ts';
import { optionTableOfCommand } from './config/command-option-table.ts';
import { CliError, ExitCode } from './exit.ts';
import { listOption } from './list-flag.ts';
import { serverCommand } from './server.ts';
import { etcdClientTls } from './server-files.ts';
import { requiredPositional } from './typed-args.ts';
import { bosunVersion } from './version.ts';

const defaultDataDir = '/var/lib/bosun/server';
/** Where `bosun init` writes the at-rest key: saved with a snapshot when it is there. */
const initEncryptionConfig = '/etc/bosun/encryption-config.yaml';

interface SourceArgs {
  'data-dir': string;
  'snapshot-dir': string | undefined;
  datastore: string;
  'etcd-endpoints': string[];
  'etcd-cafile': string | undefined;
  'etcd-certfile': string | undefined;
  'etcd-keyfile': string | undefined;
  'encryption-provider-config': string | undefined;
  output: string;
}

const daemonFlags = () =>
  new Set([
    ...optionTableOfCommand(serverCommand as unknown as CommandModule<object, never>).keys(),
    ...optionTableOfCommand(agentCommand as unknown as CommandModule<object, never>).keys(),
  ]);

/** The server's flags a snapshot needs, also read from /etc/bosun/config.yaml as the server reads them. */
function sourceOptions<T>(y: Argv<T>): Argv<T & SourceArgs> {
  const withFlags = y
    .option('data-dir', { type: 'string', default: defaultDataDir, describe: "The server's data folder" })
    .option('snapshot-dir', { type: 'string', describe: 'Where snapshots are (default: <data-dir>/snapshots)' })
    .option('datastore', {
      type: 'string',
      choices: ['sqlite', 'etcd'],
      default: 'sqlite',
      describe: "The server's datastore",
    })
    .option('etcd-endpoints', listOption('etcd client URLs (with --datastore etcd)'))
    .option('etcd-cafile', { type: 'string', describe: "CA bundle that signed etcd's serving certificate" })
    .option('etcd-certfile', { type: 'string', describe: 'Client certificate for etcd' })
    .option('etcd-keyfile', { type: 'string', describe: 'Key of --etcd-certfile' })
    .option('encryption-provider-config', {
      type: 'string',
      describe: `The server's at-rest encryption config, saved with the snapshot (default: ${initEncryptionConfig} when it exists)`,
    })
    .option('output', { alias: 'o', type: 'string', choices: ['text', 'json'], default: 'text' }) as Argv<
    T & SourceArgs
  >;
  return withConfigFile(withFlags, 'config', "YAML file of flags as keys (the server's, shared)", {
    command: 'bosun datastore snapshot',
    elsewhere: daemonFlags,
    kinds: [],
    optionalPath: defaultConfigFile,
    flagsAsKeys: true,
  });
}

const snapshotDirOf = (args: SourceArgs) => args['snapshot-dir'] ?? join(args['data-dir'], 'snapshots');

function describeSnapshotError(err: unknown): never {
  if (err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('BOSUN_SNAPSHOT'))
    throw new CliError(err.message);
  throw err;
}

const save: CommandModule<object, SourceArgs & { name: string | undefined }> = {
  command: 'save',
  describe: 'Save a snapshot of the datastore and the cluster keys (works while the server runs)',
  builder: (y) =>
    sourceOptions(y).option('name', {
      type: 'string',
      describe: 'Snapshot name (default: bosun-snapshot-<host>-<unix time>)',
    }),
  handler: async (args) => {
    const { saveSnapshot } = await import('../controlplane/snapshots/save-snapshot.ts');
    const { snapshotName } = await import('../controlplane/snapshots/snapshot-catalog.ts');
    if (args.datastore === 'etcd' && args['etcd-endpoints'].length === 0)
      throw new CliError('--datastore etcd needs --etcd-endpoints', ExitCode.usage);
    const tls = etcdClientTls(args['etcd-cafile'], args['etcd-certfile'], args['etcd-keyfile']);
    const encryptionConfig =
      args['encryption-provider-config'] ?? (existsSync(initEncryptionConfig) ? initEncryptionConfig : undefined);
    if (encryptionConfig !== undefined && !existsSync(encryptionConfig))
      throw new CliError(`--encryption-provider-config ${encryptionConfig}: no such file`, ExitCode.usage);
    const meta = await saveSnapshot({
      source:
        args.datastore === 'sqlite'
          ? { datastore: 'sqlite', path: join(args['data-dir'], 'db', 'state.db') }
          : { datastore: 'etcd', endpoints: args['etcd-endpoints'], tls },
      dir: snapshotDirOf(args),
      name: args.name ?? snapshotName('bosun-snapshot', hostname(), new Date()),
      dataDir: args['data-dir'],
      encryptionConfig,
      scheduled: false,
      bosunVersion,
    }).catch(describeSnapshotError);
    if (args.output === 'json') process.stdout.write(`${JSON.stringify(meta, null, 2)}\n`);
    else {
      process.stdout.write(
        `snapshot ${meta.name} saved in ${join(snapshotDirOf(args), meta.name)} (${meta.size} bytes)\n`,
      );
      if (!meta.includes.encryptionConfig)
        process.stdout.write(
          'note: no at-rest encryption config saved; secrets encrypted at rest need its key to be read\n',
        );
    }
  },
};

const list: CommandModule<object, SourceArgs> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'List the snapshots, newest first',
  builder: (y) => sourceOptions(y),
  handler: async (args) => {
    const { listSnapshots } = await import('../controlplane/snapshots/snapshot-catalog.ts');
    const snapshots = listSnapshots(snapshotDirOf(args));
    if (args.output === 'json') {
      process.stdout.write(`${JSON.stringify(snapshots, null, 2)}\n`);
      return;
    }
    const rows = [['NAME', 'DATASTORE', 'SIZE', 'CREATED', 'SCHEDULED']];
    for (const s of snapshots) rows.push([s.name, s.datastore, String(s.size), s.createdAt, String(s.scheduled)]);
    process.stdout.write(columnsText(rows));
  },
};

interface RestoreArgs {
  snapshot: string;
  'data-dir': string;
  'snapshot-dir': string;
  'etcd-data-dir': string | undefined;
}

const restore: CommandModule<object, RestoreArgs> = {
  command: 'restore <snapshot>',
  describe: 'Restore a snapshot (a name in --snapshot-dir, or a folder) into a new data folder',
  builder: (y) =>
    requiredPositional(y, 'snapshot', { type: 'string', describe: 'The snapshot: its name, or the path of its folder' })
      .option('data-dir', {
        type: 'string',
        demandOption: true,
        describe: 'The new data folder to write (must not exist, or be empty)',
      })
      .option('snapshot-dir', {
        type: 'string',
        default: join(defaultDataDir, 'snapshots'),
        describe: 'Where snapshot names are looked up',
      })
      .option('etcd-data-dir', {
        type: 'string',
        describe: 'For an etcd snapshot: the new etcd data folder',
      }) as Argv<RestoreArgs>,
  handler: async (args) => {
    const { restoreSnapshot } = await import('../controlplane/snapshots/restore-snapshot.ts');
    const { restoreEtcdSnapshot } = await import('../host/datastore/etcd-restore-tool.ts');
    const { checkSnapshotName } = await import('../controlplane/snapshots/snapshot-catalog.ts');
    const folder = args.snapshot.includes('/')
      ? resolve(args.snapshot)
      : join(
          args['snapshot-dir'],
          (() => {
            try {
              return checkSnapshotName(args.snapshot);
            } catch (err) {
              return describeSnapshotError(err);
            }
          })(),
        );
    const result = await restoreSnapshot({
      snapshot: folder,
      dataDir: args['data-dir'],
      etcd:
        args['etcd-data-dir'] === undefined
          ? undefined
          : { dataDir: args['etcd-data-dir'], restore: restoreEtcdSnapshot },
    }).catch(describeSnapshotError);
    const lines = [`snapshot ${result.meta.name} restored into ${resolve(args['data-dir'])}`];
    if (result.meta.datastore === 'etcd')
      lines.push(
        `etcd data restored into ${resolve(args['etcd-data-dir']!)}: start etcd with --data-dir there, then the server`,
      );
    const serverFlags = [`--data-dir ${resolve(args['data-dir'])}`];
    if (result.encryptionConfig !== undefined)
      serverFlags.push(`--encryption-provider-config ${result.encryptionConfig}`);
    if (result.meta.datastore === 'etcd') serverFlags.push('--datastore etcd --etcd-endpoints <the restored etcd>');
    lines.push(`start the server from it: bosun server ${serverFlags.join(' ')}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};

export const datastoreCommand: CommandModule = {
  command: 'datastore <command>',
  describe: 'Snapshots of the datastore: save, list, restore',
  builder: (y) =>
    y
      .command({
        command: 'snapshot <command>',
        describe: 'save | list | restore',
        builder: (inner) =>
          inner
            .command(save as unknown as CommandModule)
            .command(list as unknown as CommandModule)
            .command(restore as unknown as CommandModule)
            .demandCommand(1, 'name a snapshot command: save, list or restore'),
        handler: () => {},
      })
      .demandCommand(1, 'name a datastore command: snapshot'),
  handler: () => {},
};
