import test from 'ava';
import { datastoreServerFlags, etcdServerFlags, type EtcdArgs } from '../../cli/etcd-flags.ts';
import { CliError, ExitCode } from '../../cli/exit.ts';

const none: EtcdArgs = {
  'etcd-endpoints': [],
  'etcd-cafile': undefined,
  'etcd-certfile': undefined,
  'etcd-keyfile': undefined,
};

test('etcd: the endpoints joined, the TLS files passed on as the server names them', (t) => {
  t.deepEqual(
    etcdServerFlags(
      {
        'etcd-endpoints': ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'],
        'etcd-cafile': '/etc/etcd/ca.crt',
        'etcd-certfile': '/etc/etcd/client.crt',
        'etcd-keyfile': '/etc/etcd/client.key',
      },
      'why',
    ),
    [
      '--datastore',
      'etcd',
      '--etcd-endpoints',
      'https://10.0.0.1:2379,https://10.0.0.2:2379',
      '--etcd-cafile',
      '/etc/etcd/ca.crt',
      '--etcd-certfile',
      '/etc/etcd/client.crt',
      '--etcd-keyfile',
      '/etc/etcd/client.key',
    ],
  );
});

test('bosun init: etcd without endpoints, or endpoints without etcd, is a usage error', (t) => {
  const cases: ['sqlite' | 'etcd', EtcdArgs, RegExp][] = [
    ['etcd', none, /--datastore etcd needs the etcd client URLs/],
    ['sqlite', { ...none, 'etcd-endpoints': ['https://10.0.0.1:2379'] }, /goes with --datastore etcd/],
  ];
  for (const [datastore, args, message] of cases) {
    const error = t.throws(() => datastoreServerFlags(datastore, args));
    t.true(error instanceof CliError && error.exitCode === ExitCode.usage);
    t.regex(error?.message ?? '', message);
  }
  t.deepEqual(datastoreServerFlags('sqlite', none), []);
});
