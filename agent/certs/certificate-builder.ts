/**
 * The certificates and certificate requests a node makes for itself, written with node:crypto and
 * a few lines of DER (der.ts) instead of a certificate library: the agent makes one at start (the
 * kubelet port's request, the ingress proxy's default certificate) and rarely again, and the
 * libraries stayed in its memory for good (bench/agent-footprint.ts shows what each costs).
 */
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import {
  bitString,
  booleanTrue,
  explicit,
  implicitPrimitive,
  namedBits,
  nullValue,
  objectIdentifier,
  octetString,
  sequence,
  set,
  time,
  unsignedInteger,
  utf8String,
} from './der.ts';

/** A distinguished name as an ordered list of attributes, e.g. [['O', 'system:nodes'], ['CN', 'system:node:a']]. */
type DistinguishedName = readonly (readonly ['CN' | 'O', string])[];

export interface SubjectAltNames {
  dns: readonly string[];
  ips: readonly string[];
}

const attributeTypes = { CN: '2.5.4.3', O: '2.5.4.10' } as const;

function name(attributes: DistinguishedName): Buffer {
  return sequence(
    ...attributes.map(([type, value]) => set(sequence(objectIdentifier(attributeTypes[type]), utf8String(value)))),
  );
}

/** sha256 with the key's own algorithm: ECDSA P-256 (as kubelets make) or RSA PKCS #1 v1.5. */
function signatureAlgorithm(key: KeyObject): Buffer {
  const type = key.asymmetricKeyType;
  if (type === 'ec') return sequence(objectIdentifier('1.2.840.10045.4.3.2'));
  if (type === 'rsa') return sequence(objectIdentifier('1.2.840.113549.1.1.11'), nullValue());
  throw new Error(`certificates are signed with an EC or RSA key here, not ${String(type)}`);
}

/** The four or sixteen bytes of an address (a SAN's iPAddress). */
function addressBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new Error(`not an IP address: ${ip}`);
  // a trailing dotted quad (::ffff:10.0.0.1) is two groups
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(ip)?.[1];
  const text =
    tail === undefined
      ? ip
      : ip.slice(0, -tail.length) +
        addressBytes(tail)
          .toString('hex')
          .replace(/^(.{4})/, '$1:');
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const missing = 8 - groups(head).length - groups(rest).length;
  const all =
    rest === undefined ? groups(head) : [...groups(head), ...Array<string>(missing).fill('0'), ...groups(rest)];
  return Buffer.from(all.map((group) => group.padStart(4, '0')).join(''), 'hex');
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return sequence(objectIdentifier(oid), ...(critical ? [booleanTrue()] : []), octetString(value));
}

/** A dNSName is IA5 (ASCII) text: anything else is refused rather than written as other bytes. */
function dnsNameBytes(dns: string): Buffer {
  if (!/^[\x21-\x7e]+$/.test(dns)) throw new Error(`not a DNS name for a certificate: ${JSON.stringify(dns)}`);
  return Buffer.from(dns, 'ascii');
}

function subjectAltName(sans: SubjectAltNames): Buffer {
  return extension(
    '2.5.29.17',
    false,
    sequence(
      ...sans.dns.map((dns) => implicitPrimitive(2, dnsNameBytes(dns))),
      ...sans.ips.map((ip) => implicitPrimitive(7, addressBytes(ip))),
    ),
  );
}

const hasNames = (sans: SubjectAltNames | undefined): sans is SubjectAltNames =>
  sans !== undefined && sans.dns.length + sans.ips.length > 0;

/** A signed structure: the signed part, the algorithm, the signature (certificates and requests alike). */
function signed(toBeSigned: Buffer, key: KeyObject): Buffer {
  return sequence(toBeSigned, signatureAlgorithm(key), bitString(sign('sha256', toBeSigned, key)));
}

function pemOf(label: string, der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** A PKCS #10 request (RFC 2986) for `subject`, asking for the names as SANs when there are any. */
export function certificateRequestPem(
  subject: DistinguishedName,
  sans: SubjectAltNames | undefined,
  keys: { publicKey: KeyObject; privateKey: KeyObject },
): string {
  const extensionRequest = '1.2.840.113549.1.9.14';
  const attributes = hasNames(sans)
    ? [sequence(objectIdentifier(extensionRequest), set(sequence(subjectAltName(sans))))]
    : [];
  const info = sequence(
    unsignedInteger(Buffer.from([0])),
    name(subject),
    keys.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(0, ...attributes),
  );
  return pemOf('CERTIFICATE REQUEST', signed(info, keys.privateKey));
}

interface SelfSignedOptions {
  commonName: string;
  notBefore: Date;
  notAfter: Date;
  sans?: SubjectAltNames;
  /** Key encipherment besides digital signature: for an RSA key, as a TLS server's certificate has. */
  keyEncipherment: boolean;
}

/** A self-signed end-entity certificate for a TLS server (not a CA), as X.509 v3 (RFC 5280). */
export function selfSignedCertificatePem(
  options: SelfSignedOptions,
  keys: { publicKey: KeyObject; privateKey: KeyObject },
): string {
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  const subject = name([['CN', options.commonName]]);
  const extensions = [
    extension('2.5.29.19', true, sequence()),
    extension('2.5.29.15', true, namedBits(options.keyEncipherment ? [0, 2] : [0])),
    extension('2.5.29.37', false, sequence(objectIdentifier('1.3.6.1.5.5.7.3.1'))),
    ...(hasNames(options.sans) ? [subjectAltName(options.sans)] : []),
  ];
  const toBeSigned = sequence(
    explicit(0, unsignedInteger(Buffer.from([2]))),
    unsignedInteger(serial),
    signatureAlgorithm(keys.privateKey),
    subject,
    sequence(time(options.notBefore), time(options.notAfter)),
    subject,
    keys.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...extensions)),
  );
  return pemOf('CERTIFICATE', signed(toBeSigned, keys.privateKey));
}
