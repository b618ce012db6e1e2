/**
 * install.sh for a cluster of two servers, as an operator runs it, in its no-systemd mode on two
 * "machines" of a test bed (network namespaces, every folder under the test's state folder): an
 * etcd (TLS, client certificates) runs on the first machine; `install.sh` with BOSUN_DATASTORE_ARGS
 * makes the first server on it; `bosun token create --control-plane --print-join-command` there
 * gives the line that `install.sh server-join` runs on the second machine, which then serves the
 * same cluster (same CA, a Secret written through the first read through the second) and joins its
 * own agent through its own server. Both are uninstalled after.
 */
import test from 'ava';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../controlplane/pki/certificates.ts';
import { createBed, type Bed, type BedNode } from '../bed/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { controlPlaneTokenCommand } from '../helpers/control-plane-token.ts';
import { installShOn, installShWith, machineKubectl, repo } from './install-sh-runner.ts';

let bed: Bed;
let first: BedNode;
let second: BedNode;
let firstRoot: string;
let secondRoot: string;
let etcdFlags: string[] = [];

test.before(async () => {
  bed = await createBed({ nodes: 2, images: [], podNetwork: 'agents' });
  first = bed.nodes[0]!;
  second = bed.nodes[1]!;
  firstRoot = join(bed.stateDir, 'machine-1');
  secondRoot = join(bed.stateDir, 'machine-2');
  const pki = join(bed.stateDir, 'etcd-pki');
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  const ca = createCertificateAuthority('install-test-etcd-ca');
  const serving = issueCertificate(ca, { commonName: 'etcd', ipAddresses: [first.ip, '127.0.0.1'], usage: 'both' });
  const client = issueCertificate(ca, { commonName: 'bosun-server', usage: 'client' });
  const files = Object.fromEntries(
    Object.entries({
      'ca.crt': ca.cert,
      'server.crt': serving.cert,
      'server.key': serving.key,
      'client.crt': client.cert,
      'client.key': client.key,
    }).map(([name, text]) => {
      writeFileSync(join(pki, name), text, { mode: 0o600 });
      return [name, join(pki, name)];
    }),
  );
  const endpoint = `https://${first.ip}:2379`;
  first.spawn([
    '/usr/bin/etcd',
    '--name',
    'install-test',
    '--data-dir',
    join(bed.stateDir, 'etcd-data'),
    '--listen-client-urls',
    endpoint,
    '--advertise-client-urls',
    endpoint,
    '--listen-peer-urls',
    'http://127.0.0.1:2380',
    '--initial-advertise-peer-urls',
    'http://127.0.0.1:2380',
    '--initial-cluster',
    'install-test=http://127.0.0.1:2380',
    '--cert-file',
    files['server.crt']!,
    '--key-file',
    files['server.key']!,
    '--trusted-ca-file',
    files['ca.crt']!,
    '--client-cert-auth',
    '--log-level',
    'error',
  ]);
  etcdFlags = [
    '--etcd-endpoints',
    endpoint,
    '--etcd-cafile',
    files['ca.crt']!,
    '--etcd-certfile',
    files['client.crt']!,
    '--etcd-keyfile',
    files['client.key']!,
  ];
});

test.after.always(async () => {
  for (const [machine, folder, name] of [
    [second, secondRoot, 'second'],
    [first, firstRoot, 'first'],
  ] as const) {
    if (folder !== undefined && existsSync(join(folder, 'opt', 'bosun', 'bin', 'bosun')))
      await installShOn(machine, folder, name, 'uninstall').catch(() => undefined);
  }
  await bed?.destroy();
});

test.serial('install.sh on etcd, then install.sh server-join: a second server of the same cluster', async (t) => {
  const installed = await installShWith(
    { BOSUN_DATASTORE_ARGS: ['--datastore', 'etcd', ...etcdFlags].join(' ') },
    repo,
    first,
    firstRoot,
    'first',
  );
  t.is(installed.code, 0, `${installed.stdout}\n${installed.stderr}`);
  t.regex(installed.stdout, /Add API servers/);
  const bosun = join(firstRoot, 'opt', 'bosun', 'bin', 'bosun');
  const created = await first.run(
    controlPlaneTokenCommand(bosun, {
      kubeconfig: join(firstRoot, 'etc', 'bosun', 'admin.kubeconfig'),
      dataDir: join(firstRoot, 'var', 'lib', 'bosun', 'server'),
      encryptionConfig: join(firstRoot, 'etc', 'bosun', 'encryption-config.yaml'),
    }),
    { timeoutMs: 60_000 },
  );
  t.is(created.code, 0, created.stderr);
  const line = created.stdout.trim().split(/\s+/);
  t.deepEqual(line.slice(0, 3), ['bosun', 'server', 'join']);

  const joined = await installShWith(
    {},
    repo,
    second,
    secondRoot,
    'second',
    'server-join',
    ...line.slice(3),
    ...etcdFlags,
  );
  t.is(joined.code, 0, `${joined.stdout}\n${joined.stderr}`);
  t.regex(joined.stdout, /this machine serves the cluster's API, and node second is Ready/);

  const pkiOf = (root: string) => readFileSync(join(root, 'var', 'lib', 'bosun', 'server', 'pki', 'ca.crt'), 'utf8');
  t.is(pkiOf(secondRoot), pkiOf(firstRoot), 'the same cluster CA');
  const wrote = await machineKubectl(first, firstRoot, [
    'create',
    'secret',
    'generic',
    'shared',
    '--from-literal=word=through-the-first',
  ]);
  t.is(wrote.code, 0, wrote.stderr);
  const read = await machineKubectl(second, secondRoot, ['get', 'secret', 'shared', '-o', 'jsonpath={.data.word}']);
  t.is(Buffer.from(read.stdout, 'base64').toString(), 'through-the-first', read.stderr);
  // the second machine's kubeconfig names its own server
  t.regex(
    readFileSync(join(secondRoot, 'etc', 'bosun', 'admin.kubeconfig'), 'utf8'),
    new RegExp(`https://${second.ip.replaceAll('.', '\\.')}:6443`),
  );
  const nodes = await waitFor(
    async () => {
      const out = await machineKubectl(second, secondRoot, [
        'get',
        'nodes',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}',
      ]);
      return /first=True/.test(out.stdout) && /second=True/.test(out.stdout) ? out.stdout : undefined;
    },
    { what: 'both machines Ready, seen through the second server', timeoutMs: 60_000, intervalMs: 500 },
  );
  t.regex(nodes, /second=True/);
});
