/**
 * The etcd flags that `bosun init` and `bosun server join` pass on to `bosun server`: the same
 * names and meanings as the server's own.
 */
import { CliError, ExitCode } from './exit.ts';
import { listOption } from './list-flag.ts';

export const etcdOptions = {
  'etcd-endpoints': listOption('etcd client URLs'),
  'etcd-cafile': { type: 'string', describe: "CA bundle that signed etcd's serving certificate" },
  'etcd-certfile': { type: 'string', describe: 'Client certificate for etcd' },
  'etcd-keyfile': { type: 'string', describe: 'Key of --etcd-certfile' },
} as const;

export interface EtcdArgs {
  'etcd-endpoints': string[];
  'etcd-cafile': string | undefined;
  'etcd-certfile': string | undefined;
  'etcd-keyfile': string | undefined;
}

/** `--datastore etcd --etcd-endpoints … [--etcd-cafile …]` for bosun server; `why` says what needs them. */
export function etcdServerFlags(args: EtcdArgs, why: string): string[] {
  if (args['etcd-endpoints'].length === 0) throw new CliError(`--etcd-endpoints: ${why}`, ExitCode.usage);
  const files = (['etcd-cafile', 'etcd-certfile', 'etcd-keyfile'] as const).flatMap((flag) =>
    args[flag] === undefined ? [] : [`--${flag}`, String(args[flag])],
  );
  return ['--datastore', 'etcd', '--etcd-endpoints', args['etcd-endpoints'].join(','), ...files];
}

/** `bosun init`'s datastore flags for its server: none for sqlite (etcd flags refused), etcd's with its endpoints. */
export function datastoreServerFlags(datastore: 'sqlite' | 'etcd', args: EtcdArgs): string[] {
  if (datastore === 'etcd') return etcdServerFlags(args, '--datastore etcd needs the etcd client URLs');
  if (args['etcd-endpoints'].length > 0)
    throw new CliError('--etcd-endpoints goes with --datastore etcd', ExitCode.usage);
  return [];
}
