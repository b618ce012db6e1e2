/**
 * The control plane's own certificates are renewed before they expire: which ones are due at a
 * given time (a table on a manual clock), what ensureClusterPki issues again, and that a key and
 * its certificate are replaced together, whatever moment a kill -9 hits.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { rotationDeadline } from '../../../agent/certs/client-cert-rotation.ts';
import { renewalDeadline, validityOf } from '../../../kube/certificate-renewal.ts';
import { KeyPairMismatchError } from '../../../kube/errors.ts';
import { keyMatchesCertificate, readKeyPair, writeKeyPair } from '../../../kube/key-pair-files.ts';
import { createCertificateAuthority, issueCertificate } from '../../../controlplane/pki/certificates.ts';
import { ensureClusterPki } from '../../../controlplane/pki/cluster-pki.ts';
import { planReissue } from '../../../controlplane/pki/reissue-plan.ts';
import { CertificateRenewal } from '../../../controlplane/pki/renewal-loop.ts';
import { renewOnDisk } from '../../../controlplane/pki/renew-on-disk.ts';
import { pino } from 'pino';
import { ManualClock } from '../../agent/manual-clock.ts';

const scratch = mkdtempSync(join(tmpdir(), `bosun-certrenew-${process.pid}-`));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

const dayMs = 24 * 3600 * 1000;
const ca = createCertificateAuthority('test-ca');
const otherCa = createCertificateAuthority('other-ca');
const yearCert = issueCertificate(ca, {
  commonName: 'kubernetes-admin',
  organizations: ['system:masters'],
  usage: 'client',
}).cert;
const serving = issueCertificate(ca, {
  commonName: 'kube-apiserver',
  dnsNames: ['localhost'],
  ipAddresses: ['127.0.0.1'],
  usage: 'server',
}).cert;
const foreign = issueCertificate(otherCa, { commonName: 'kubernetes-admin', usage: 'client' }).cert;
const issuedAt = Date.parse(new X509Certificate(yearCert).validFrom) + 5 * 60 * 1000;

test('which certificates are due: a third of their life left, missing, another CA, a new name, or asked for', (t) => {
  const clock = new ManualClock(issuedAt);
  const deadline = renewalDeadline(validityOf(yearCert));
  const rows: {
    title: string;
    at: number;
    observed: Parameters<typeof planReissue>[0];
    asked?: string[];
    expect: string[];
  }[] = [
    { title: 'new', at: 0, observed: [{ name: 'admin.kubeconfig', cert: yearCert }], expect: [] },
    { title: 'half its life', at: 182 * dayMs, observed: [{ name: 'admin.kubeconfig', cert: yearCert }], expect: [] },
    {
      title: 'a minute before two thirds',
      at: deadline - issuedAt - 60_000,
      observed: [{ name: 'admin.kubeconfig', cert: yearCert }],
      expect: [],
    },
    {
      title: 'a minute after two thirds',
      at: deadline - issuedAt + 60_000,
      observed: [{ name: 'admin.kubeconfig', cert: yearCert }],
      expect: ['admin.kubeconfig:due'],
    },
    {
      title: 'expired',
      at: 400 * dayMs,
      observed: [{ name: 'admin.kubeconfig', cert: yearCert }],
      expect: ['admin.kubeconfig:due'],
    },
    {
      title: 'missing',
      at: 0,
      observed: [{ name: 'apiserver-kubelet-client', cert: undefined }],
      expect: ['apiserver-kubelet-client:missing'],
    },
    {
      title: 'from another CA',
      at: 0,
      observed: [{ name: 'admin.kubeconfig', cert: foreign }],
      expect: ['admin.kubeconfig:other-issuer'],
    },
    {
      title: 'serving, same names',
      at: 0,
      observed: [{ name: 'apiserver', cert: serving, requiredNames: ['localhost', '127.0.0.1'] }],
      expect: [],
    },
    {
      title: 'serving, a new address',
      at: 0,
      observed: [{ name: 'apiserver', cert: serving, requiredNames: ['localhost', '127.0.0.1', '10.0.0.7'] }],
      expect: ['apiserver:names'],
    },
    {
      title: 'asked for',
      at: 0,
      observed: [
        { name: 'apiserver', cert: serving },
        { name: 'admin.kubeconfig', cert: yearCert },
      ],
      asked: ['apiserver'],
      expect: ['apiserver:asked'],
    },
  ];
  for (const row of rows) {
    clock.advance(issuedAt + row.at - clock.now());
    const plan = planReissue(row.observed, ca.cert, clock.now(), new Set(row.asked ?? []));
    t.deepEqual(
      plan.map((r) => `${r.name}:${r.reason}`),
      row.expect,
      row.title,
    );
  }
  // the node's client certificate follows the same rule
  t.is(rotationDeadline(yearCert), deadline);
});

const pkiOptions = (dataDir: string) => ({
  dataDir,
  serverNames: [],
  serverUrl: 'https://127.0.0.1:6443',
  serviceIP: '10.96.0.1',
});
const pem = (dataDir: string, file: string) => readFileSync(join(dataDir, 'pki', file), 'utf8');
const serial = (certPem: string) => new X509Certificate(certPem).serialNumber;

interface KubeconfigDoc {
  users: { user: Record<string, string> }[];
}
function kubeconfigPair(dataDir: string): { cert: string; key: string } {
  const doc = yaml.load(readFileSync(join(dataDir, 'admin.kubeconfig'), 'utf8')) as KubeconfigDoc;
  const user = doc.users[0]!.user;
  return {
    cert: Buffer.from(user['client-certificate-data']!, 'base64').toString(),
    key: Buffer.from(user['client-key-data']!, 'base64').toString(),
  };
}

test('a start after two thirds of the life issues the certificates again and rewrites admin.kubeconfig; the CA and the service-account key stay', (t) => {
  const dataDir = join(scratch, 'due');
  const first = ensureClusterPki({ ...pkiOptions(dataDir), lifetimeMs: 90 * dayMs });
  t.deepEqual(
    first.reissued.map((r) => r.reason),
    ['missing', 'missing', 'missing'],
  );
  const again = ensureClusterPki({ ...pkiOptions(dataDir), now: Date.now() + 30 * dayMs });
  t.deepEqual(again.reissued, [], 'a third of 90 days has not passed');
  const due = ensureClusterPki({ ...pkiOptions(dataDir), now: Date.now() + 61 * dayMs });
  t.deepEqual(
    due.reissued.map((r) => `${r.name}:${r.reason}`),
    ['admin.kubeconfig:due', 'apiserver:due', 'apiserver-kubelet-client:due'],
  );
  for (const [file, before, after] of [
    ['admin.crt', first.admin, due.admin],
    ['apiserver.crt', first.serving, due.serving],
    ['apiserver-kubelet-client.crt', first.kubeletClient, due.kubeletClient],
  ] as const) {
    t.not(serial(after.cert), serial(before.cert), file);
    t.is(pem(dataDir, file), after.cert, file);
  }
  t.is(due.ca.cert, first.ca.cert);
  t.is(due.serviceAccountKey, first.serviceAccountKey);
  const inKubeconfig = kubeconfigPair(dataDir);
  t.is(inKubeconfig.cert, due.admin.cert);
  t.true(keyMatchesCertificate(inKubeconfig));
  // the new ones last a year again (the default)
  t.true(Date.parse(new X509Certificate(due.admin.cert).validTo) > Date.now() + 360 * dayMs);
});

test("the server's renewal loop on a manual clock: a pair renewed on disk is handed over at the next round, the three are renewed at two thirds of their life", async (t) => {
  const dataDir = join(scratch, 'loop');
  const options = { ...pkiOptions(dataDir), lifetimeMs: 90 * dayMs };
  const clock = new ManualClock(Date.now());
  const applied: string[][] = [];
  const renewal = new CertificateRenewal({
    pki: options,
    current: ensureClusterPki(options),
    clock,
    checkIntervalMs: 60_000,
    logger: pino({ level: 'silent' }),
    apply: (next, changed) => {
      applied.push([...changed]);
      t.is(next.serving.cert, pem(dataDir, 'apiserver.crt'));
    },
  });
  const stop = new AbortController();
  const running = renewal.run(stop.signal);
  const day = async () => {
    clock.advance(dayMs);
    await new Promise((r) => setImmediate(r));
  };
  await day();
  t.deepEqual(applied, []);
  // as `bosun certs renew apiserver` does from another process
  renewOnDisk(dataDir, new Set(['apiserver']), 90 * dayMs);
  await day();
  t.deepEqual(applied, [['apiserver']]);
  for (let days = 2; days < 59; days++) await day();
  t.is(applied.length, 1, 'nothing due before two thirds of 90 days');
  await day();
  await day();
  t.deepEqual(applied[1], ['admin.kubeconfig', 'apiserver', 'apiserver-kubelet-client']);
  stop.abort();
  await running;
});

test('a write interrupted between its two renames is finished by the next read; a pair that matches in no way is refused by name', (t) => {
  const dir = join(scratch, 'torn');
  mkdirSync(dir);
  const old = writeKeyPair(dir, 'x', issueCertificate(ca, { commonName: 'old', usage: 'client' }));
  const next = issueCertificate(ca, { commonName: 'next', usage: 'client' });
  // step 1 and 2 of writeKeyPair, then "kill -9"
  writeFileSync(join(dir, 'x.crt.new'), next.cert);
  writeFileSync(join(dir, 'x.key.new'), next.key);
  renameSync(join(dir, 'x.key.new'), join(dir, 'x.key'));
  t.false(
    keyMatchesCertificate({
      cert: readFileSync(join(dir, 'x.crt'), 'utf8'),
      key: readFileSync(join(dir, 'x.key'), 'utf8'),
    }),
  );
  t.deepEqual(readKeyPair(dir, 'x'), next);
  t.is(readFileSync(join(dir, 'x.crt'), 'utf8'), next.cert, 'finished on disk');
  // a crash before step 2 keeps the old pair, whatever the leftovers hold
  writeFileSync(join(dir, 'x.crt.new'), old.cert.slice(0, 100));
  writeFileSync(join(dir, 'x.key.new'), old.key);
  t.deepEqual(readKeyPair(dir, 'x'), next);
  // a key that belongs to nothing here
  rmSync(join(dir, 'x.crt.new'));
  writeFileSync(join(dir, 'x.key'), old.key);
  const err = t.throws(() => readKeyPair(dir, 'x'), { instanceOf: KeyPairMismatchError });
  t.regex(err.message, /x\.key does not belong to the certificate .*x\.crt/);
});

test('two writers at once (the server and bosun certs renew), both killed at a random moment: every pair still matches', async (t) => {
  const dataDir = join(scratch, 'two-writers');
  ensureClusterPki(pkiOptions(dataDir));
  const script = resolve(import.meta.dirname, 'renew-in-a-loop.ts');
  for (let i = 0; i < 3; i++) {
    const writers = [0, 1].map(() => {
      const child = spawn(process.execPath, [script, dataDir, 'rewrite'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const state = { output: '', exited: new Promise<void>((done) => child.once('exit', () => done())) };
      child.stdout.on('data', (chunk: Buffer) => (state.output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (state.output += chunk.toString()));
      return { child, state };
    });
    const started = Date.now();
    // both writing (bounded), then a while of both at once
    while (
      writers.some((w) => !/round 20\n/.test(w.state.output)) &&
      writers.every((w) => w.child.exitCode === null) &&
      Date.now() - started < 30_000
    )
      await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, Math.random() * 200));
    for (const w of writers) w.child.kill('SIGKILL');
    await Promise.all(writers.map((w) => w.state.exited));
    for (const w of writers) t.regex(w.state.output, /round 20\n/, w.state.output.slice(-300));
    for (const file of ['admin', 'apiserver', 'apiserver-kubelet-client']) {
      const pair = readKeyPair(join(dataDir, 'pki'), file);
      t.true(keyMatchesCertificate(pair!), `${file} after round ${i + 1}`);
    }
  }
});

test('kill -9 at random moments of renewals in a loop always leaves a matching pair of every certificate and a valid admin.kubeconfig', async (t) => {
  const dataDir = join(scratch, 'killed');
  const script = resolve(import.meta.dirname, 'renew-in-a-loop.ts');
  const kills = 8;
  // kills after which the files on disk were caught mid-write (before anything read them)
  let caughtMidWrite = 0;
  for (let i = 0; i < kills; i++) {
    const child = spawn(process.execPath, [script, dataDir, i % 2 === 0 ? 'renew' : 'rewrite'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    // bounded: the first round within 20 s, then a kill at a random point of the next rounds
    const started = Date.now();
    while (!output.includes('round 1') && child.exitCode === null && Date.now() - started < 20_000)
      await new Promise((r) => setTimeout(r, 10));
    t.true(output.includes('round 1'), output.slice(-500));
    await new Promise((r) => setTimeout(r, Math.random() * 300));
    child.kill('SIGKILL');
    await exited;
    const files = ['ca', 'admin', 'apiserver', 'apiserver-kubelet-client'];
    const pkiFile = (name: string) => join(dataDir, 'pki', name);
    if (
      files.some(
        (f) =>
          existsSync(pkiFile(`${f}.crt.new`)) ||
          !keyMatchesCertificate({ cert: pem(dataDir, `${f}.crt`), key: pem(dataDir, `${f}.key`) }),
      )
    )
      caughtMidWrite++;
    for (const file of files) {
      const pair = readKeyPair(join(dataDir, 'pki'), file);
      t.truthy(pair, file);
      t.true(keyMatchesCertificate(pair!), `${file} after kill ${i + 1}`);
      t.true(
        keyMatchesCertificate({ cert: pem(dataDir, `${file}.crt`), key: pem(dataDir, `${file}.key`) }),
        `${file} on disk after reading`,
      );
    }
    t.true(keyMatchesCertificate(kubeconfigPair(dataDir)), `admin.kubeconfig after kill ${i + 1}`);
    // and the server's own start-up path takes the folder as it is
    t.notThrows(() => ensureClusterPki(pkiOptions(dataDir)));
  }
  t.log(`${kills} kills, ${caughtMidWrite} of them caught a pair mid-write`);
});
