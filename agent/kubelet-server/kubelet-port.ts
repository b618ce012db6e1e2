/**
 * Brings the kubelet port up beside the agent's other loops: get the serving certificate (which
 * needs the registered Node, and may wait for the control plane to sign it), then listen. It runs
 * in the background so a slow signer never delays the node becoming ready; until it listens,
 * the API server's log/exec calls to this node fail with "not reachable", as upstream's do.
 */
import type { Logger } from 'pino';
import type { CriRuntime } from '../../cri/runtime.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { Pod } from '../../kube/corev1.ts';
import { KubeletAuthorizer, subjectAccessReviewer } from './authorization.ts';
import { KubeletServer } from './server.ts';
import { obtainServingCertificate, type ServingCertificate } from './serving-cert.ts';

export interface KubeletPortOptions {
  nodeName: string;
  nodeIP: string;
  address: string;
  port: number;
  /** PEM files given by the operator (--tls-cert-file/--tls-private-key-file); else a CSR. */
  certificate: { certPem: string; keyPem: string } | undefined;
  caPem: string;
  client: KubeClient;
  runtime: CriRuntime;
  pods: () => readonly Pod[];
  podLogDir: string;
  rootDir: string;
  log: Logger;
  /** How long to wait for the serving certificate to be issued (default 60 s). */
  certificateTimeoutMs?: number;
}

export class KubeletPort {
  readonly #options: KubeletPortOptions;
  #server: KubeletServer | undefined;
  #closed = false;
  readonly #stop = new AbortController();
  /** Resolves with the bound port once listening, or undefined when it could not start. */
  readonly listening: Promise<number | undefined>;

  constructor(options: KubeletPortOptions) {
    this.#options = options;
    this.listening = this.#start().catch((err: Error) => {
      options.log.error({ err: err.message, port: options.port }, `the kubelet port could not start (${err.message}); kubectl logs/exec to this node will fail`);
      return undefined;
    });
  }

  async #start(): Promise<number | undefined> {
    const o = this.#options;
    let certificate: ServingCertificate;
    if (o.certificate) {
      certificate = { ...o.certificate, source: 'reused' };
    } else {
      certificate = await obtainServingCertificate({
        client: o.client, caPem: o.caPem, rootDir: o.rootDir, identity: { nodeName: o.nodeName, nodeIP: o.nodeIP },
        timeoutMs: o.certificateTimeoutMs ?? 60_000, nowMs: Date.now(), signal: this.#stop.signal,
      });
    }
    if (this.#closed) return undefined;
    if (certificate.source === 'self-signed') {
      o.log.warn({ problem: certificate.problem }, 'serving the kubelet port with a self-signed certificate: the API server will not trust it until a serving certificate is issued (restart the agent after approving the CSR)');
    } else {
      o.log.info({ source: certificate.source }, 'kubelet serving certificate ready');
    }
    const server = new KubeletServer({
      nodeName: o.nodeName, address: o.address, port: o.port, tls: { cert: certificate.certPem, key: certificate.keyPem, ca: o.caPem },
      runtime: o.runtime, pods: o.pods, authorizer: new KubeletAuthorizer(subjectAccessReviewer(o.client), o.nodeName),
      podLogDir: o.podLogDir, rootDir: o.rootDir, log: o.log,
    });
    const port = await server.listen();
    this.#server = server;
    if (this.#closed) {
      await server.close();
      return undefined;
    }
    o.log.info({ address: o.address, port }, 'kubelet port listening');
    return port;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stop.abort();
    await this.listening;
    await this.#server?.close();
  }
}
