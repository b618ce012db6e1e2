/**
 * When a certificate is renewed: once two thirds of its life have passed (a third is left), the
 * same rule for the node's client certificate (as the kubelet's certificate manager, which picks a
 * point between 70 and 90 %) and for the control plane's own certificates. A one-year certificate
 * is renewed about four months before it expires, which leaves room for a server that is down for
 * weeks; k3s renews at 90 days left, kubeadm only on upgrade or `kubeadm certs renew`.
 */
import { X509Certificate } from 'node:crypto';

/** Share of a certificate's life after which it is renewed. */
const renewalFraction = 2 / 3;

interface Validity {
  /** Milliseconds since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
}

export function validityOf(certPem: string): Validity {
  const cert = new X509Certificate(certPem);
  return { notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
}

/** notBefore + 2/3 of the validity (a signer's backdating of notBefore only makes it earlier). */
export function renewalDeadline(validity: Validity): number {
  return validity.notBefore + (validity.notAfter - validity.notBefore) * renewalFraction;
}

/** Whether the certificate should be renewed at `now`. */
export const renewalDue = (validity: Validity, now: number): boolean => now >= renewalDeadline(validity);
