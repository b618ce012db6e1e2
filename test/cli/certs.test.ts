/**
 * `bosun certs check-expiration` and `bosun certs renew`, run as the real bin/bosun against data
 * folders this test made (never the machine's /etc/bosun or /var/lib/bosun), and a running server
 * that puts certificates renewed by the command to use without a restart.
 */
import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureClusterPki } from '../../controlplane/pki/cluster-pki.ts';
import { keyMatchesCertificate } from '../../kube/key-pair-files.ts';
import { loadKubeconfig } from '../../kube/kubeconfig.ts';
import { startInProcess, type InProcessServer } from '../controlplane/in-process.ts';
import { waitFor } from '../controlplane/ports.ts';
import { run } from '../helpers/run.ts';

const bosun = join(import.meta.dirname, '..', '..', 'bin', 'bosun');
const scratch = mkdtempSync(join(tmpdir(), `bosun-certs-${process.pid}-`));
let server: InProcessServer | undefined;
test.after.always(async () => {
  await server?.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

const dayMs = 24 * 3600 * 1000;
const pkiOptions = (dataDir: string) => ({
  dataDir,
  serverNames: ['10.0.0.5', 'cp-1'],
  serverUrl: 'https://10.0.0.5:6443',
  serviceIP: '10.96.0.1',
});
const pem = (dataDir: string, file: string) => readFileSync(join(dataDir, 'pki', file), 'utf8');
const serial = (certPem: string) => new X509Certificate(certPem).serialNumber;
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** Go's "Jan 02, 2006 15:04 MST" in UTC, written out here again to check the command's. */
function expires(certPem: string): string {
  const d = new Date(new X509Certificate(certPem).validTo);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${months[d.getUTCMonth()]} ${p(d.getUTCDate())}, ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC`;
}

test('check-expiration prints both tables as kubeadm does; a missing certificate and a CA without its key are named', async (t) => {
  const dataDir = join(scratch, 'check');
  ensureClusterPki({ ...pkiOptions(dataDir), lifetimeMs: 90 * dayMs });
  const result = await run([bosun, 'certs', 'check-expiration', '--data-dir', dataDir]);
  t.is(result.code, 0, result.stderr);
  const leaf = expires(pem(dataDir, 'admin.crt'));
  t.is(
    result.stdout,
    [
      'CERTIFICATE                EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED',
      `admin.kubeconfig           ${leaf}   89d             ca                      no`,
      `apiserver                  ${expires(pem(dataDir, 'apiserver.crt'))}   89d             ca                      no`,
      `apiserver-kubelet-client   ${expires(pem(dataDir, 'apiserver-kubelet-client.crt'))}   89d             ca                      no`,
      '',
      'CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED',
      `ca                      ${expires(pem(dataDir, 'ca.crt'))}   9y              no`,
      '',
    ].join('\n'),
  );

  const json = await run([bosun, 'certs', 'check-expiration', '--data-dir', dataDir, '-o', 'json']);
  t.is(json.code, 0, json.stderr);
  const document = JSON.parse(json.stdout) as {
    certificates: { name: string; expirationDate: string; residualSeconds: number }[];
    certificateAuthorities: { name: string }[];
  };
  t.deepEqual(
    document.certificates.map((c) => c.name),
    ['admin.kubeconfig', 'apiserver', 'apiserver-kubelet-client'],
  );
  t.is(
    Date.parse(document.certificates[0]!.expirationDate),
    Date.parse(new X509Certificate(pem(dataDir, 'admin.crt')).validTo),
  );
  t.true(document.certificates[0]!.residualSeconds > 89 * 86400);
  t.is(document.certificateAuthorities[0]!.name, 'ca');

  rmSync(join(dataDir, 'pki', 'apiserver-kubelet-client.crt'));
  rmSync(join(dataDir, 'pki', 'apiserver-kubelet-client.key'));
  renameSync(join(dataDir, 'pki', 'ca.key'), join(scratch, 'ca.key.elsewhere'));
  const external = await run([bosun, 'certs', 'check-expiration', '--data-dir', dataDir]);
  t.is(external.code, 0, external.stderr);
  const lines = external.stdout.split('\n');
  // the !MISSING! row widens the first column
  t.is(lines[1], `admin.kubeconfig                     ${leaf}   89d             ca                      yes`);
  t.is(lines[3], '!MISSING! apiserver-kubelet-client');
  t.regex(lines[6]!, /^ca {22}\w{3} \d\d, \d{4} \d\d:\d\d UTC {3}9y {14}yes$/);
  // and nothing to renew with
  const refused = await run([
    bosun,
    'certs',
    'renew',
    'all',
    '--data-dir',
    dataDir,
    '--config-dir',
    join(scratch, 'none'),
  ]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /^bosun: the CA's key .*ca\.key is not on this machine/);

  const nothing = await run([bosun, 'certs', 'check-expiration', '--data-dir', join(scratch, 'empty')]);
  t.is(nothing.code, 1);
  t.regex(nothing.stderr, /^bosun: no certificates under .*empty\/pki/);
});

test('renew all issues every certificate again from the CA, keeps the serving names, and rewrites both admin.kubeconfig files', async (t) => {
  const dataDir = join(scratch, 'renew');
  const configDir = join(scratch, 'renew-config');
  const before = ensureClusterPki(pkiOptions(dataDir));
  mkdirSync(configDir);
  // bosun init's copy in the config folder
  await run(['cp', before.kubeconfigPath, join(configDir, 'admin.kubeconfig')]);
  const result = await run([bosun, 'certs', 'renew', 'all', '--data-dir', dataDir, '--config-dir', configDir]);
  t.is(result.code, 0, result.stderr);
  t.regex(
    result.stdout,
    /^renewed admin.kubeconfig \(.*\), valid until .* UTC\nrenewed apiserver \(.*\nrenewed apiserver-kubelet-client \(.*\nrewrote .*admin.kubeconfig and .*renew-config\/admin.kubeconfig\n/,
  );
  for (const [file, old] of [
    ['admin', before.admin],
    ['apiserver', before.serving],
    ['apiserver-kubelet-client', before.kubeletClient],
  ] as const) {
    const now = { cert: pem(dataDir, `${file}.crt`), key: pem(dataDir, `${file}.key`) };
    t.not(serial(now.cert), serial(old.cert), file);
    t.true(keyMatchesCertificate(now), file);
    t.true(new X509Certificate(now.cert).checkIssued(new X509Certificate(before.ca.cert)), file);
  }
  t.is(pem(dataDir, 'ca.crt'), before.ca.cert, 'the CA stays');
  t.is(
    new X509Certificate(pem(dataDir, 'apiserver.crt')).subjectAltName,
    new X509Certificate(before.serving.cert).subjectAltName,
  );
  for (const path of [join(dataDir, 'admin.kubeconfig'), join(configDir, 'admin.kubeconfig')]) {
    const client = loadKubeconfig(path).client;
    t.is(client.cert, pem(dataDir, 'admin.crt'), path);
    t.is(client.key, pem(dataDir, 'admin.key'), path);
    t.is(client.server, 'https://10.0.0.5:6443', path);
  }

  const unknown = await run([bosun, 'certs', 'renew', 'etcd-server', '--data-dir', dataDir]);
  t.is(unknown.code, 2);
  t.is(
    unknown.stderr,
    'bosun: no certificate named etcd-server; name one of admin.kubeconfig, apiserver, apiserver-kubelet-client, or all\n',
  );
});

/** The serial of the certificate a new TLS handshake with the server gets. */
function handshakeSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca }, () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.once('error', reject);
  });
}

test('a running server serves the certificate that bosun certs renew wrote, without a restart', async (t) => {
  server = await startInProcess({ certificates: { certificateCheckIntervalMs: 200 } });
  const ca = pem(server.dataDir, 'ca.crt');
  const first = await handshakeSerial(server.server.port, ca);
  const result = await run([
    bosun,
    'certs',
    'renew',
    'apiserver',
    '--data-dir',
    server.dataDir,
    '--config-dir',
    join(scratch, 'none'),
  ]);
  t.is(result.code, 0, result.stderr);
  const renewed = serial(pem(server.dataDir, 'apiserver.crt'));
  t.not(renewed, first);
  await waitFor(
    'the server to serve the renewed certificate',
    async () => (await handshakeSerial(server!.server.port, ca)) === renewed,
    10_000,
  );
  t.pass();
});
