import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import {
  caCertHash,
  generateBootstrapToken,
  parseBootstrapToken,
  parseCaCertHash,
  signDetached,
  verifyDetached,
  bootstrapTokenSecretName,
} from '../../kube/bootstrap.ts';

test('bootstrap tokens: generated tokens have the published shape and parse back', (t) => {
  for (let i = 0; i < 50; i++) {
    const token = generateBootstrapToken();
    const text = `${token.id}.${token.secret}`;
    t.regex(text, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    t.deepEqual(parseBootstrapToken(text), token);
  }
  t.is(bootstrapTokenSecretName('abcdef'), 'bootstrap-token-abcdef');
  for (const bad of [
    'abcdef.0123456789abcde',
    'ABCDEF.0123456789abcdef',
    'abcdef:0123456789abcdef',
    '',
    'abcdef.0123456789abcdefg',
  ]) {
    t.is(parseBootstrapToken(bad), undefined, bad);
  }
});

test('detached JWS: verifies with the same token, fails with another token, other content or another algorithm', (t) => {
  const token = { id: 'abcdef', secret: '0123456789abcdef' };
  const content = 'apiVersion: v1\nkind: Config\nclusters: []\n';
  const jws = signDetached(content, token);
  t.regex(jws, /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/);
  t.deepEqual(verifyDetached(content, jws, token), { ok: true });
  t.false(verifyDetached(`${content}#`, jws, token).ok, 'content changed');
  t.false(verifyDetached(content, jws, { id: 'abcdef', secret: 'fedcba9876543210' }).ok, 'other secret');
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'abcdef' })).toString('base64url')}..`;
  const verdict = verifyDetached(content, none, token);
  t.false(verdict.ok);
  t.true(!verdict.ok && verdict.reason.includes('only HS256'));
});

test('detached JWS matches an independent HMAC-SHA256 over header.payload (RFC 7515 detached form)', (t) => {
  const token = { id: 'a1b2c3', secret: 'q1w2e3r4t5y6u7i8' };
  const content = 'hello';
  const [header, , signature] = signDetached(content, token).split('.');
  const expected = execFileSync('openssl', ['dgst', '-sha256', '-hmac', 'a1b2c3.q1w2e3r4t5y6u7i8', '-binary'], {
    input: `${header}.${Buffer.from(content).toString('base64url')}`,
  });
  t.is(signature, expected.toString('base64url'));
  t.deepEqual(JSON.parse(Buffer.from(header!, 'base64url').toString()), { alg: 'HS256', kid: 'a1b2c3' });
});

test('CA pin: sha256 of the SubjectPublicKeyInfo, the same as openssl computes', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bosun-ca-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'ca.key'),
        '-out',
        join(dir, 'ca.crt'),
        '-subj',
        '/CN=test-ca',
        '-days',
        '1',
      ],
      { stdio: 'ignore' },
    );
    const pem = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const spkiDer = execFileSync('sh', [
      '-c',
      `openssl x509 -pubkey -noout -in ${join(dir, 'ca.crt')} | openssl pkey -pubin -outform der`,
    ]);
    t.is(caCertHash(pem), `sha256:${createHash('sha256').update(spkiDer).digest('hex')}`);
    t.is(parseCaCertHash(caCertHash(pem).toUpperCase().replace('SHA256', 'sha256')), caCertHash(pem));
    t.is(parseCaCertHash('sha256:abc'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
