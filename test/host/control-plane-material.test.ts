import test from 'ava';
import {
  generateCertificateKey,
  open,
  openSecretData,
  parseCertificateKey,
  seal,
  sealedSecretData,
} from '../../host/init/control-plane-material.ts';

const files = {
  'ca.crt': 'CA CERT',
  'ca.key': 'CA KEY',
  'sa.key': 'SA KEY',
  'front-proxy-ca.crt': 'FP CERT',
  'front-proxy-ca.key': 'FP KEY',
};

test('a certificate key is 32 bytes as 64 hex digits; anything else is refused', (t) => {
  const key = generateCertificateKey();
  t.regex(key, /^[0-9a-f]{64}$/);
  t.is(parseCertificateKey(key)?.length, 32);
  for (const bad of ['', 'abc', `${key}0`, key.replace(/^./, 'g'), ' '.repeat(64)])
    t.is(parseCertificateKey(bad), undefined, bad);
});

test('sealed files open with their key only, and any change to them is refused', (t) => {
  const key = parseCertificateKey(generateCertificateKey())!;
  const sealed = seal(key, Buffer.from('secret'));
  t.is(open(key, sealed)?.toString(), 'secret');
  t.not(seal(key, Buffer.from('secret')).toString('hex'), sealed.toString('hex'), 'a fresh nonce each time');
  t.is(open(parseCertificateKey(generateCertificateKey())!, sealed), undefined);
  const flipped = Buffer.from(sealed);
  flipped[15] = (flipped[15] ?? 0) ^ 1;
  t.is(open(key, flipped), undefined);
  t.is(open(key, sealed.subarray(0, 10)), undefined, 'too short');
});

test('the Secret data opens whole or not at all; unknown entries are ignored', (t) => {
  const key = parseCertificateKey(generateCertificateKey())!;
  const data = sealedSecretData(key, files);
  t.deepEqual(openSecretData(key, { ...data, '../../etc/passwd': data['ca.crt']! }), { ok: true, files });
  const { 'sa.key': _, ...withoutSa } = data;
  t.deepEqual(openSecretData(key, withoutSa), { ok: false, reason: 'incomplete', detail: 'sa.key' });
  t.like(openSecretData(key, { ...data, 'ca.key': 'bm90IHNlYWxlZA==' }), { ok: false, reason: 'wrong-key' });
  t.like(openSecretData(key, undefined), { ok: false, reason: 'incomplete' });
});
