/**
 * The kubelet port (default 10250): HTTPS with the node's serving certificate, client certificates
 * from the cluster CA as the only way in (no anonymous access, no read-only port), and every
 * request authorized (see authorization.ts) before it is routed:
 *
 *   GET  /healthz                                  ok
 *   GET  /pods                                     PodList of the pods this agent runs
 *   GET  /containerLogs/<ns>/<pod>/<container>     container-logs.ts
 *   *    /exec|/attach/<ns>/<pod>[/<uid>]/<container>, /portForward/<ns>/<pod>[/<uid>]   streaming.ts (upgrade only)
 *   POST /run/<ns>/<pod>[/<uid>]/<container>?cmd=  ExecSync, the output as the body
 *   GET  /stats/summary, /metrics, /metrics/resource
 *
 * Lifecycle: the constructor does nothing; listen() binds, close() ends every connection.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { VolumeUsage } from './volume-stats.ts';
import type { CriRuntime } from '../../cri/runtime.ts';
import type { Pod } from '../../kube/corev1.ts';
import { userFromCertificate, type KubeletAuthorizer } from './authorization.ts';
import { serveContainerLogs } from './container-logs.ts';
import { kubeletMetricsText, resourceMetricsText } from './metrics.ts';
import { processMetricsText } from '../../kube/prometheus-text.ts';
import { KubeletRequestError } from './request-error.ts';
import { requestLabels } from './request-labels.ts';
import { observeStats, summarize, type HostSample } from './stats.ts';
import { runningContainerId, spliceToRuntime, streamingUrl, type StreamKind } from './streaming.ts';
import { chooseStreamTranslation } from './stream-translation-choice.ts';
import { systemClock, type Clock } from '../../kube/clock.ts';

interface KubeletServerOptions {
  nodeName: string;
  address: string;
  /** 0: any free port (tests). */
  port: number;
  tls: { cert: string; key: string; ca: string };
  runtime: CriRuntime;
  /** The pods bound to this node, as the agent knows them. */
  pods: () => readonly Pod[];
  authorizer: KubeletAuthorizer;
  podLogDir: string;
  rootDir: string;
  log: Logger;
  clock?: Pick<Clock, 'now'>;
  /** Usage of the pods' persistent volumes (stats summary, kubelet_volume_stats_*); absent: none. */
  volumes?: () => Promise<readonly VolumeUsage[]>;
}

const streamKinds: Record<string, StreamKind> = { exec: 'exec', attach: 'attach', portForward: 'portForward' };

/** The request's URL; a request line no URL parser accepts is the client's mistake (400). */
function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'https://kubelet');
  } catch {
    throw new KubeletRequestError(400, 'the request URL cannot be parsed');
  }
}

/** The path's segments, percent-decoded; a broken escape (`%zz`) is the client's mistake (400). */
function pathSegments(url: URL): string[] {
  try {
    return url.pathname
      .split('/')
      .slice(1)
      .map((p) => decodeURIComponent(p));
  } catch {
    throw new KubeletRequestError(400, `${url.pathname}: the path has an invalid percent escape`);
  }
}

export class KubeletServer {
  readonly #options: KubeletServerOptions;
  readonly #server: Server;
  readonly #requests = new Map<string, number>();
  #previousHost: HostSample | undefined;

  constructor(options: KubeletServerOptions) {
    this.#options = options;
    this.#server = createServer(
      {
        cert: options.tls.cert,
        key: options.tls.key,
        ca: options.tls.ca,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => void this.#handle(req, res),
    );
    this.#server.on(
      'upgrade',
      (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.#handleUpgrade(req, socket, head),
    );
    // a client that never finishes its handshake must not hold a socket for ever
    this.#server.on('tlsClientError', (_err, socket) => socket.destroy());
  }

  /** Serves a new certificate from now on (connections already open keep theirs). */
  replaceCertificate(certPem: string, keyPem: string): void {
    this.#server.setSecureContext({ cert: certPem, key: keyPem, ca: this.#options.tls.ca });
  }

  /** Binds; resolves with the port actually bound. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.address, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : this.#options.port;
  }

  /** Stops accepting and ends open connections (followed logs and streams too); safe twice. */
  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  #now(): number {
    return (this.#options.clock ?? systemClock).now();
  }

  #count(req: IncomingMessage, path: string, code: number): void {
    const labels = requestLabels(req.method ?? 'GET', path, code, this.#user(req) !== undefined);
    const key = `${labels.method} ${labels.path} ${labels.code}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
  }

  /** The client's identity from its certificate; undefined without one the cluster CA signed. */
  #user(req: IncomingMessage): ReturnType<typeof userFromCertificate> {
    const socket = req.socket as TLSSocket;
    const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
    return peer?.subject
      ? userFromCertificate(peer.subject as unknown as Record<string, string | string[]>)
      : undefined;
  }

  /** Authentication and authorization, for plain and upgraded requests alike. */
  async #admit(req: IncomingMessage, url: URL): Promise<void> {
    const user = this.#user(req);
    const decision = await this.#options.authorizer.decide(user, req.method ?? 'GET', url.pathname);
    if (!decision.allowed) throw new KubeletRequestError(decision.code, decision.message);
  }

  #pod(namespace: string | undefined, name: string | undefined, uid?: string): Pod {
    const pod = this.#options
      .pods()
      .find(
        (p) =>
          (p.metadata.namespace ?? 'default') === namespace &&
          p.metadata.name === name &&
          (uid === undefined || p.metadata.uid === uid),
      );
    if (!pod)
      throw new KubeletRequestError(404, `pod ${namespace}/${name} does not exist on node ${this.#options.nodeName}`);
    return pod;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let pathname = '/';
    res.on('close', () => this.#count(req, pathname, res.statusCode));
    try {
      const url = requestUrl(req);
      pathname = url.pathname;
      const method = req.method ?? 'GET';
      await this.#admit(req, url);
      await this.#route(method, url, req, res);
    } catch (err) {
      const status = err instanceof KubeletRequestError ? err.status : 500;
      if (!(err instanceof KubeletRequestError))
        this.#options.log.warn({ err: (err as Error).message, path: pathname }, 'kubelet request failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = (err as Error).message.split('\n')[0];
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, private' });
      res.end(`${message}\n`);
    }
  }

  async #route(method: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts = pathSegments(url);
    const [head, ...rest] = parts;
    const o = this.#options;
    const json = (body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    const text = (body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    const only = (...methods: string[]) => {
      if (!methods.includes(method)) throw new KubeletRequestError(405, `${method} is not allowed on ${url.pathname}`);
    };
    switch (head) {
      case 'healthz':
        only('GET', 'HEAD');
        return text('ok');
      case 'pods':
        only('GET');
        return json({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: o.pods() });
      case 'containerLogs': {
        only('GET');
        if (rest.length !== 3) throw new KubeletRequestError(400, 'use /containerLogs/<namespace>/<pod>/<container>');
        const [namespace, name, container] = rest as [string, string, string];
        return serveContainerLogs({
          pod: this.#pod(namespace, name),
          container,
          query: url.searchParams,
          podLogDir: o.podLogDir,
          runtime: o.runtime,
          res,
          nowMs: this.#now(),
        });
      }
      case 'run': {
        only('POST');
        const { pod, container } = this.#podAndContainer(rest);
        const cmd = (url.searchParams.get('cmd') ?? '').split(' ').filter((s) => s !== '');
        if (cmd.length === 0) throw new KubeletRequestError(400, 'the cmd parameter is required, e.g. ?cmd=ls%20/');
        const id = await runningContainerId(o.runtime, pod, container);
        const result = await o.runtime.execSync(id, cmd, 60);
        const output = Buffer.concat([result.stdout, result.stderr]);
        res.writeHead(result.exitCode === 0 ? 200 : 500, {
          'Content-Type': 'text/plain; charset=utf-8',
          'Content-Length': output.length,
        });
        return void res.end(output);
      }
      case 'exec':
      case 'attach':
      case 'portForward':
        throw new KubeletRequestError(
          400,
          `${head} needs an upgraded connection (websocket or SPDY), as kubectl ${head === 'portForward' ? 'port-forward' : head} makes`,
        );
      case 'stats':
        only('GET');
        if (rest.join('/') !== 'summary')
          throw new KubeletRequestError(404, `${url.pathname}: only /stats/summary is served`);
        return json(await this.#summary());
      case 'metrics': {
        only('GET');
        const type = 'text/plain; version=0.0.4; charset=utf-8';
        if (rest.length === 0) return text(await this.#metrics(), type);
        if (rest.join('/') === 'resource') return text(resourceMetricsText(await this.#summary()), type);
        throw new KubeletRequestError(404, `${url.pathname}: /metrics and /metrics/resource are served`);
      }
      default:
        void req;
        throw new KubeletRequestError(404, `${url.pathname} is not served by this kubelet`);
    }
  }

  /** <ns>/<pod>/<container> or <ns>/<pod>/<uid>/<container>. */
  #podAndContainer(rest: string[]): { pod: Pod; container: string } {
    if (rest.length === 3) return { pod: this.#pod(rest[0], rest[1]), container: rest[2]! };
    if (rest.length === 4) return { pod: this.#pod(rest[0], rest[1], rest[2]), container: rest[3]! };
    throw new KubeletRequestError(400, 'use <namespace>/<pod>[/<uid>]/<container>');
  }

  async #summary(): Promise<Record<string, any>> {
    const o = this.#options;
    const input = await observeStats({
      nodeName: o.nodeName,
      rootDir: o.rootDir,
      runtime: o.runtime,
      pods: o.pods(),
      previousHost: this.#previousHost,
      nowMs: this.#now(),
      ...(o.volumes ? { volumes: o.volumes } : {}),
    });
    // a rate needs two samples some time apart: keep the older one unless it is stale
    if (this.#previousHost === undefined || input.host.timeMs - this.#previousHost.timeMs > 10_000)
      this.#previousHost = input.host;
    return summarize(input);
  }

  async #metrics(): Promise<string> {
    const o = this.#options;
    const [sandboxes, containers] = await Promise.all([
      o.runtime.listPodSandbox({ state: { state: 'SANDBOX_READY' } }),
      o.runtime.listContainers({}),
    ]);
    const byState: Record<string, number> = { created: 0, running: 0, exited: 0, unknown: 0 };
    for (const c of containers) {
      const state = c.state.replace(/^CONTAINER_/, '').toLowerCase();
      byState[state] = (byState[state] ?? 0) + 1;
    }
    return (
      kubeletMetricsText({
        nodeName: o.nodeName,
        runningPods: sandboxes.length,
        containersByState: byState,
        requests: this.#requests,
        volumes: (await o.volumes?.().catch(() => [])) ?? [],
      }) + processMetricsText()
    );
  }

  async #handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // a client that resets the connection ends it here, not in an unhandled 'error' event
    socket.on('error', () => socket.destroy());
    let pathname = '/';
    try {
      const url = requestUrl(req);
      pathname = url.pathname;
      await this.#admit(req, url);
      const [kindText, ...rest] = pathSegments(url);
      const kind = streamKinds[kindText ?? ''];
      if (kind === undefined)
        throw new KubeletRequestError(
          400,
          `${url.pathname} does not take an upgraded connection; only exec, attach and portForward do`,
        );
      let pod: Pod;
      let container: string | undefined;
      if (kind === 'portForward') {
        if (rest.length !== 2 && rest.length !== 3)
          throw new KubeletRequestError(400, 'use /portForward/<namespace>/<pod>[/<uid>]');
        pod = this.#pod(rest[0], rest[1], rest[2]);
      } else {
        ({ pod, container } = this.#podAndContainer(rest));
      }
      const target = await streamingUrl(this.#options.runtime, kind, pod, container, url.searchParams);
      const translation = chooseStreamTranslation(kind, req.headers, url.searchParams);
      if (translation !== 'splice') {
        // loaded here, not at start: the websocket library costs the idle agent memory it rarely needs
        const { translateChannelV5, tunnelPortForward } = await import('./stream-translation.ts');
        if (translation === 'channel-v5-to-v4') await translateChannelV5(target, req, socket, head);
        else await tunnelPortForward(target, req, socket, head);
      } else await spliceToRuntime(target, req, socket, head);
      this.#count(req, pathname, 101);
    } catch (err) {
      const status = err instanceof KubeletRequestError ? err.status : 500;
      this.#count(req, pathname, status);
      const body = `${(err as Error).message.split('\n')[0]}\n`;
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
  }
}
