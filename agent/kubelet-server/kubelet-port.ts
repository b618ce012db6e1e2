/**
 * Brings the kubelet port up beside the agent's other loops: get the serving certificate (which
 * needs the registered Node, and may wait for the control plane to sign it), then listen. It runs
 * in the background so a slow signer never delays the node becoming ready; until it listens,
 * the API server's log/exec calls to this node fail with "not reachable", as upstream's do.
 */
import type { VolumeUsage } from './volume-stats.ts';
import type { Logger } from 'pino';
import type { CriRuntime } from '../../cri/runtime.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { Pod } from '../../kube/corev1.ts';
import { KubeletAuthorizer, subjectAccessReviewer } from './authorization.ts';
import { KubeletServer } from './server.ts';
import {
  obtainServingCertificate,
  renewalDueMs,
  renewServingCertificate,
  type ServingCertificate,
} from './serving-cert.ts';
import { systemClock, type Clock } from '../../kube/clock.ts';

interface KubeletPortOptions {
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
  /** Usage of the pods' persistent volumes; absent: none. */
  volumes?: () => Promise<readonly VolumeUsage[]>;
  podLogDir: string;
  rootDir: string;
  log: Logger;
  /** How long to wait for the serving certificate to be issued (default 60 s). */
  certificateTimeoutMs?: number;
  /** How soon to ask again after a self-signed fallback or a failed renewal (default 30 s). */
  certificateRetryMs?: number;
  clock?: Clock;
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
      options.log.error(
        { err: err.message, port: options.port },
        `the kubelet port could not start (${err.message}); kubectl logs/exec to this node will fail`,
      );
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
        client: o.client,
        caPem: o.caPem,
        rootDir: o.rootDir,
        identity: { nodeName: o.nodeName, nodeIP: o.nodeIP },
        timeoutMs: o.certificateTimeoutMs ?? 60_000,
        nowMs: Date.now(),
        signal: this.#stop.signal,
      });
    }
    if (this.#closed) return undefined;
    if (certificate.source === 'self-signed') {
      o.log.warn(
        { problem: certificate.problem },
        'serving the kubelet port with a self-signed certificate: the API server will not trust it until a serving certificate is issued; asking again every 30 s',
      );
    } else {
      o.log.info({ source: certificate.source }, 'kubelet serving certificate ready');
    }
    const server = new KubeletServer({
      nodeName: o.nodeName,
      address: o.address,
      port: o.port,
      tls: { cert: certificate.certPem, key: certificate.keyPem, ca: o.caPem },
      runtime: o.runtime,
      pods: o.pods,
      ...(o.volumes ? { volumes: o.volumes } : {}),
      authorizer: new KubeletAuthorizer(subjectAccessReviewer(o.client), o.nodeName),
      podLogDir: o.podLogDir,
      rootDir: o.rootDir,
      log: o.log,
    });
    const port = await server.listen();
    this.#server = server;
    if (this.#closed) {
      await server.close();
      return undefined;
    }
    o.log.info({ address: o.address, port }, 'kubelet port listening');
    if (!o.certificate) void this.#renewLoop(server, certificate);
    return port;
  }

  /**
   * Keeps the serving certificate current: replaces a self-signed fallback as soon as the cluster
   * issues one, and renews an issued one before it expires (no restart needed either way).
   */
  async #renewLoop(server: KubeletServer, current: ServingCertificate): Promise<void> {
    const o = this.#options;
    const clock = o.clock ?? systemClock;
    const retryMs = o.certificateRetryMs ?? 30_000;
    let due = renewalDueMs(current, clock.now(), retryMs);
    while (!this.#closed) {
      await new Promise<void>((resolve) => {
        const timer = clock.after(Math.max(0, due - clock.now()), resolve);
        this.#stop.signal.addEventListener(
          'abort',
          () => {
            timer.cancel();
            resolve();
          },
          { once: true },
        );
      });
      if (this.#closed) return;
      try {
        current = await renewServingCertificate({
          client: o.client,
          rootDir: o.rootDir,
          identity: { nodeName: o.nodeName, nodeIP: o.nodeIP },
          timeoutMs: o.certificateTimeoutMs ?? 60_000,
          signal: this.#stop.signal,
        });
        server.replaceCertificate(current.certPem, current.keyPem);
        o.log.info('kubelet serving certificate issued and now served');
        due = renewalDueMs(current, clock.now(), retryMs);
      } catch (err) {
        if (this.#closed) return;
        o.log.warn({ err: (err as Error).message }, 'could not get a kubelet serving certificate; asking again later');
        due = clock.now() + retryMs;
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stop.abort();
    await this.listening;
    await this.#server?.close();
  }
}
