/**
 * Which certificate answers which SNI name: the Secrets the Ingresses name, older Ingresses first,
 * TLS entries without hosts covering their Ingress's rule hosts, `*.` covering one label, and the
 * default certificate for everything else.
 */
import test from 'ava';
import type { Ingress } from '../../../kube/networkingv1.ts';
import { CertificateStore, defaultCertificate, wantedSecrets } from '../../../agent/ingress/certificates.ts';
import { createTestCa } from './test-ca.ts';

const ingress = (name: string, created: string, spec: NonNullable<Ingress['spec']>): Ingress => ({
  metadata: { name, namespace: name, creationTimestamp: created },
  spec,
});

test('the Secrets wanted, older Ingresses first; a TLS entry without hosts covers the rule hosts', (t) => {
  const newer = ingress('newer', '2026-02-01T00:00:00Z', {
    tls: [{ hosts: ['Shop.example.com'], secretName: 'mine' }],
  });
  const older = ingress('older', '2026-01-01T00:00:00Z', {
    tls: [{ secretName: 'shop-tls' }, { hosts: ['x.example.com'] }],
    rules: [{ host: 'shop.example.com' }, { host: '*.shop.example.com' }, {}],
  });
  t.deepEqual(wantedSecrets([newer, older]), [
    { namespace: 'older', name: 'shop-tls', hosts: ['shop.example.com', '*.shop.example.com'] },
    { namespace: 'newer', name: 'mine', hosts: ['shop.example.com'] },
  ]);
});

test('the first pair named for a host keeps it; a wildcard covers one label; others get the default', async (t) => {
  const ca = await createTestCa();
  const first = await ca.issue(['shop.example.com'], 'first');
  const second = await ca.issue(['shop.example.com'], 'second');
  const wild = await ca.issue(['*.example.org'], 'wild');
  const store = new CertificateStore(await defaultCertificate());
  const problems = store.update([
    { hosts: ['shop.example.com'], pair: first, source: 'a/first' },
    { hosts: ['shop.example.com'], pair: second, source: 'b/second' },
    { hosts: ['*.example.org'], pair: wild, source: 'c/wild' },
  ]);
  t.deepEqual(problems, []);
  t.is(store.contextFor('shop.example.com'), store.contextFor('SHOP.example.com'));
  t.not(store.contextFor('shop.example.com'), store.contextFor(undefined));
  t.is(store.contextFor('a.example.org'), store.contextFor('b.example.org'));
  t.not(store.contextFor('a.example.org'), store.contextFor(undefined));
  t.is(store.contextFor('a.b.example.org'), store.contextFor(undefined), 'a wildcard covers one label only');
  t.is(store.contextFor('example.org'), store.contextFor(undefined));
  t.is(store.contextFor('unknown.test'), store.contextFor(''));
});
