/**
 * X.509 for the cluster: a self-signed CA, serving certificates with SANs, and client certificates
 * whose subject carries the user (CN) and groups (O). Keys come from Node's crypto (native, fast);
 * node-forge builds and signs the certificates, which Node's crypto cannot do.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import type { KeyPair } from '../../kube/key-pair-files.ts';

export type { KeyPair };

/**
 * Certificates start 5 minutes in the past so that a little clock skew does not reject them; a
 * short-lived one (seconds, in tests) at most a tenth of its life, so most of its life lies ahead.
 */
const backdateMs = 5 * 60 * 1000;
const dayMs = 24 * 3600 * 1000;

function newKey(): { pem: string; forgeKey: forge.pki.rsa.PrivateKey; forgePublic: forge.pki.rsa.PublicKey } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  const forgePublic = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) as forge.pki.rsa.PublicKey;
  return { pem, forgeKey, forgePublic };
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive
  return bytes.toString('hex');
}

function validity(cert: forge.pki.Certificate, lifetimeMs: number): void {
  const now = Date.now();
  cert.validity.notBefore = new Date(now - Math.min(backdateMs, lifetimeMs / 10));
  cert.validity.notAfter = new Date(now + lifetimeMs);
}

export function createCertificateAuthority(commonName: string, days = 3650): KeyPair {
  const key = newKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.forgePublic;
  cert.serialNumber = serial();
  validity(cert, days * dayMs);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    {
      name: 'keyUsage',
      keyCertSign: true,
      cRLSign: true,
      digitalSignature: true,
      keyEncipherment: true,
      critical: true,
    },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key.forgeKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: key.pem };
}

export interface LeafRequest {
  readonly commonName: string;
  readonly organizations?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly usage: 'server' | 'client' | 'both';
  readonly days?: number;
  /** How long it is valid, in milliseconds (wins over `days`; short lifetimes are for tests). */
  readonly lifetimeMs?: number;
}

export function issueCertificate(ca: KeyPair, request: LeafRequest): KeyPair {
  const key = newKey();
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.forgePublic;
  cert.serialNumber = serial();
  validity(cert, request.lifetimeMs ?? (request.days ?? 365) * dayMs);
  cert.setSubject([
    ...(request.organizations ?? []).map((o) => ({ name: 'organizationName', value: o })),
    { name: 'commonName', value: request.commonName },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [
    ...(request.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(request.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: request.usage !== 'client', clientAuth: request.usage !== 'server' },
    ...(altNames.length ? [{ name: 'subjectAltName', altNames }] : []),
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: key.pem };
}
