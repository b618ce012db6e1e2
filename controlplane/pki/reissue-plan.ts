/**
 * Which of the control plane's certificates to issue again, from what is on disk (pure: the files'
 * contents and the time in, a list out). A certificate is issued again when it is missing, when a
 * third of its life is left (kube/certificate-renewal.ts), when it was not issued by the current
 * CA, when the serving certificate does not name every address the server answers to, or when the
 * operator asked (`bosun certs renew`).
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { renewalDue, validityOf } from '../../kube/certificate-renewal.ts';

type ReissueReason = 'missing' | 'due' | 'other-issuer' | 'names' | 'asked';

interface ObservedCertificate {
  readonly name: string;
  /** PEM, undefined when the file is not there. */
  readonly cert: string | undefined;
  /** Names and addresses it must hold (the serving certificate's). */
  readonly requiredNames?: readonly string[];
}

export interface Reissue {
  readonly name: string;
  readonly reason: ReissueReason;
}

function coversNames(cert: X509Certificate, names: readonly string[]): boolean {
  return names.every((name) => (isIP(name) ? cert.checkIP(name) !== undefined : cert.checkHost(name) !== undefined));
}

function reasonFor(
  observed: ObservedCertificate,
  ca: X509Certificate,
  now: number,
  asked: ReadonlySet<string>,
): ReissueReason | undefined {
  if (observed.cert === undefined) return 'missing';
  if (asked.has(observed.name)) return 'asked';
  const cert = new X509Certificate(observed.cert);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'other-issuer';
  if (observed.requiredNames !== undefined && !coversNames(cert, observed.requiredNames)) return 'names';
  if (renewalDue(validityOf(observed.cert), now)) return 'due';
  return undefined;
}

export function planReissue(
  observed: readonly ObservedCertificate[],
  caPem: string,
  now: number,
  asked: ReadonlySet<string> = new Set(),
): Reissue[] {
  const ca = new X509Certificate(caPem);
  return observed.flatMap((o) => {
    const reason = reasonFor(o, ca, now, asked);
    return reason === undefined ? [] : [{ name: o.name, reason }];
  });
}
