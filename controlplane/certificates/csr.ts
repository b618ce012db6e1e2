/**
 * Certificate signing requests: what a request asks for (parsed with @peculiar/x509, so RSA,
 * ECDSA P-256 and Ed25519 keys all read back, as upstream kubelets send ECDSA), whether the control
 * plane approves it on its own, and the certificate it issues.
 *
 * Approved without a person (as upstream's csrapproving controller does for kubelets):
 *  - a node client certificate (signer kubernetes.io/kube-apiserver-client-kubelet) for
 *    CN=system:node:<name>, O=system:nodes, usages client auth (+ digital signature, key
 *    encipherment), asked for by a bootstrap token (system:bootstrappers) or by that same node
 *    renewing its certificate;
 *  - a node serving certificate (signer kubernetes.io/kubelet-serving) asked for by that same node,
 *    whose DNS names and IPs are only the node's name and the addresses the control plane recorded
 *    for it when it registered (node-addresses.ts), never addresses it wrote into its status later.
 * Anything else waits for `kubectl certificate approve`. Every request is checked again against
 * its signer's rules before it is signed (signer-rules.ts).
 */
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { x509 } from '../../kube/x509.ts';
import type { ReservedNames } from './reserved-names.ts';
import { signerRefusal } from './signer-rules.ts';
import { CsrError } from '../errors.ts';

export const kubeletClientSigner = 'kubernetes.io/kube-apiserver-client-kubelet';
export const kubeletServingSigner = 'kubernetes.io/kubelet-serving';
export const apiServerClientSigner = 'kubernetes.io/kube-apiserver-client';
export const legacyUnknownSigner = 'kubernetes.io/legacy-unknown';

export interface CsrCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
}

export interface CsrObject {
  metadata: { name: string; resourceVersion?: string; creationTimestamp?: string };
  spec: {
    request: string; // base64 PEM
    signerName: string;
    usages?: string[];
    username?: string;
    groups?: string[];
    expirationSeconds?: number;
  };
  status?: {
    conditions?: CsrCondition[];
    certificate?: string;
  };
}

export interface ParsedRequest {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  emailAddresses: string[];
  uris: string[];
  /** The DER SubjectPublicKeyInfo, copied unchanged into the certificate. */
  publicKey: ArrayBuffer;
  /** WebCrypto's name of the key's algorithm: RSASSA-PKCS1-v1_5, ECDSA, Ed25519, ... */
  keyAlgorithm: string;
}

const subjectAltNameOid = '2.5.29.17';

/** Reads a base64 PEM PKCS#10 request and checks that its own key signed it. */
export async function parseRequest(base64Pem: string): Promise<ParsedRequest> {
  let request: x509.Pkcs10CertificateRequest;
  let names: { type: string; value: string }[] = [];
  try {
    request = new x509.Pkcs10CertificateRequest(Buffer.from(base64Pem, 'base64').toString('utf8'));
    const san = request.extensions.find((e) => e.type === subjectAltNameOid);
    if (san !== undefined) names = new x509.SubjectAlternativeNameExtension(san.rawData).names.toJSON();
  } catch (err) {
    throw new CsrError(`spec.request is not a PEM certificate request: ${(err as Error).message}`);
  }
  let signed: boolean;
  try {
    signed = await request.verify();
  } catch (err) {
    throw new CsrError(`the request's signature cannot be checked: ${(err as Error).message}`);
  }
  if (!signed) throw new CsrError('the request is not signed by its own key');
  const of = (type: string) => names.filter((n) => n.type === type).map((n) => n.value);
  return {
    commonName: request.subjectName.getField('CN')[0] ?? '',
    organizations: request.subjectName.getField('O'),
    dnsNames: of('dns'),
    ipAddresses: of('ip'),
    emailAddresses: of('email'),
    uris: of('url'),
    publicKey: request.publicKey.rawData,
    keyAlgorithm: request.publicKey.algorithm.name,
  };
}

type Decision = { kind: 'approve'; reason: string; message: string } | { kind: 'wait'; why: string };

export function hasCondition(csr: CsrObject, type: string): boolean {
  return (csr.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

export function isDecided(csr: CsrObject): boolean {
  return (csr.status?.conditions ?? []).some((c) => c.type === 'Approved' || c.type === 'Denied');
}

/**
 * Whether the control plane approves this request by itself. `nodeAddresses` are the addresses the
 * control plane recorded for the named node, for serving certificates.
 */
export function decide(
  csr: CsrObject,
  parsed: ParsedRequest,
  nodeAddresses: (node: string) => readonly string[],
  reserved: ReservedNames,
): Decision {
  const groups = csr.spec.groups ?? [];
  const username = csr.spec.username ?? '';
  const { signerName } = csr.spec;
  if (signerName !== kubeletClientSigner && signerName !== kubeletServingSigner)
    return { kind: 'wait', why: `signer ${signerName} is not approved automatically` };
  // the same rules the signer applies: a request it would refuse is never approved here
  const refusal = signerRefusal(signerName, parsed, csr.spec.usages ?? []);
  if (refusal !== undefined) return { kind: 'wait', why: refusal };
  const node = parsed.commonName.slice('system:node:'.length);
  if (node === '') return { kind: 'wait', why: 'the subject names no node' };

  if (signerName === kubeletClientSigner) {
    if (groups.includes('system:bootstrappers')) {
      return {
        kind: 'approve',
        reason: 'AutoApproved',
        message: `node client certificate for ${node}, asked with a bootstrap token`,
      };
    }
    if (username === parsed.commonName && groups.includes('system:nodes')) {
      return { kind: 'approve', reason: 'AutoApproved', message: `certificate renewal by node ${node}` };
    }
    return { kind: 'wait', why: `asked by ${username}, neither a bootstrap token nor node ${node} itself` };
  }

  if (username !== parsed.commonName || !groups.includes('system:nodes'))
    return { kind: 'wait', why: 'a serving certificate must be asked for by the node itself' };
  // before the node's own names: a node named `kubernetes` or registered at the Service's IP is no exception
  const reservedWhy = [...parsed.dnsNames, ...parsed.ipAddresses]
    .map((n) => reserved.why(n))
    .filter((why) => why !== undefined);
  if (reservedWhy.length > 0) return { kind: 'wait', why: reservedWhy.join('; ') };
  const known = new Set([node, ...nodeAddresses(node)]);
  const foreign = [...parsed.dnsNames, ...parsed.ipAddresses].filter((n) => !known.has(n));
  if (foreign.length > 0) return { kind: 'wait', why: `names not recorded for node ${node}: ${foreign.join(', ')}` };
  return { kind: 'approve', reason: 'AutoApproved', message: `serving certificate for node ${node}` };
}

/** The CA's key as WebCrypto wants it, imported once per CA. */
const signingKeys = new WeakMap<
  { key: string },
  Promise<{ key: webcrypto.CryptoKey; algorithm: webcrypto.Algorithm }>
>();

/** WebCrypto's import and signing parameters for each kind of CA key Node can read. */
const caAlgorithms: Record<
  string,
  webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm
> = {
  rsa: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  ec: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as webcrypto.EcKeyImportParams,
  ed25519: { name: 'Ed25519' },
};

function caSigningKey(ca: { key: string }): Promise<{ key: webcrypto.CryptoKey; algorithm: webcrypto.Algorithm }> {
  let imported = signingKeys.get(ca);
  if (imported === undefined) {
    const privateKey = createPrivateKey(ca.key);
    const algorithm = caAlgorithms[privateKey.asymmetricKeyType ?? ''];
    if (algorithm === undefined)
      throw new Error(`a CA key of type ${privateKey.asymmetricKeyType} cannot sign certificates`);
    const der = privateKey.export({ type: 'pkcs8', format: 'der' });
    imported = webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']).then((key) => ({ key, algorithm }));
    signingKeys.set(ca, imported);
  }
  return imported;
}

const maxLifetimeSeconds = 365 * 24 * 3600;

/**
 * Issues the certificate for an approved request, signed by the cluster CA with the CA's own key
 * type (an RSA CA signs over an ECDSA or Ed25519 public key), backdated 5 minutes, for the
 * request's subject and names, for at most a year and at least 10 minutes.
 */
export async function signRequest(
  ca: { cert: string; key: string },
  csr: CsrObject,
  parsed: ParsedRequest,
  now = Date.now(),
): Promise<string> {
  const signing = await caSigningKey(ca);
  const usages = new Set(csr.spec.usages ?? []);
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f; // positive
  const lifetimeSeconds = Math.max(600, Math.min(csr.spec.expirationSeconds ?? maxLifetimeSeconds, maxLifetimeSeconds));
  const names = [
    ...parsed.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...parsed.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ...parsed.emailAddresses.map((value) => ({ type: 'email' as const, value })),
    ...parsed.uris.map((value) => ({ type: 'url' as const, value })),
  ];
  const extendedUsages = [
    ...(usages.has('client auth') ? [x509.ExtendedKeyUsage.clientAuth] : []),
    ...(usages.has('server auth') ? [x509.ExtendedKeyUsage.serverAuth] : []),
  ];
  const keyUsage =
    x509.KeyUsageFlags.digitalSignature | (usages.has('key encipherment') ? x509.KeyUsageFlags.keyEncipherment : 0);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString('hex'),
    subject: subjectOf(parsed),
    issuer: new x509.X509Certificate(ca.cert).subjectName,
    notBefore: new Date(now - 5 * 60 * 1000),
    notAfter: new Date(now + lifetimeSeconds * 1000),
    publicKey: parsed.publicKey,
    signingKey: signing.key,
    signingAlgorithm: signing.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(keyUsage, true),
      ...(extendedUsages.length > 0 ? [new x509.ExtendedKeyUsageExtension(extendedUsages)] : []),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
    ],
  });
  return cert.toString('pem');
}

/** The subject as the request named it: organizations, then the common name. */
function subjectOf(parsed: ParsedRequest): x509.JsonName {
  return [
    ...parsed.organizations.map((o) => ({ O: [o] })),
    ...(parsed.commonName !== '' ? [{ CN: [parsed.commonName] }] : []),
  ];
}
