/**
 * Certificate signing requests from nodes: what a request asks for, whether the control plane
 * approves it on its own, and the certificate it issues.
 *
 * Approved without a person (as upstream's csrapproving controller does for kubelets):
 *  - a node client certificate (signer kubernetes.io/kube-apiserver-client-kubelet) for
 *    CN=system:node:<name>, O=system:nodes, usages client auth (+ digital signature, key
 *    encipherment), asked for by a bootstrap token (system:bootstrappers) or by that same node
 *    renewing its certificate;
 *  - a node serving certificate (signer kubernetes.io/kubelet-serving) asked for by that same node,
 *    whose DNS names and IPs are only the node's own names and addresses.
 * Anything else waits for `kubectl certificate approve`.
 */
import forge from 'node-forge';
import { createPrivateKey, randomBytes, sign as nodeSign } from 'node:crypto';

export const kubeletClientSigner = 'kubernetes.io/kube-apiserver-client-kubelet';
export const kubeletServingSigner = 'kubernetes.io/kubelet-serving';

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
    conditions?: { type: string; status: string; reason?: string; message?: string; lastUpdateTime?: string }[];
    certificate?: string;
  };
}

export interface ParsedRequest {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  publicKeyPem: string;
}

export class CsrError extends Error {
  readonly code = 'CSR_INVALID';
}

export function parseRequest(base64Pem: string): ParsedRequest {
  let request: forge.pki.CertificateSigningRequest;
  try {
    request = forge.pki.certificationRequestFromPem(Buffer.from(base64Pem, 'base64').toString('utf8'));
  } catch (err) {
    throw new CsrError(`spec.request is not a PEM certificate request: ${(err as Error).message}`);
  }
  if (!request.verify()) throw new CsrError('the request is not signed by its own key');
  if (request.publicKey === null) throw new CsrError('the request carries no public key');
  const attrs: forge.pki.CertificateField[] = request.subject.attributes;
  const extensionRequest = request.getAttribute({ name: 'extensionRequest' }) as { extensions?: { name: string; altNames?: { type: number; value?: string; ip?: string }[] }[] } | null;
  const san = extensionRequest?.extensions?.find((e) => e.name === 'subjectAltName')?.altNames ?? [];
  return {
    commonName: String(attrs.find((a) => a.name === 'commonName')?.value ?? ''),
    organizations: attrs.filter((a) => a.name === 'organizationName').map((a) => String(a.value)),
    dnsNames: san.filter((n) => n.type === 2).map((n) => n.value ?? ''),
    ipAddresses: san.filter((n) => n.type === 7).map((n) => n.ip ?? ''),
    publicKeyPem: forge.pki.publicKeyToPem(request.publicKey),
  };
}

export type Decision = { kind: 'approve'; reason: string; message: string } | { kind: 'wait'; why: string };

const clientUsages = new Set(['client auth', 'digital signature', 'key encipherment']);
const servingUsages = new Set(['server auth', 'digital signature', 'key encipherment']);

function usagesWithin(usages: readonly string[] | undefined, allowed: Set<string>, required: string): boolean {
  const list = usages ?? [];
  return list.includes(required) && list.every((u) => allowed.has(u));
}

export function isDecided(csr: CsrObject): boolean {
  return (csr.status?.conditions ?? []).some((c) => c.type === 'Approved' || c.type === 'Denied');
}

/**
 * Whether the control plane approves this request by itself. `nodeAddresses` are the addresses and
 * hostnames the named node reports, for serving certificates.
 */
export function decide(csr: CsrObject, parsed: ParsedRequest, nodeAddresses: (node: string) => readonly string[]): Decision {
  const groups = csr.spec.groups ?? [];
  const username = csr.spec.username ?? '';
  const node = parsed.commonName.startsWith('system:node:') ? parsed.commonName.slice('system:node:'.length) : undefined;
  if (node === undefined || node === '') return { kind: 'wait', why: 'the subject is not system:node:<name>' };
  if (parsed.organizations.length !== 1 || parsed.organizations[0] !== 'system:nodes') return { kind: 'wait', why: 'the subject organization is not exactly system:nodes' };

  if (csr.spec.signerName === kubeletClientSigner) {
    if (parsed.dnsNames.length > 0 || parsed.ipAddresses.length > 0) return { kind: 'wait', why: 'a client certificate request carries names' };
    if (!usagesWithin(csr.spec.usages, clientUsages, 'client auth')) return { kind: 'wait', why: 'usages other than client auth' };
    if (groups.includes('system:bootstrappers')) {
      return { kind: 'approve', reason: 'AutoApproved', message: `node client certificate for ${node}, asked with a bootstrap token` };
    }
    if (username === parsed.commonName && groups.includes('system:nodes')) {
      return { kind: 'approve', reason: 'AutoApproved', message: `certificate renewal by node ${node}` };
    }
    return { kind: 'wait', why: `asked by ${username}, neither a bootstrap token nor node ${node} itself` };
  }

  if (csr.spec.signerName === kubeletServingSigner) {
    if (username !== parsed.commonName || !groups.includes('system:nodes')) return { kind: 'wait', why: 'a serving certificate must be asked for by the node itself' };
    if (!usagesWithin(csr.spec.usages, servingUsages, 'server auth')) return { kind: 'wait', why: 'usages other than server auth' };
    const known = new Set(nodeAddresses(node));
    const names = [...parsed.dnsNames, ...parsed.ipAddresses];
    if (names.length === 0) return { kind: 'wait', why: 'a serving certificate request without names' };
    const foreign = names.filter((n) => !known.has(n));
    if (foreign.length > 0) return { kind: 'wait', why: `names not reported by node ${node}: ${foreign.join(', ')}` };
    return { kind: 'approve', reason: 'AutoApproved', message: `serving certificate for node ${node}` };
  }

  return { kind: 'wait', why: `signer ${csr.spec.signerName} is not approved automatically` };
}

/** Issues the certificate for an approved request, signed by the cluster CA, backdated 5 minutes. */
/** forge builds this block when signing but its typings leave the function out. */
const tbsCertificate = (forge.pki as unknown as { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate;

export function signRequest(ca: { cert: string; key: string }, csr: CsrObject, parsed: ParsedRequest, now = Date.now()): string {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(parsed.publicKeyPem);
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  cert.serialNumber = serial.toString('hex');
  const lifetimeSeconds = Math.max(600, Math.min(csr.spec.expirationSeconds ?? 365 * 24 * 3600, 365 * 24 * 3600));
  cert.validity.notBefore = new Date(now - 5 * 60 * 1000);
  cert.validity.notAfter = new Date(now + lifetimeSeconds * 1000);
  cert.setSubject([
    ...parsed.organizations.map((value) => ({ name: 'organizationName', value })),
    { name: 'commonName', value: parsed.commonName },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  const usages = new Set(csr.spec.usages ?? []);
  const altNames = [...parsed.dnsNames.map((value) => ({ type: 2, value })), ...parsed.ipAddresses.map((ip) => ({ type: 7, ip }))];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: usages.has('key encipherment'), critical: true },
    { name: 'extKeyUsage', clientAuth: usages.has('client auth'), serverAuth: usages.has('server auth') },
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
  ]);
  // forge lays out the certificate; Node's crypto makes the signature: forge's JavaScript RSA
  // takes ~100 ms a certificate here, which serialised 1,000 nodes' joins behind one another
  const signer = {
    sign: () => {
      const tbs = Buffer.from(forge.asn1.toDer(tbsCertificate(cert)).getBytes(), 'binary');
      return nodeSign('sha256', tbs, createPrivateKey(ca.key)).toString('binary');
    },
  };
  cert.sign(signer as unknown as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
