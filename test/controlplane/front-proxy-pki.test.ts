/**
 * The front proxy's CA and client certificate: made once at the first start (kubeadm's file names,
 * keys 0600), kept across starts, and the client certificate issued again at start when it has
 * less than a third of its life left or was signed by another CA.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../controlplane/pki/certificates.ts';
import { ensureFrontProxyPki } from '../../controlplane/pki/front-proxy.ts';

function folder(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), `bosun-front-proxy-${process.pid}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('made once, with private keys only the owner reads, and kept across starts', (t) => {
  const dir = folder(t);
  const first = ensureFrontProxyPki(dir);
  for (const name of ['front-proxy-ca', 'front-proxy-client']) {
    t.is(statSync(join(dir, `${name}.key`)).mode & 0o777, 0o600);
    t.true(readFileSync(join(dir, `${name}.crt`), 'utf8').includes('BEGIN CERTIFICATE'));
  }
  t.deepEqual(ensureFrontProxyPki(dir), first);
});

test('a client certificate near its end, or from another CA, is issued again', (t) => {
  const dir = folder(t);
  const { ca } = ensureFrontProxyPki(dir);
  const shortLived = issueCertificate(ca, { commonName: 'front-proxy-client', usage: 'client', lifetimeMs: 60_000 });
  writeFileSync(join(dir, 'front-proxy-client.crt'), shortLived.cert);
  writeFileSync(join(dir, 'front-proxy-client.key'), shortLived.key);
  t.is(ensureFrontProxyPki(dir, Date.now()).client.cert, shortLived.cert, 'two thirds of its life left: kept');
  const later = ensureFrontProxyPki(dir, Date.now() + 50_000).client;
  t.not(later.cert, shortLived.cert, 'a sixth of its life left: issued again');
  const foreign = issueCertificate(createCertificateAuthority('someone-else'), {
    commonName: 'front-proxy-client',
    usage: 'client',
  });
  writeFileSync(join(dir, 'front-proxy-client.crt'), foreign.cert);
  writeFileSync(join(dir, 'front-proxy-client.key'), foreign.key);
  t.not(ensureFrontProxyPki(dir).client.cert, foreign.cert);
});
