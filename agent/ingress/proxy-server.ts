/**
 * The ingress proxy's HTTP side, on Node's own http and http2 modules: a plain HTTP port, and a TLS
 * port that picks its certificate by SNI and speaks HTTP/2 or HTTP/1.1 as ALPN decides. Each request
 * is routed (router.ts), sent over HTTP/1.1 keep-alive to a ready endpoint of the Service
 * (backends.ts) and streamed back as it comes; websockets (HTTP/1.1 Upgrade) are spliced through.
 *
 * Behaviour a client sees:
 * - `X-Forwarded-For` (the client's address), `-Proto`, `-Host` and `-Port` are set by the proxy;
 *   the same headers sent by the client are dropped first (Traefik's default: untrusted clients
 *   cannot pretend to be someone else to the backend);
 * - a connect failure (refused, unreachable, no answer within the connect timeout) is tried once
 *   more on another ready endpoint; so is a reused connection that breaks before a response to
 *   GET, HEAD or OPTIONS. Nothing else is sent twice;
 * - 404 when no rule matches, 503 when the Service has no ready endpoint, 502 when the endpoint
 *   cannot be reached, 504 when it does not answer in time, 413 for a body over the limit;
 * - one access log line per request, in the common log format with the Ingress, the endpoint and
 *   the time taken added.
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import { connect as tcpConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { hopByHopHeaders } from '../../kube/hop-by-hop-headers.ts';
import type { Endpoint } from '../../netproxy/service-port.ts';
import { EndpointPicker, resolve, type EndpointSource } from './backends.ts';
import type { CertificateStore, KeyPair } from './certificates.ts';
import type { IngressMetrics } from './metrics.ts';
import { route, type RouteTable, type RouteTarget } from './router.ts';

export interface IngressLimits {
  /** A request body longer than this is refused with 413 (ingress-nginx's client_max_body_size is 1m; Traefik has none). */
  readonly maxRequestBodyBytes: number;
  /** How long a connection to an endpoint may take before the one retry (or 502). */
  readonly connectTimeoutMs: number;
  /** The longest silence from an endpoint, before its response starts and between its reads (504 before it started). */
  readonly upstreamIdleMs: number;
}

const defaultIngressLimits: IngressLimits = {
  maxRequestBodyBytes: 64 * 1024 * 1024,
  connectTimeoutMs: 3_000,
  upstreamIdleMs: 60_000,
};

interface IngressProxyServerOptions {
  /** The current route table (rebuilt when Ingresses change). */
  routes(): RouteTable;
  endpoints: EndpointSource;
  certificates: CertificateStore;
  /** The certificate for handshakes without SNI. */
  defaultCertificate: KeyPair;
  metrics: IngressMetrics;
  accessLog?: (line: string) => void;
  /** A request's handling threw (a bug): the request got a 502. */
  onError?: (err: Error) => void;
  limits?: Partial<IngressLimits>;
}

type Scheme = 'http' | 'https';
type AnyRequest = IncomingMessage | Http2ServerRequest;
type AnyResponse = ServerResponse | Http2ServerResponse;

/**
 * Request headers never forwarded: the connection's own (HTTP/2's too), the Host (set again), and
 * the forwarding headers the proxy writes itself.
 */
const notForwarded = new Set([
  ...hopByHopHeaders,
  'http2-settings',
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
]);
const retriableMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

function clientAddress(socket: { remoteAddress?: string | undefined } | null | undefined): string {
  const address = socket?.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** The request headers for the endpoint: the client's, minus hop-by-hop ones, plus the forwarding ones. */
function upstreamHeaders(
  req: AnyRequest,
  scheme: Scheme,
  host: string,
  port: number,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const named = new Set(
    String(req.headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase()),
  );
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(':') || notForwarded.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  out.host = host;
  out['x-forwarded-for'] = clientAddress(req.socket);
  out['x-real-ip'] = clientAddress(req.socket);
  out['x-forwarded-proto'] = scheme;
  out['x-forwarded-host'] = host;
  out['x-forwarded-port'] = String(port);
  return out;
}

/** The response headers for the client: the endpoint's, minus hop-by-hop ones. */
function clientHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase()),
  );
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || named.has(name) || hopByHopHeaders.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function requestHost(req: AnyRequest): string {
  const authority = req.headers[':authority'];
  return String(typeof authority === 'string' ? authority : (req.headers.host ?? ''));
}

/** `[07/Dec/2026:10:41:05 +0000]`, as the common log format writes time. */
function logTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number) => String(n).padStart(2, '0');
  return `[${two(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000]`;
}

const quoted = (text: string | undefined) =>
  `"${(text ?? '-').replace(/["\\\n\r]/g, (c) => (c === '"' ? '\\"' : c === '\\' ? '\\\\' : ' '))}"`;

export class IngressProxyServer {
  readonly #options: IngressProxyServerOptions;
  readonly #limits: IngressLimits;
  readonly #picker = new EndpointPicker();
  /** Keep-alive connections to endpoints, shared by every request. */
  readonly #agent = new Agent({
    keepAlive: true,
    maxSockets: Number.POSITIVE_INFINITY,
    maxFreeSockets: 256,
    // an idle connection is let go before the backend would close it (Node servers do after 5 s),
    // so a request is rarely sent on a connection the other side is closing
    timeout: 4_000,
  });
  readonly #http: Server;
  readonly #https: Http2SecureServer;
  readonly #connections = new Set<Socket>();

  constructor(options: IngressProxyServerOptions) {
    this.#options = options;
    this.#limits = { ...defaultIngressLimits, ...options.limits };
    this.#http = createServer((req, res) => this.#guarded(() => this.#handle(req, res, 'http'), res));
    this.#http.on('upgrade', (req, socket, head) =>
      this.#guarded(() => this.#upgrade(req, socket, head, 'http'), socket),
    );
    this.#https = createSecureServer(
      {
        allowHTTP1: true,
        cert: options.defaultCertificate.certPem,
        key: options.defaultCertificate.keyPem,
        SNICallback: (name, done) => done(null, options.certificates.contextFor(name)),
      },
      (req, res) => this.#guarded(() => this.#handle(req, res, 'https'), res),
    );
    for (const server of [this.#http, this.#https]) {
      server.on('connection', (socket: Socket) => {
        this.#connections.add(socket);
        socket.once('close', () => this.#connections.delete(socket));
      });
    }
    // HTTP/1.1 clients on the TLS port come through the same server, upgrades included
    this.#https.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#guarded(() => this.#upgrade(req, socket, head, 'https'), socket),
    );
  }

  /**
   * Runs a request's handling; a bug or a value Node refuses (a header it will not write) ends
   * that request with 502, never the agent.
   */
  #guarded(handle: () => void, out: AnyResponse | Duplex): void {
    try {
      handle();
    } catch (err) {
      this.#options.onError?.(err as Error);
      if ('headersSent' in out && !out.headersSent) {
        (out as ServerResponse).writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
        out.end('502 bad gateway\n');
      } else out.destroy();
    }
  }

  /** Listens on the ports given (0: one the system picks; absent: none); resolves once bound. */
  async listen(address: string, ports: { http?: number; https?: number }): Promise<void> {
    const bind = (server: Server | Http2SecureServer, port: number | undefined) =>
      new Promise<void>((resolvePromise, reject) => {
        if (port === undefined) return resolvePromise();
        server.once('error', reject);
        server.listen(port, address, () => {
          server.off('error', reject);
          resolvePromise();
        });
      });
    try {
      await bind(this.#http, ports.http);
      await bind(this.#https, ports.https);
    } catch (err) {
      // one port bound and the other not: let go of both, so a caller may try again
      await this.close();
      throw err;
    }
  }

  /** The ports bound, for callers that asked for any. */
  ports(): { http: number | undefined; https: number | undefined } {
    const portOf = (server: Server | Http2SecureServer) => {
      const a = server.address();
      return a !== null && typeof a === 'object' ? a.port : undefined;
    };
    return { http: portOf(this.#http), https: portOf(this.#https) };
  }

  /** Stops listening and drops open connections. */
  async close(): Promise<void> {
    const stop = (server: Server | Http2SecureServer) =>
      new Promise<void>((resolvePromise) => {
        if (!server.listening) return resolvePromise();
        server.close(() => resolvePromise());
      });
    this.#agent.destroy();
    // every client connection, HTTP/2 sessions and upgraded sockets too: close() alone waits for them
    for (const socket of this.#connections) socket.destroy();
    await Promise.all([stop(this.#http), stop(this.#https)]);
  }

  #handle(req: AnyRequest, res: AnyResponse, scheme: Scheme): void {
    const started = performance.now();
    const host = requestHost(req);
    const target = route(this.#options.routes(), host, req.url ?? '/');
    let upstream = '-';
    let bytes = 0;
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      const seconds = (performance.now() - started) / 1000;
      this.#options.metrics.record({ ingress: target?.ingress ?? '', service: target?.service ?? '', code, seconds });
      this.#options.accessLog?.(
        `${clientAddress(req.socket)} - - ${logTime(new Date())} ${quoted(`${req.method} ${req.url} HTTP/${req.httpVersion}`)} ${code} ${bytes} ${quoted(req.headers.referer)} ${quoted(req.headers['user-agent'])} ${quoted(target?.ingress)} ${quoted(target === undefined ? undefined : `${target.namespace}/${target.service}`)} ${quoted(upstream)} ${Math.round(seconds * 1000)}ms`,
      );
    };
    const answer = (code: number, text: string) => {
      if (!res.headersSent) {
        // headers of a response that could not be written stay on it; they must not go out again
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        (res as ServerResponse).writeHead(code, {
          'content-type': 'text/plain; charset=utf-8',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      } else res.destroy();
      bytes = Buffer.byteLength(text);
      finish(code);
    };
    if (target === undefined) return answer(404, '404 page not found\n');
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.#limits.maxRequestBodyBytes) return answer(413, '413 request entity too large\n');
    const resolution = resolve(this.#options.endpoints.state, target);
    if (resolution.kind !== 'endpoints') return answer(503, '503 no available server\n');
    const { first, retry } = this.#picker.pick(resolution.key, resolution.endpoints);
    const localPort = req.socket?.localPort ?? (scheme === 'https' ? 443 : 80);
    const headers = upstreamHeaders(req, scheme, host, localPort);

    const attempt = (endpoint: Endpoint, last: boolean): void => {
      upstream = `${endpoint.ip}:${endpoint.port}`;
      let connected = false;
      let responded = false;
      const out = httpRequest({
        host: endpoint.ip,
        port: endpoint.port,
        method: req.method,
        path: req.url,
        headers,
        agent: this.#agent,
      });
      const connectTimer = setTimeout(() => {
        if (!connected) out.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
      }, this.#limits.connectTimeoutMs);
      let received = 0;
      const sendBody = () => {
        connected = true;
        clearTimeout(connectTimer);
        req.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > this.#limits.maxRequestBodyBytes) {
            out.destroy();
            req.unpipe?.(out);
            answer(413, '413 request entity too large\n');
          }
        });
        req.pipe(out);
      };
      out.on('socket', (socket: Socket) => {
        if (socket.connecting) socket.once('connect', sendBody);
        else sendBody();
      });
      out.setTimeout(this.#limits.upstreamIdleMs, () =>
        out.destroy(Object.assign(new Error('upstream timeout'), { code: 'UPSTREAM_TIMEOUT' })),
      );
      out.on('response', (answerFromUpstream) => {
        responded = true;
        const code = answerFromUpstream.statusCode ?? 502;
        try {
          (res as ServerResponse).writeHead(code, clientHeaders(answerFromUpstream.headers));
        } catch (err) {
          // a status or header the client's protocol cannot carry (HTTP/2 refuses some)
          this.#options.onError?.(err as Error);
          answerFromUpstream.destroy();
          return answer(502, '502 bad gateway\n');
        }
        answerFromUpstream.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
        });
        answerFromUpstream.pipe(res as NodeJS.WritableStream);
        answerFromUpstream.on('end', () => finish(code));
        answerFromUpstream.on('error', () => {
          res.destroy();
          finish(code);
        });
      });
      out.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(connectTimer);
        if (done) return;
        if (responded) {
          res.destroy();
          return finish(res.statusCode);
        }
        const reusedBroke = connected && retriableMethods.has(req.method ?? '') && received === 0;
        if (!connected) this.#picker.failed(endpoint);
        if (!last && retry !== undefined && (!connected || reusedBroke)) {
          this.#options.metrics.retried();
          return attempt(retry, true);
        }
        if (err.code === 'UPSTREAM_TIMEOUT') return answer(504, '504 gateway timeout\n');
        answer(502, '502 bad gateway\n');
      });
      res.on('close', () => {
        if (!done) out.destroy();
      });
    };
    attempt(first, false);
  }

  /** An HTTP/1.1 Upgrade (websocket): the request goes to an endpoint as it came, then bytes flow both ways. */
  #upgrade(req: IncomingMessage, client: Duplex, head: Buffer, scheme: Scheme): void {
    const started = performance.now();
    const host = requestHost(req);
    const target = route(this.#options.routes(), host, req.url ?? '/');
    const refuse = (code: number, reason: string) => {
      client.end(`HTTP/1.1 ${code} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      this.#record(target, code, started);
    };
    if (target === undefined) return refuse(404, 'Not Found');
    const resolution = resolve(this.#options.endpoints.state, target);
    if (resolution.kind !== 'endpoints') return refuse(503, 'Service Unavailable');
    const { first, retry } = this.#picker.pick(resolution.key, resolution.endpoints);
    const headers = upstreamHeaders(req, scheme, host, (client as Socket).localPort ?? 80);
    headers.connection = 'Upgrade';
    headers.upgrade = String(req.headers.upgrade ?? '');
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (const [name, value] of Object.entries(headers))
      for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v.replace(/[\r\n]/g, ' ')}`);
    const requestHead = `${lines.join('\r\n')}\r\n\r\n`;
    client.on('error', () => {});
    const attempt = (endpoint: Endpoint, last: boolean) => {
      const socket = tcpConnect({ host: endpoint.ip, port: endpoint.port, timeout: this.#limits.connectTimeoutMs });
      let connected = false;
      socket.once('timeout', () => {
        if (!connected) socket.destroy(new Error('connect timeout'));
      });
      socket.once('connect', () => {
        connected = true;
        socket.setTimeout(0);
        socket.write(requestHead);
        if (head.length > 0) socket.write(head);
        socket.once('data', (chunk: Buffer) => {
          const code = Number(/^HTTP\/1\.[01] (\d{3})/.exec(chunk.toString('latin1', 0, 16))?.[1] ?? 0);
          this.#record(target, code, started);
        });
        socket.pipe(client);
        client.pipe(socket);
      });
      socket.on('error', () => {
        if (connected) return client.destroy();
        this.#picker.failed(endpoint);
        if (!last && retry !== undefined) {
          this.#options.metrics.retried();
          return attempt(retry, true);
        }
        refuse(502, 'Bad Gateway');
      });
      client.on('close', () => socket.destroy());
      socket.on('close', () => client.destroy());
    };
    attempt(first, false);
  }

  #record(target: RouteTarget | undefined, code: number, started: number): void {
    this.#options.metrics.record({
      ingress: target?.ingress ?? '',
      service: target?.service ?? '',
      code,
      seconds: (performance.now() - started) / 1000,
    });
  }
}
