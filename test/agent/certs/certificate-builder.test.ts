/**
 * The node's own certificates and requests, written without a certificate library: read back by
 * Node's X509Certificate and by the control plane's own request parser (what approves and signs
 * them), and the agent's module graph no longer holds @peculiar/x509 or node-forge.
 */
import test from 'ava';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { certificateRequestPem, selfSignedCertificatePem } from '../../../agent/certs/certificate-builder.ts';
import { nodeCertificateRequest } from '../../../agent/certs/node-csr.ts';
import { parseRequest } from '../../../controlplane/certificates/csr.ts';
import { x509 } from '../../../kube/x509.ts';
import { loadedModules } from '../../helpers/loaded-modules.ts';

const keyTypes = {
  ec: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  rsa: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
};

for (const [type, makeKeys] of Object.entries(keyTypes)) {
  test(`a self-signed serving certificate (${type}): names, validity, usages, its own signature`, async (t) => {
    const keys = makeKeys();
    const notBefore = new Date('2026-01-02T03:04:05Z');
    const notAfter = new Date('2051-01-02T03:04:05Z'); // past 2049: GeneralizedTime
    const pem = selfSignedCertificatePem(
      {
        commonName: 'node-1@1767323045',
        notBefore,
        notAfter,
        sans: { dns: ['node-1'], ips: ['10.0.0.5', 'fd00::1:2', '::ffff:10.1.2.3'] },
        keyEncipherment: type === 'rsa',
      },
      keys,
    );
    const cert = new X509Certificate(pem);
    t.is(cert.subject, 'CN=node-1@1767323045');
    t.is(cert.issuer, cert.subject);
    t.is(
      cert.subjectAltName,
      'DNS:node-1, IP Address:10.0.0.5, IP Address:FD00:0:0:0:0:0:1:2, IP Address:0:0:0:0:0:FFFF:A01:203',
    );
    t.is(new Date(cert.validFrom).getTime(), notBefore.getTime());
    t.is(new Date(cert.validTo).getTime(), notAfter.getTime());
    t.false(cert.ca);
    t.true(cert.verify(cert.publicKey));
    t.is(cert.checkIP('10.0.0.5'), '10.0.0.5');
    t.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    const parsed = new x509.X509Certificate(pem);
    const usages = parsed.getExtension(x509.KeyUsagesExtension)!;
    t.true(usages.critical);
    t.is(
      usages.usages,
      type === 'rsa'
        ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
        : x509.KeyUsageFlags.digitalSignature,
    );
    t.true(parsed.getExtension(x509.BasicConstraintsExtension)!.critical);
    t.false(parsed.getExtension(x509.BasicConstraintsExtension)!.ca);
  });

  test(`a node's certificate request (${type}) reads back through the control plane's parser`, async (t) => {
    const keys = makeKeys();
    const subject = [
      ['O', 'system:nodes'],
      ['CN', 'system:node:node-1'],
    ] as const;
    const withNames = await parseRequest(
      Buffer.from(certificateRequestPem(subject, { dns: ['node-1'], ips: ['10.0.0.5', 'fd00::5'] }, keys)).toString(
        'base64',
      ),
    );
    t.is(withNames.commonName, 'system:node:node-1');
    t.deepEqual(withNames.organizations, ['system:nodes']);
    t.deepEqual(withNames.dnsNames, ['node-1']);
    t.deepEqual(withNames.ipAddresses, ['10.0.0.5', 'fd00::5']);
    t.is(withNames.keyAlgorithm, type === 'rsa' ? 'RSASSA-PKCS1-v1_5' : 'ECDSA');
    t.deepEqual(Buffer.from(withNames.publicKey), keys.publicKey.export({ type: 'spki', format: 'der' }));
    const bare = await parseRequest(Buffer.from(certificateRequestPem(subject, undefined, keys)).toString('base64'));
    t.deepEqual([bare.dnsNames, bare.ipAddresses], [[], []]);
  });
}

test('a name that is not ASCII, or an address that is not one, is refused, not written as other bytes', (t) => {
  const keys = keyTypes.ec();
  const subject = [['CN', 'system:node:n']] as const;
  t.throws(() => certificateRequestPem(subject, { dns: ['nöde'], ips: [] }, keys), { message: /not a DNS name/ });
  t.throws(() => certificateRequestPem(subject, { dns: ['a b'], ips: [] }, keys), { message: /not a DNS name/ });
  t.throws(() => certificateRequestPem(subject, { dns: [], ips: ['10.0.0.256'] }, keys), {
    message: /not an IP address/,
  });
  // a long subject needs DER's long length forms; it still reads back
  const long = 'x'.repeat(70_000);
  const parsed = new x509.Pkcs10CertificateRequest(certificateRequestPem([['CN', long]], undefined, keys));
  t.is(parsed.subjectName.getField('CN')[0], long);
});

test('nodeCertificateRequest: a P-256 key and a request the control plane accepts', async (t) => {
  const { csrPem, keyPem } = await nodeCertificateRequest('node-7', { dns: ['node-7'], ips: ['10.0.0.7'] });
  const parsed = await parseRequest(Buffer.from(csrPem).toString('base64'));
  t.is(parsed.commonName, 'system:node:node-7');
  t.deepEqual(parsed.ipAddresses, ['10.0.0.7']);
  t.regex(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
});

test('the agent loads no certificate library', async (t) => {
  const agent = new URL('../../../agent/agent.ts', import.meta.url).href;
  const loaded = await loadedModules([
    process.execPath,
    '--input-type=module',
    '-e',
    `await import(${JSON.stringify(agent)})`,
  ]);
  t.is(loaded.result.code, 0, loaded.result.stderr);
  t.true(loaded.own.includes('agent/agent.ts'));
  t.deepEqual(
    loaded.packages.filter((name) => ['@peculiar/x509', 'node-forge', 'reflect-metadata', 'tsyringe'].includes(name)),
    [],
  );
});
