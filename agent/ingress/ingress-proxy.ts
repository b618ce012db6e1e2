/**
 * The built-in ingress proxy of a node (the job k3s gives Traefik): watches Ingresses and
 * IngressClasses, serves those of its controller on the node's HTTP and HTTPS ports, sends each
 * request to a ready endpoint that the service proxy knows, and terminates TLS with the
 * certificates the Ingresses name. Secrets are read one by one (the node may read only those an
 * Ingress names) and read again every `secretPeriodMs`, so a replaced certificate is served
 * within that period without a restart.
 *
 * Lifecycle: the constructor does nothing; start(signal) binds the ports (throws when it cannot)
 * and starts the watches; metricsText() is for the agent's /metrics; close() stops it all.
 */
import type { Logger } from 'pino';
import type { KubeClient } from '../../kube/client.ts';
import { apiListWatch, Informer } from '../../kube/informer.ts';
import { bosunIngressController, type Ingress, type IngressClass } from '../../kube/networkingv1.ts';
import { refs } from '../../kube/resource-ref.ts';
import type { KubeObject } from '../../kube/types.ts';
import type { EndpointSource } from './backends.ts';
import { CertificateStore, defaultCertificate, wantedSecrets, type KeyPair } from './certificates.ts';
import { IngressMetrics } from './metrics.ts';
import { IngressProxyServer, type IngressLimits } from './proxy-server.ts';
import { sanitizeIngress } from './sanitize.ts';
import { buildRouteTable, servedIngresses, type RouteTable } from './router.ts';

interface IngressProxyOptions {
  client: KubeClient;
  endpoints: EndpointSource;
  log: Logger;
  address: string;
  httpPort: number;
  httpsPort: number;
  /** How often the Secrets named for TLS are read again (default 5 s). */
  secretPeriodMs?: number;
  limits?: Partial<IngressLimits>;
  /** Where access log lines go (default: the logger, at info). */
  accessLog?: (line: string) => void;
}

const tlsSecretType = 'kubernetes.io/tls';

export class IngressProxy {
  readonly metrics = new IngressMetrics();
  readonly #options: IngressProxyOptions;
  readonly #ingresses: Informer<KubeObject>;
  readonly #classes: Informer<KubeObject>;
  #routes: RouteTable = buildRouteTable([]);
  #served: Ingress[] = [];
  #rebuildQueued = false;
  /** Problems last reported per Ingress, so each is logged once. */
  #leftOut = new Map<string, string>();
  #server: IngressProxyServer | undefined;
  #certificates: CertificateStore | undefined;
  #secretTimer: NodeJS.Timeout | undefined;
  /** What was last reported about each Secret, so a problem is logged once, not every period. */
  readonly #reported = new Map<string, string>();
  #running: Promise<unknown> | undefined;

  constructor(options: IngressProxyOptions) {
    this.#options = options;
    this.#ingresses = new Informer(apiListWatch(options.client, refs.ingresses));
    this.#classes = new Informer(apiListWatch(options.client, refs.ingressclasses));
  }

  /** The route table in use (for tests and diagnostics). */
  get routes(): RouteTable {
    return this.#routes;
  }

  async start(signal: AbortSignal): Promise<void> {
    const { log } = this.#options;
    const fallback: KeyPair = await defaultCertificate();
    this.#certificates = new CertificateStore(fallback);
    this.#server = new IngressProxyServer({
      routes: () => this.#routes,
      endpoints: this.#options.endpoints,
      certificates: this.#certificates,
      defaultCertificate: fallback,
      metrics: this.metrics,
      accessLog: this.#options.accessLog ?? ((line) => log.info({ access: line }, 'ingress request')),
      onError: (err) => log.error({ err: err.message }, 'an ingress request failed inside the proxy: answered 502'),
      ...(this.#options.limits ? { limits: this.#options.limits } : {}),
    });
    await this.#server.listen(this.#options.address, {
      ...(this.#options.httpPort > 0 ? { http: this.#options.httpPort } : {}),
      ...(this.#options.httpsPort > 0 ? { https: this.#options.httpsPort } : {}),
    });
    const changed = {
      onAdd: () => this.#queueRebuild(),
      onUpdate: () => this.#queueRebuild(),
      onDelete: () => this.#queueRebuild(),
    };
    this.#ingresses.addHandlers(changed);
    this.#classes.addHandlers(changed);
    this.#running = Promise.all([this.#ingresses.run(), this.#classes.run()]);
    signal.addEventListener('abort', () => void this.close(), { once: true });
    const period = this.#options.secretPeriodMs ?? 5_000;
    const reload = () => {
      void this.#loadSecrets().finally(() => {
        if (!signal.aborted) this.#secretTimer = setTimeout(reload, period);
      });
    };
    reload();
    log.info(
      { http: this.#options.httpPort, https: this.#options.httpsPort, class: bosunIngressController },
      'ingress proxy listening',
    );
  }

  metricsText(): string {
    return this.metrics.text();
  }

  #queueRebuild(): void {
    if (this.#rebuildQueued) return;
    this.#rebuildQueued = true;
    setImmediate(() => {
      this.#rebuildQueued = false;
      const ingresses: Ingress[] = [];
      const reported = new Map<string, string>();
      for (const raw of this.#ingresses.list()) {
        const { ingress, problems } = sanitizeIngress(raw);
        if (ingress !== undefined) ingresses.push(ingress);
        if (problems.length === 0) continue;
        const key = `${raw.metadata?.namespace}/${raw.metadata?.name}`;
        const text = problems.join('; ');
        reported.set(key, text);
        if (this.#leftOut.get(key) !== text)
          this.#options.log.warn(
            { ingress: key, problems },
            'parts of an Ingress the API should have refused are left out',
          );
      }
      this.#leftOut = reported;
      this.#served = servedIngresses(ingresses, this.#classes.list() as unknown as IngressClass[]);
      this.#routes = buildRouteTable(this.#served);
      void this.#loadSecrets();
    });
  }

  /** Reads every Secret the served Ingresses name and gives the certificate store what fits. */
  async #loadSecrets(): Promise<void> {
    const certificates = this.#certificates;
    if (certificates === undefined) return;
    const wanted = wantedSecrets(this.#served);
    const pairs: { hosts: readonly string[]; pair: KeyPair; source: string }[] = [];
    const problems = new Map<string, string>();
    for (const secret of wanted) {
      const source = `${secret.namespace}/${secret.name}`;
      try {
        const object = (await this.#options.client.get(refs.secrets, secret.name, secret.namespace)) as KubeObject & {
          type?: string;
          data?: Record<string, string>;
        };
        const cert = object.data?.['tls.crt'];
        const key = object.data?.['tls.key'];
        if (object.type !== tlsSecretType && (cert === undefined || key === undefined)) {
          problems.set(source, `not a ${tlsSecretType} Secret`);
          continue;
        }
        if (cert === undefined || key === undefined) {
          problems.set(source, 'no tls.crt and tls.key');
          continue;
        }
        pairs.push({
          hosts: secret.hosts,
          pair: {
            certPem: Buffer.from(cert, 'base64').toString('utf8'),
            keyPem: Buffer.from(key, 'base64').toString('utf8'),
          },
          source,
        });
      } catch (err) {
        problems.set(source, (err as Error).message);
      }
    }
    for (const problem of certificates.update(pairs)) {
      const [source = '', ...rest] = problem.split(': ');
      problems.set(source, rest.join(': '));
    }
    for (const [source, problem] of problems) {
      if (this.#reported.get(source) === problem) continue;
      this.#reported.set(source, problem);
      this.#options.log.warn(
        { secret: source, problem },
        'TLS secret of an Ingress not used: the default certificate answers for its hosts',
      );
    }
    for (const source of this.#reported.keys()) if (!problems.has(source)) this.#reported.delete(source);
  }

  async close(): Promise<void> {
    if (this.#secretTimer !== undefined) clearTimeout(this.#secretTimer);
    this.#ingresses.stop();
    this.#classes.stop();
    await this.#server?.close();
    await this.#running;
  }
}
