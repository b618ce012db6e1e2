/**
 * The pieces of the kubeadm-style join protocol that both sides share:
 *  - bootstrap tokens `<id>.<secret>` ([a-z0-9]{6}.[a-z0-9]{16}) and their Secret's name;
 *  - the detached JWS (HS256, keyed with the whole token, `kid` = token id) that signs the
 *    `cluster-info` kubeconfig, so a joining node can trust what it read without TLS trust yet;
 *  - the CA pin `sha256:<hex>` over the CA certificate's SubjectPublicKeyInfo (RFC 7469 style).
 */
import { createHmac, randomInt, timingSafeEqual, X509Certificate, createHash } from 'node:crypto';

export const bootstrapTokenPattern = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

export interface BootstrapToken {
  id: string;
  secret: string;
}

export function parseBootstrapToken(text: string): BootstrapToken | undefined {
  const match = bootstrapTokenPattern.exec(text.trim());
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

export function formatBootstrapToken(token: BootstrapToken): string {
  return `${token.id}.${token.secret}`;
}

const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomString(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export function generateBootstrapToken(): BootstrapToken {
  return { id: randomString(6), secret: randomString(16) };
}

/** The Secret in kube-system that holds a bootstrap token. */
export function bootstrapTokenSecretName(id: string): string {
  return `bootstrap-token-${id}`;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A detached JWS over `content`: `<protected header>..<signature>` (the payload is left out). */
export function signDetached(content: string, token: BootstrapToken): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', kid: token.id }));
  const payload = base64url(content);
  const signature = createHmac('sha256', formatBootstrapToken(token)).update(`${header}.${payload}`).digest();
  return `${header}..${base64url(signature)}`;
}

export type DetachedVerdict = { ok: true } | { ok: false; reason: string };

/** Checks a detached JWS made by signDetached; refuses any algorithm but HS256. */
export function verifyDetached(content: string, jws: string, token: BootstrapToken): DetachedVerdict {
  const parts = jws.split('.');
  if (parts.length !== 3 || parts[1] !== '') return { ok: false, reason: 'not a detached JWS (<header>..<signature>)' };
  let header: { alg?: unknown; kid?: unknown };
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as { alg?: unknown; kid?: unknown };
  } catch {
    return { ok: false, reason: 'the JWS header is not JSON' };
  }
  if (header.alg !== 'HS256')
    return { ok: false, reason: `the JWS uses ${String(header.alg)}, only HS256 is accepted` };
  if (header.kid !== undefined && header.kid !== token.id)
    return { ok: false, reason: `the JWS was made for token ${String(header.kid)}` };
  const expected = createHmac('sha256', formatBootstrapToken(token))
    .update(`${parts[0]}.${base64url(content)}`)
    .digest();
  const given = Buffer.from(parts[2]!, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'the signature does not match this token' };
  }
  return { ok: true };
}

/** `sha256:<hex>` of the certificate's SubjectPublicKeyInfo, as kubeadm's discovery hash. */
export function caCertHash(certificatePem: string): string {
  const spki = new X509Certificate(certificatePem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** Parses `sha256:<64 hex>`; undefined when it is not that form. */
export function parseCaCertHash(text: string): string | undefined {
  const match = /^sha256:([0-9a-fA-F]{64})$/.exec(text.trim());
  return match ? `sha256:${match[1]!.toLowerCase()}` : undefined;
}
