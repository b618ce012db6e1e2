/**
 * The API server's HTTPS front: TLS with optional client certificates, authentication and
 * authorization of every request, health and discovery endpoints, then the REST handlers or a watch
 * stream. Every failure leaves as a metav1.Status with the matching HTTP code.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer as createPlainServer,
  STATUS_CODES,
  type IncomingMessage,
  type Server as PlainServer,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { ApiError } from '../../kube/errors.ts';
import { auditedRequest } from '../audit/audited-request.ts';
import { addAuditAnnotation, currentAudit, type Auditor } from '../audit/request-audit.ts';
import { applyImpersonation } from '../auth/impersonation.ts';
import { anonymousUser, type Authenticator, type Authorizer, type UserInfo } from '../auth/types.ts';
import {
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  wantsAggregated,
} from './discovery.ts';
import type { Registry } from './registry.ts';
import { bodyTooLarge, jsonNestsDeeperThan, maxBodyBytes, maxJsonDepth, nestedTooDeep } from './limits.ts';
import { InflightLimiter, isMutatingVerb, type InflightLimits, type Release } from './inflight.ts';
import { KubeletProxy, type KubeletClientTls } from './kubelet-proxy.ts';
import { ApiMetrics, type RequestLabels } from './metrics.ts';
import { openApiV3Document, openApiV3Root } from './openapi.ts';
import { OpenApiV2Endpoint } from './openapi-v2-endpoint.ts';
import { isNodeProxy, isWorkloadProxy, kubeletSubresources } from './resources.ts';
import { WorkloadProxy } from './workload-proxy.ts';
import { directDialer } from './kubelet-dialer.ts';
import type { KubeletDialer } from './kubelet-dialer.ts';
import {
  canEncodeProtobuf,
  decodeProtobufObject,
  encodeProtobufObject,
  protobufMediaType,
} from './protobuf/envelope.ts';
import { customResourceNotAcceptable, wantsProtobuf } from './protobuf/negotiate.ts';
import { checkEscapes, parseRequest, type ParsedRequest, type ResourceRequest } from './request.ts';
import { peerCertificateOutOfDate, peerSubject } from './peer-subject.ts';
import { boundSubject, openInProcess, type CertificateSubject } from './in-process-connection.ts';
import { requestWarnings, runRequest } from './request-context.ts';
import { RestHandler, type VirtualHandler } from './rest.ts';
import { serveWatch, type WatchSettings } from './watch-stream.ts';
import { processMetricsText } from '../../kube/prometheus-text.ts';
import { ProtocolFront } from './protocol-front.ts';
import type { Aggregator } from './aggregator/aggregator.ts';

interface ApiServerOptions {
  readonly registry: Registry;
  readonly authenticators: readonly Authenticator[];
  readonly authorizer: Authorizer;
  /** Sends requests for aggregated group/versions (APIServices with a Service) on; absent: none. */
  readonly aggregator?: Aggregator;
  readonly virtual: VirtualHandler;
  readonly tls: { key: string; cert: string; ca: string };
  /** Client certificate (and the CA that signed kubelets' serving certificates) for the kubelet port. */
  readonly kubeletClient: KubeletClientTls;
  /** How kubelet ports are reached (default: directly). */
  readonly kubeletDialer?: KubeletDialer;
  readonly bindAddress: string;
  readonly port: number;
  /** host:port clients are told to use (discovery's serverAddressByClientCIDRs). */
  readonly advertiseAddress: string;
  readonly version: { major: string; minor: string; gitVersion: string; bosunVersion?: string };
  readonly watch: WatchSettings;
  readonly logger: Logger;
  /** Whether the datastore answers: /readyz fails while it does not. */
  readonly datastoreHealthy: () => Promise<boolean>;
  /** Further documents served at fixed paths (service-account issuer discovery), given the local port. */
  readonly documents?: (
    path: string,
    port: number,
  ) => { contentType: string; body: unknown; headers: Record<string, string> } | undefined;
  /** --audit-policy-file + --audit-log-path: every request is audited through it. */
  readonly auditor?: Auditor;
  /** Ceilings on requests served at once and watches open per user (default: upstream's 400/200, 1,000 watches). */
  readonly inflight?: InflightLimits;
  /** More Prometheus text for /metrics from the server's other parts (resource metrics scraping, leader election). */
  readonly moreMetrics?: () => string;
}

/** Requests that may stay open for long (streams): they hold no in-flight seat, as upstream's long-running check. */
/** The legacy `/apis` list with the aggregated groups after the built-in ones. */
function withLegacyGroups<T extends { groups: unknown[] }>(list: T, aggregator: Aggregator | undefined): T {
  return aggregator ? { ...list, groups: [...list.groups, ...aggregator.legacyGroups()] } : list;
}

/** The aggregated `/apis` document with the aggregated groups' entries after the built-in ones. */
function withAggregatedGroups<T extends { items: unknown[] }>(list: T, aggregator: Aggregator | undefined): T {
  return aggregator ? { ...list, items: [...list.items, ...aggregator.aggregatedGroups()] } : list;
}

function isLongRunning(parsed: ParsedRequest): boolean {
  if (parsed.kind !== 'resource') return false;
  if (parsed.verb === 'watch') return true;
  return parsed.subresource !== undefined && (kubeletSubresources.has(parsed.subresource) || isNodeProxy(parsed));
}

const verbLabels: Record<string, string> = {
  get: 'GET',
  list: 'LIST',
  watch: 'WATCH',
  create: 'POST',
  update: 'PUT',
  patch: 'PATCH',
  delete: 'DELETE',
  deletecollection: 'DELETECOLLECTION',
};

/** The metric labels of a request, as upstream names them (CONNECT for streams to the kubelet). */
function requestLabels(method: string, parsed: ParsedRequest | undefined, code: number): RequestLabels {
  if (parsed === undefined || parsed.kind === 'path') {
    return { verb: method, group: '', version: '', resource: '', subresource: '', scope: '', code };
  }
  const streamed =
    parsed.subresource !== undefined && (kubeletSubresources.has(parsed.subresource) || parsed.subresource === 'proxy');
  return {
    verb: streamed ? 'CONNECT' : (verbLabels[parsed.verb] ?? method),
    group: parsed.info.group,
    version: parsed.info.version,
    resource: parsed.info.resource,
    subresource: parsed.subresource ?? '',
    scope: parsed.name !== undefined ? 'resource' : parsed.namespace !== undefined ? 'namespace' : 'cluster',
    code,
  };
}

function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  contentType = 'application/json',
  extraHeaders: Record<string, string> = {},
): void {
  sendBytes(res, code, Buffer.from(JSON.stringify(body)), contentType, extraHeaders);
}

function sendBytes(
  res: ServerResponse,
  code: number,
  body: Buffer,
  contentType: string,
  extraHeaders: Record<string, string>,
): void {
  res.writeHead(code, {
    'Content-Type': contentType,
    'Content-Length': body.length,
    'Cache-Control': 'no-cache, private',
    ...extraHeaders,
  });
  res.end(body);
}

/** RFC 7234 warnings (code 299, as the API server sends them); client-go splits a comma-joined list. */
function warningHeaders(warnings: readonly string[] | undefined): Record<string, string> {
  if (!warnings || warnings.length === 0) return {};
  return { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}

/** An error as a metav1.Status, in protobuf for a client that prefers it (as upstream negotiates errors too). */
function sendStatus(res: ServerResponse, err: ApiError, accept?: string): void {
  const headers: Record<string, string> = {};
  if (err.details?.retryAfterSeconds !== undefined) headers['Retry-After'] = String(err.details.retryAfterSeconds);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = err.toStatus();
  if (wantsProtobuf(accept))
    return sendBytes(
      res,
      err.code,
      encodeProtobufObject(status as unknown as Record<string, unknown>),
      protobufMediaType,
      headers,
    );
  sendJson(res, err.code, status, 'application/json', headers);
}

/** How much of a too-large body is still read (and dropped) so its sender gets the 413 instead of a reset. */
const drainBytes = 4 * maxBodyBytes;

/**
 * The request body, up to the limit. Counted as it arrives (chunked bodies declare no length);
 * past the limit nothing more is kept. The rest is read and dropped up to `drainBytes`, so that a
 * client still writing its body reads the 413 rather than a broken pipe (Go's server drains too);
 * a body larger still is refused at once and its connection closed.
 */
function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > drainBytes) return Promise.reject(bodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes && declared <= maxBodyBytes) return void chunks.push(chunk);
      chunks.length = 0;
      if (size <= drainBytes) return;
      stop();
      req.pause();
      reject(bodyTooLarge());
    };
    const onEnd = () => {
      stop();
      if (size > maxBodyBytes || declared > maxBodyBytes) reject(bodyTooLarge());
      else resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  // before parsing: what comes after JSON.parse (patches, clones, checks) recurses, and a deep
  // enough body would overflow the stack there
  if (jsonNestsDeeperThan(raw, maxJsonDepth)) throw nestedTooDeep();
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new ApiError('BadRequest', `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** How long an idle HTTP/1.1 connection is kept open (in process too). */
const keepAliveTimeoutMs = 60_000;

export class ApiServer {
  readonly #options: ApiServerOptions;
  readonly #rest: RestHandler;
  readonly #front: ProtocolFront;
  readonly #kubelet: KubeletProxy;
  readonly #workloads: WorkloadProxy;
  readonly #metrics = new ApiMetrics();
  readonly #openApiV2: OpenApiV2Endpoint;
  readonly #limiter: InflightLimiter;
  /** Serves in-process connections (`connectInProcess`): the same handlers without TLS; made on first use. */
  #inProcess: PlainServer | undefined;
  readonly #inProcessConnections = new Set<Duplex>();
  #closed = false;
  #requests = 0;

  constructor(options: ApiServerOptions) {
    this.#options = options;
    this.#rest = new RestHandler(options.registry, options.virtual);
    this.#openApiV2 = new OpenApiV2Endpoint(options.version.gitVersion);
    this.#limiter = new InflightLimiter(options.inflight);
    this.#kubelet = new KubeletProxy(options.registry, options.kubeletClient, options.kubeletDialer);
    // Pods are reached the way their nodes are: where the server has no route, through the egress proxy.
    this.#workloads = new WorkloadProxy(options.registry, options.kubeletDialer ?? directDialer);
    this.#front = new ProtocolFront({
      tls: { key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca },
      onRequest: (req, res) => void this.#handle(req, res),
      onUpgrade: (req, socket, head) => void this.#handleUpgrade(req, socket, head),
      keepAliveTimeoutMs: keepAliveTimeoutMs,
    });
  }

  /** Starts listening; resolves with the port actually bound (useful with port 0). */
  async listen(): Promise<number> {
    return this.#front.listen(this.#options.port, this.#options.bindAddress);
  }

  /**
   * A connection into this server from inside its own process (its scheduler and controllers), for
   * an HTTP/1.1 client to send requests on: the same authentication, authorization, admission,
   * storage and watch as any client's, as the holder of a client certificate with `subject`,
   * without TLS and without a socket. The identity belongs to the connection, never to anything
   * sent on it. After close, the connection closes at once, as a refused one.
   */
  connectInProcess(subject: CertificateSubject): Duplex {
    const { client, server } = openInProcess(subject);
    if (this.#closed) {
      // after the caller has put its listeners on: it sees a connection that went, not an exception
      setImmediate(() => server.destroy());
      return client;
    }
    this.#inProcessConnections.add(server);
    server.once('close', () => this.#inProcessConnections.delete(server));
    (this.#inProcess ??= this.#plainServer()).emit('connection', server);
    return client;
  }

  #plainServer(): PlainServer {
    const server = createPlainServer((req, res) => void this.#handle(req, res));
    server.keepAliveTimeout = keepAliveTimeoutMs;
    server.on(
      'upgrade',
      (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.#handleUpgrade(req, socket, head),
    );
    return server;
  }

  /** Stops accepting and ends open connections (watches included); safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const connection of this.#inProcessConnections) connection.destroy();
    await this.#front.close();
  }

  /** Client connections open now and accepted so far, by protocol (HTTP/2 or HTTP/1.1). */
  connections(): ReturnType<ProtocolFront['connections']> {
    return this.#front.connections();
  }

  /**
   * Serves a new certificate (a renewal) from the next TLS handshake on, and presents a new client
   * certificate to kubelets; connections already open keep the certificate they started with.
   */
  useCertificates(certificates: {
    serving: { key: string; cert: string };
    ca: string;
    kubeletClient: KubeletClientTls;
  }): void {
    this.#front.setSecureContext({
      key: certificates.serving.key,
      cert: certificates.serving.cert,
      ca: certificates.ca,
    });
    this.#kubelet.useClientTls(certificates.kubeletClient);
  }

  get requestCount(): number {
    return this.#requests;
  }

  async #authenticate(req: IncomingMessage): Promise<UserInfo> {
    const header = req.headers.authorization;
    const bearerToken = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    // an in-process connection is its own proof of identity (connectInProcess); it has no TLS
    const bound = boundSubject(req.socket);
    // an expired certificate names nobody; a bearer token may still (upstream tries every authenticator)
    const outOfDate = bound === undefined && peerCertificateOutOfDate(req.socket as TLSSocket);
    const subject = bound ?? (outOfDate ? undefined : peerSubject(req.socket as TLSSocket));
    const credentials = {
      ...(bearerToken ? { bearerToken } : {}),
      ...(subject ? { peerCertificate: { subject } } : {}),
    };
    for (const authenticator of this.#options.authenticators) {
      const user = await authenticator.authenticate(credentials);
      if (user) return { ...user, groups: [...new Set([...user.groups, 'system:authenticated'])] };
    }
    if (bearerToken || outOfDate) throw new ApiError('Unauthorized', 'Unauthorized');
    return anonymousUser;
  }

  /**
   * Authenticates (with impersonation), parses and authorizes a request; throws ApiError when it
   * may not proceed. Shared by plain requests and upgraded (streaming) ones.
   */
  async #admit(req: IncomingMessage): Promise<{ url: URL; user: UserInfo; parsed: ParsedRequest }> {
    checkEscapes(req.url ?? '/');
    const url = new URL(req.url ?? '/', 'https://localhost');
    const authenticated = await this.#authenticate(req);
    const user = await applyImpersonation(authenticated, req.headers, this.#options.authorizer);
    const parsed =
      (await this.#options.aggregator?.parse(req.method ?? 'GET', url)) ?? parseRequest(req.method ?? 'GET', url);
    // Opening an exec/attach/port-forward stream is a create, whatever the HTTP method.
    const verb =
      parsed.kind === 'resource' &&
      parsed.subresource !== undefined &&
      parsed.subresource !== 'log' &&
      kubeletSubresources.has(parsed.subresource)
        ? 'create'
        : parsed.verb;
    currentAudit()?.setUser(authenticated, user);
    currentAudit()?.setRequest(auditedRequest(parsed, verb, url.pathname));
    const decision = await this.#options.authorizer.authorize(
      parsed.kind === 'resource'
        ? {
            user,
            verb,
            resource: {
              group: parsed.info.group,
              resource: parsed.info.resource,
              subresource: parsed.subresource ?? '',
              namespace:
                parsed.namespace ??
                (parsed.info.group === '' && parsed.info.resource === 'namespaces' ? (parsed.name ?? '') : ''),
              name: parsed.name ?? '',
            },
          }
        : { user, verb: parsed.verb, path: parsed.path },
    );
    addAuditAnnotation('authorization.k8s.io/decision', decision.allowed ? 'allow' : 'forbid');
    addAuditAnnotation('authorization.k8s.io/reason', decision.reason);
    if (!decision.allowed) {
      const what =
        parsed.kind === 'resource'
          ? `cannot ${verb} resource "${parsed.info.resource}${parsed.subresource ? `/${parsed.subresource}` : ''}" in API group "${parsed.info.group}"${parsed.namespace ? ` in the namespace "${parsed.namespace}"` : parsed.info.namespaced ? '' : ' at the cluster scope'}`
          : `cannot ${parsed.verb} path "${parsed.path}"`;
      throw new ApiError(
        'Forbidden',
        `${parsed.kind === 'resource' ? `${parsed.info.resource}${parsed.name ? ` "${parsed.name}"` : ''}` : 'forbidden'} is forbidden: User "${user.name}" ${what}${decision.reason ? `: ${decision.reason}` : ''}`,
      );
    }
    return { url, user, parsed };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#requests++;
    const started = Date.now();
    let user: UserInfo | undefined;
    let parsedRequest: ParsedRequest | undefined;
    let releaseSeat: Release | undefined;
    let finishInflight: (() => void) | undefined;
    const audit = this.#options.auditor?.begin(req);
    res.setHeader('Audit-Id', audit?.auditID ?? randomUUID());
    res.on('close', () => {
      finishInflight?.();
      this.#metrics.observeRequest(
        requestLabels(req.method ?? 'GET', parsedRequest, res.statusCode),
        (Date.now() - started) / 1000,
      );
      audit?.complete(res.statusCode);
    });
    const serve = async () => {
      try {
        const admitted = await this.#admit(req);
        user = admitted.user;
        const { url, parsed } = admitted;
        parsedRequest = parsed;
        if (!isLongRunning(parsed)) {
          // the gauge counts what the limiter counts, as upstream's: streams are not in flight
          const mutating = isMutatingVerb(parsed.verb);
          releaseSeat = this.#limiter.enter(admitted.user, mutating);
          finishInflight = this.#metrics.begin(mutating);
        }
        if (this.#options.aggregator && (await this.#options.aggregator.parse(req.method ?? 'GET', url))) {
          currentAudit()?.responseStarted(200);
          await this.#options.aggregator.forward(req, res, url, admitted.user);
          return;
        }
        if (parsed.kind === 'path') {
          await this.#handlePath(parsed.path, req, res);
          return;
        }
        const requestUser = user;
        // the values are checked with the write's other options (write-options.ts)
        const dryRun = url.searchParams.getAll('dryRun');
        await runRequest({ user: requestUser, dryRun: dryRun.length > 0 }, () =>
          this.#serve(parsed, url, req, res, requestUser),
        );
      } catch (err) {
        const apiError =
          err instanceof ApiError
            ? err
            : new ApiError(
                'InternalError',
                `an error on the server ("${(err as Error)?.message ?? String(err)}") has prevented the request from succeeding`,
              );
        if (!(err instanceof ApiError))
          this.#options.logger.error({ err, url: req.url, method: req.method }, 'request failed');
        if (err instanceof ApiError) audit?.setResponseStatus(apiError.toStatus());
        else audit?.panic(apiError.message);
        // a body left unread (too large, or refused before it was read) is not drained: the connection goes
        if (!req.complete && !res.headersSent) res.setHeader('Connection', 'close');
        sendStatus(res, apiError, req.headers.accept);
      } finally {
        releaseSeat?.();
        this.#options.logger.debug(
          { method: req.method, url: req.url, user: user?.name, code: res.statusCode, ms: Date.now() - started },
          'request',
        );
      }
    };
    await (audit ? audit.run(serve) : serve());
  }

  /** Requests asking to upgrade the connection: only the kubelet streams (exec, attach, port-forward). */
  async #handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    this.#requests++;
    const audit = this.#options.auditor?.begin(req);
    let code = 101;
    socket.once('close', () => audit?.complete(code));
    const serve = async () => {
      try {
        const { url, parsed } = await this.#admit(req);
        if (parsed.kind === 'resource' && isWorkloadProxy(parsed)) {
          audit?.responseStarted(101);
          await this.#workloads.upgrade(parsed, url, req, socket, head);
          return;
        }
        const streamed =
          parsed.kind === 'resource' &&
          parsed.subresource !== undefined &&
          ((kubeletSubresources.has(parsed.subresource) && parsed.subresource !== 'log') || isNodeProxy(parsed));
        if (parsed.kind !== 'resource' || !streamed) {
          throw new ApiError(
            'BadRequest',
            'only exec, attach, portforward and nodes, pods and services proxies take an upgraded connection',
          );
        }
        audit?.responseStarted(101);
        await this.#kubelet.upgrade(parsed, url, req, socket, head);
      } catch (err) {
        const apiError =
          err instanceof ApiError ? err : new ApiError('InternalError', String((err as Error)?.message ?? err));
        code = apiError.code;
        audit?.setResponseStatus(apiError.toStatus());
        const body = JSON.stringify(apiError.toStatus());
        const reason = STATUS_CODES[apiError.code] ?? 'Error';
        socket.end(
          `HTTP/1.1 ${apiError.code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nAudit-Id: ${audit?.auditID ?? randomUUID()}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
    };
    await (audit ? audit.run(serve) : serve());
  }

  /** A resource request, authenticated and authorized: a watch stream or one REST call. */
  async #serve(
    parsed: ResourceRequest,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    user: UserInfo,
  ): Promise<void> {
    if (isWorkloadProxy(parsed)) {
      await this.#workloads.forward(parsed, url, req, res);
      return;
    }
    if (parsed.subresource !== undefined && (kubeletSubresources.has(parsed.subresource) || isNodeProxy(parsed))) {
      currentAudit()?.responseStarted(200);
      await this.#kubelet.forward(parsed, url, req, res);
      return;
    }
    if (parsed.info.custom !== undefined && (parsed.subresource === undefined || parsed.subresource === 'status')) {
      const refusal = customResourceNotAcceptable(req.headers.accept, parsed.verb === 'watch');
      // the Status itself is a built-in kind: a protobuf-only client gets it in protobuf, as upstream sends it
      if (refusal !== undefined) throw refusal;
    }
    if (parsed.verb === 'watch') {
      const { group, version, kind } = parsed.info;
      const closeWatch = this.#limiter.openWatch(user);
      const stopped = this.#metrics.watcherStarted(group, version, kind);
      currentAudit()?.responseStarted(200);
      try {
        await serveWatch(this.#options.registry, parsed, url, req.headers.accept, res, this.#options.watch, () =>
          this.#metrics.watchEvent(group, version, kind),
        );
      } finally {
        stopped();
        closeWatch();
      }
      return;
    }
    const raw = await readBody(req);
    const contentType = req.headers['content-type'];
    const protobuf = contentType !== undefined && /^application\/vnd\.kubernetes\.protobuf/i.test(contentType);
    if (raw.length > 0 && contentType && /yaml/i.test(contentType) && !/apply-patch/.test(contentType)) {
      throw new ApiError(
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json`,
      );
    }
    const body = protobuf && raw.length > 0 ? decodeProtobufObject(raw) : parseJsonBody(raw);
    const rawJson = protobuf || raw.length === 0 ? undefined : raw.toString('utf8');
    currentAudit()?.setRequestObject(body);
    const reply = await this.#rest.handle({
      user,
      request: parsed,
      url,
      body,
      contentType,
      accept: req.headers.accept,
      userAgent: req.headers['user-agent'],
      ...(rawJson !== undefined ? { rawJson } : {}),
    });
    currentAudit()?.setResponseObject(reply.body);
    const isTable =
      typeof reply.body === 'object' && reply.body !== null && (reply.body as { kind?: string }).kind === 'Table';
    const warnings = [...(reply.warnings ?? []), ...requestWarnings()];
    if (!isTable && wantsProtobuf(req.headers.accept) && canEncodeProtobuf(reply.body)) {
      return sendBytes(
        res,
        reply.code,
        encodeProtobufObject(reply.body as Record<string, unknown>),
        protobufMediaType,
        warningHeaders(warnings),
      );
    }
    sendJson(
      res,
      reply.code,
      reply.body,
      isTable ? 'application/json;as=Table;v=v1;g=meta.k8s.io' : 'application/json',
      warningHeaders(warnings),
    );
  }

  async #handlePath(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const accept = req.headers.accept;
    const trimmed = path.replace(/\/+$/, '') || '/';
    switch (trimmed) {
      case '/version': {
        const v = this.#options.version;
        return sendJson(res, 200, {
          ...v,
          gitCommit: '',
          gitTreeState: 'clean',
          buildDate: '1970-01-01T00:00:00Z',
          goVersion: `node${process.versions.node}`,
          compiler: 'node',
          platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
        });
      }
      case '/metrics':
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(
          this.#metrics.render() +
            (this.#options.auditor?.renderMetrics() ?? '') +
            (this.#options.moreMetrics?.() ?? '') +
            this.#front.renderMetrics() +
            processMetricsText(),
        );
        return;
      case '/healthz':
      case '/livez':
        return sendText(res, 200, 'ok');
      case '/readyz':
        return (await this.#options.datastoreHealthy())
          ? sendText(res, 200, 'ok')
          : sendText(res, 503, '[-]datastore failed: not reachable\nreadyz check failed');
      case '/api': {
        const aggregated = wantsAggregated(accept);
        if (aggregated)
          return sendJson(
            res,
            200,
            aggregatedDiscovery(true, aggregated),
            `application/json;g=apidiscovery.k8s.io;v=${aggregated};as=APIGroupDiscoveryList`,
          );
        return sendJson(res, 200, apiVersions(this.#options.advertiseAddress));
      }
      case '/apis': {
        const aggregated = wantsAggregated(accept);
        if (aggregated)
          return sendJson(
            res,
            200,
            withAggregatedGroups(aggregatedDiscovery(false, aggregated), this.#options.aggregator),
            `application/json;g=apidiscovery.k8s.io;v=${aggregated};as=APIGroupDiscoveryList`,
          );
        return sendJson(res, 200, withLegacyGroups(apiGroupList(), this.#options.aggregator));
      }
      case '/openapi/v2':
        return this.#openApiV2.serve(req, res, false);
      case '/swagger-2.0.0.pb-v1':
        return this.#openApiV2.serve(req, res, true);
      case '/openapi/v3':
        return sendJson(res, 200, openApiV3Root());
    }
    if (trimmed.startsWith('/openapi/v3/')) {
      const rest = trimmed.slice('/openapi/v3/'.length).split('/');
      const doc =
        rest[0] === 'api'
          ? openApiV3Document('', rest[1] ?? '')
          : rest[0] === 'apis'
            ? openApiV3Document(rest[1] ?? '', rest[2] ?? '')
            : undefined;
      if (doc) return sendJson(res, 200, doc);
    }
    const document = this.#options.documents?.(trimmed, req.socket.localPort ?? this.#options.port);
    if (document) return sendJson(res, 200, document.body, document.contentType, document.headers);
    const parts = trimmed.split('/').filter((p) => p !== '');
    if (parts[0] === 'api' && parts.length === 2) {
      const list = apiResourceList('', parts[1]!);
      if (list) return sendJson(res, 200, list);
    }
    if (parts[0] === 'apis' && parts.length === 2) {
      const group = apiGroup(parts[1]!) ?? this.#options.aggregator?.group(parts[1]!);
      if (group) return sendJson(res, 200, group);
    }
    if (parts[0] === 'apis' && parts.length === 3) {
      const list = apiResourceList(parts[1]!, parts[2]!);
      if (list) return sendJson(res, 200, list);
    }
    throw new ApiError('NotFound', 'the server could not find the requested resource');
  }
}
