/**
 * The control plane's own certificates besides the CA, by the names `bosun certs` uses (kubeadm's
 * where there is one): each one's file under pki/ and what it is issued for. The scheduler and the
 * controllers reach the API with the admin identity (as one process with the API server), so
 * renewing `admin.kubeconfig` renews theirs.
 */
import { isIP } from 'node:net';
import type { LeafRequest } from './certificates.ts';

export interface ControlPlaneCertificate {
  /** The name `bosun certs check-expiration` prints and `bosun certs renew` takes. */
  readonly name: string;
  /** `<file>.crt` and `<file>.key` under pki/. */
  readonly file: string;
  /** What it is for, in a few words. */
  readonly purpose: string;
  /** The request it is issued from; `servingNames` are the names and addresses the server answers to. */
  request(servingNames: readonly string[]): Omit<LeafRequest, 'days' | 'lifetimeMs'>;
}

export const controlPlaneCertificates: readonly ControlPlaneCertificate[] = [
  {
    // also embedded in admin.kubeconfig, which is rewritten with it
    name: 'admin.kubeconfig',
    file: 'admin',
    purpose: 'the admin client certificate, also in admin.kubeconfig',
    request: () => ({ commonName: 'kubernetes-admin', organizations: ['system:masters'], usage: 'client' }),
  },
  {
    name: 'apiserver',
    file: 'apiserver',
    purpose: "the API server's serving certificate",
    request: (names) => ({
      commonName: 'kube-apiserver',
      dnsNames: names.filter((n) => !isIP(n)),
      ipAddresses: names.filter((n) => isIP(n)),
      usage: 'server',
    }),
  },
  {
    // what the server presents to kubelet ports (logs, exec, port-forward)
    name: 'apiserver-kubelet-client',
    file: 'apiserver-kubelet-client',
    purpose: 'the client certificate the API server presents to kubelets',
    request: () => ({
      commonName: 'kube-apiserver-kubelet-client',
      organizations: ['system:masters'],
      usage: 'client',
    }),
  },
];

/** The CA's pair under pki/ (`ca.crt`, `ca.key`). */
export const caFile = 'ca';

export const certificateNames = controlPlaneCertificates.map((c) => c.name);
