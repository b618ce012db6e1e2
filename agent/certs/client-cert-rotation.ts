/**
 * Rotation of the node's client certificate (the identity in the agent's kubeconfig), as the
 * kubelet's certificate manager does it: at about two thirds of the certificate's life the agent
 * asks for a new one with a CSR for system:node:<name> (signer kubernetes.io/kube-apiserver-client-kubelet)
 * made with its current certificate — the control plane approves renewals by the node itself — and
 * rewrites the kubeconfig atomically (0600), so a crash never leaves half a credential. A failed
 * attempt is retried; the old certificate keeps working until it expires.
 */
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import type { Clock } from '../../kube/clock.ts';
import type { KubeClient } from '../../kube/client.ts';
import { writeFileAtomically } from '../../kube/atomic-file.ts';
import { renewalDeadline, validityOf } from '../../kube/certificate-renewal.ts';
import { requestNodeCertificate } from './node-csr.ts';

export const kubeletClientSigner = 'kubernetes.io/kube-apiserver-client-kubelet';
/** When a certificate should be renewed: notBefore + 2/3 of its validity (the control plane's own certificates follow the same rule). */
export const rotationDeadline = (certPem: string): number => renewalDeadline(validityOf(certPem));

/** Asks for a renewed client certificate with the node's current credentials and waits until it is issued. */
export function requestClientCertificate(
  client: KubeClient,
  nodeName: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ certPem: string; keyPem: string }> {
  return requestNodeCertificate(
    client,
    {
      namePrefix: `node-csr-${nodeName}`,
      nodeName,
      signerName: kubeletClientSigner,
      purpose: 'client auth',
    },
    timeoutMs,
    signal,
  );
}

interface KubeconfigDoc {
  'current-context'?: string;
  contexts?: { name: string; context: { user: string } }[];
  users?: { name: string; user: Record<string, string> }[];
}

/** The client certificate inside a kubeconfig (its current context's user), as PEM. */
export function kubeconfigCertificate(text: string): string {
  const doc = yaml.load(text) as KubeconfigDoc;
  const userName = doc.contexts?.find((c) => c.name === doc['current-context'])?.context.user ?? doc.users?.[0]?.name;
  const data = doc.users?.find((u) => u.name === userName)?.user['client-certificate-data'];
  if (data === undefined) throw new Error('the kubeconfig has no client-certificate-data to rotate');
  return Buffer.from(data, 'base64').toString('utf8');
}

/** The same kubeconfig with the current user's certificate and key replaced (pure). */
export function withCredentials(text: string, certPem: string, keyPem: string): string {
  const doc = yaml.load(text) as KubeconfigDoc;
  const userName = doc.contexts?.find((c) => c.name === doc['current-context'])?.context.user ?? doc.users?.[0]?.name;
  const user = doc.users?.find((u) => u.name === userName);
  if (user === undefined) throw new Error('the kubeconfig has no user to rotate');
  user.user['client-certificate-data'] = Buffer.from(certPem).toString('base64');
  user.user['client-key-data'] = Buffer.from(keyPem).toString('base64');
  return yaml.dump(doc, { lineWidth: -1 });
}

/** Rewrites the kubeconfig atomically, 0600. */
export function rewriteKubeconfig(path: string, certPem: string, keyPem: string): void {
  writeFileAtomically(path, withCredentials(readFileSync(path, 'utf8'), certPem, keyPem), 0o600);
}

export interface RotatorOptions {
  kubeconfigPath: string;
  clock: Clock;
  /** Issues a new certificate (the seam: a CSR through the API in the agent, a fake in tests). */
  request: () => Promise<{ certPem: string; keyPem: string }>;
  /** Called after the kubeconfig holds the new certificate (the agent's clients pick it up). */
  onRotated?: (certPem: string, keyPem: string) => void;
  onError?: (err: Error) => void;
  retryMs?: number;
}

/** Sleeps on the injected clock until `at`, or until the signal aborts. */
function sleepUntil(clock: Clock, at: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const handle = clock.after(Math.max(0, at - clock.now()), () => {
      signal.removeEventListener('abort', stop);
      resolve();
    });
    const stop = () => {
      handle.cancel();
      resolve();
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}

export class ClientCertRotator {
  readonly #options: RotatorOptions;

  constructor(options: RotatorOptions) {
    this.#options = options;
  }

  /** When the certificate in the kubeconfig is due. */
  deadline(): number {
    return rotationDeadline(kubeconfigCertificate(readFileSync(this.#options.kubeconfigPath, 'utf8')));
  }

  /** Renews now if due; true when it renewed. */
  async rotateIfDue(): Promise<boolean> {
    if (this.#options.clock.now() < this.deadline()) return false;
    const { certPem, keyPem } = await this.#options.request();
    rewriteKubeconfig(this.#options.kubeconfigPath, certPem, keyPem);
    this.#options.onRotated?.(certPem, keyPem);
    return true;
  }

  /** Until aborted: sleep to the deadline, renew, repeat; a failure is retried after retryMs. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.#options;
    while (!signal.aborted) {
      let next: number;
      try {
        next = (await this.rotateIfDue()) ? clock.now() : this.deadline();
      } catch (err) {
        this.#options.onError?.(err as Error);
        next = clock.now() + (this.#options.retryMs ?? 30_000);
      }
      await sleepUntil(clock, next, signal);
    }
  }
}
