/**
 * A small typed client for the Kubernetes API (bosun server or any conforming one): get, list,
 * create, update (and status), patch, delete and watch, over HTTPS with a client certificate or a
 * bearer token: HTTP/2 when the server offers it (http2-transport.ts), HTTP/1.1 otherwise.
 * Failures arrive as ApiError with the server's reason, so callers branch on `reason` (NotFound,
 * Conflict, Expired, ...).
 */
import { Agent, request } from 'node:https';
import { Agent as PlainAgent, request as plainRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError } from './errors.ts';
import { Http2Transport, type StreamedResponse } from './http2-transport.ts';
import { resourcePath, type ResourceRef } from './resource-ref.ts';
import type { KubeList, KubeObject, Status, WatchEvent } from './types.ts';

export interface ClientConfig {
  /** https://host:port */
  readonly server: string;
  /** PEM of the CA that signed the server's certificate. */
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
  readonly token?: string;
  /** Per-request time limit for everything but watches (default 30 s). */
  readonly timeoutMs?: number;
  /**
   * Requests other than watches in flight at once (default 8); more wait for one to end. Over
   * HTTP/1.1 each is a connection, and watches each hold a connection of their own; over HTTP/2
   * they are streams of the one connection that also carries the watches. An unbounded pool let a
   * slow server be met with a new TLS connection per waiting request (about 7,500 of them at
   * 1,000 nodes).
   */
  readonly maxConnections?: number;
  /** The User-Agent header (upstream components send `<component>/<version>`; audit events record it). */
  readonly userAgent?: string;
  /**
   * Opens each connection instead of dialling `server`: requests then go as plain HTTP/1.1 over
   * what it returns, which authenticates the connection itself (a server's own controllers reach
   * it in process this way, `ApiServer.connectInProcess`); ca, cert and key are not used.
   */
  readonly connect?: () => Duplex;
  /**
   * `auto` (default): HTTP/2 when the server offers it by ALPN, as client-go, else HTTP/1.1;
   * `http/1.1`: never HTTP/2 (client-go's DISABLE_HTTP2).
   */
  readonly protocol?: 'auto' | 'http/1.1';
}

export type PatchType = 'merge' | 'strategic' | 'json';

const patchContentTypes: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Changes after this version; absent or '0' starts with the current objects as ADDED. */
  resourceVersion?: string;
  allowBookmarks?: boolean;
  /**
   * A streaming list (sendInitialEvents with resourceVersionMatch=NotOlderThan): true sends the
   * state as ADDED, then a bookmark annotated k8s.io/initial-events-end (with allowBookmarks);
   * false sends no state, even from resourceVersion '0' or none.
   */
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export interface DeleteOptions {
  namespace?: string;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
}

export class KubeClient {
  #config: ClientConfig;
  #agent: PlainAgent;
  #watchAgent: PlainAgent;
  #http2: Http2Transport | undefined;
  readonly #requestSlots: RequestSlots;

  constructor(config: ClientConfig) {
    this.#config = config;
    this.#agent = this.#newAgent(true);
    this.#watchAgent = this.#newAgent(false);
    this.#http2 = this.#newHttp2();
    this.#requestSlots = new RequestSlots(config.maxConnections ?? 8);
  }

  #newHttp2(): Http2Transport | undefined {
    // an in-process connection speaks plain HTTP/1.1 to the server's own handler
    if (this.#config.connect !== undefined || this.#config.protocol === 'http/1.1') return undefined;
    return new Http2Transport(this.#config);
  }

  #newAgent(pooled: boolean): PlainAgent {
    const connect = this.#config.connect;
    if (connect !== undefined) {
      const agent = new PlainAgent({
        keepAlive: true,
        ...(pooled ? { maxSockets: this.#config.maxConnections ?? 8 } : {}),
      });
      agent.createConnection = () => connect();
      return agent;
    }
    const identity = this.#config.cert ? { cert: this.#config.cert, key: this.#config.key } : {};
    return pooled
      ? new Agent({ keepAlive: true, maxSockets: this.#config.maxConnections ?? 8, ca: this.#config.ca, ...identity })
      : // keep-alive here too: a watch sent with "Connection: close" made joins four times slower
        new Agent({ keepAlive: true, ca: this.#config.ca, ...identity });
  }

  /**
   * Switches to a new client certificate (after a rotation): new requests use it; connections
   * already open (watches) keep the old one, still valid, until they end.
   */
  useClientCertificate(cert: string, key: string): void {
    const previous = this.#agent;
    this.#config = { ...this.#config, cert, key };
    this.#agent = this.#newAgent(true);
    this.#watchAgent = this.#newAgent(false);
    this.#http2?.release(false);
    this.#http2 = this.#newHttp2();
    // idle pooled sockets would carry the old identity on: drop them, let busy ones finish
    for (const sockets of Object.values(previous.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
  }

  /** Closes pooled connections. */
  close(): void {
    this.#agent.destroy();
    this.#watchAgent.destroy();
    this.#http2?.release(true);
  }

  /**
   * Sends a request over HTTP/2 when the server speaks it, else over HTTP/1.1; requests other
   * than watches wait for one of the `maxConnections` slots.
   */
  async #send(
    method: string,
    path: string,
    body: string | undefined,
    contentType: string | undefined,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
    watch: boolean,
  ): Promise<StreamedResponse> {
    const http2 = this.#http2;
    if (http2 === undefined)
      return this.#open(method, path, body, contentType, timeoutMs, signal, watch ? this.#watchAgent : this.#agent);
    const release = watch ? () => {} : await this.#requestSlots.take();
    try {
      const answer = await http2.request({
        method,
        path,
        headers: this.#headers(body, contentType),
        body,
        timeoutMs,
        signal,
      });
      if (answer === undefined) {
        release();
        return this.#open(method, path, body, contentType, timeoutMs, signal, watch ? this.#watchAgent : this.#agent);
      }
      return withRelease(answer, release);
    } catch (err) {
      release();
      throw err;
    }
  }

  /** The headers of every request (HTTP/2 field names are lower case). */
  #headers(body: string | undefined, contentType: string | undefined): Record<string, string | number> {
    return {
      accept: 'application/json',
      ...(this.#config.userAgent ? { 'user-agent': this.#config.userAgent } : {}),
      ...(this.#config.token ? { authorization: `Bearer ${this.#config.token}` } : {}),
      ...(body !== undefined
        ? { 'content-type': contentType ?? 'application/json', 'content-length': Buffer.byteLength(body) }
        : {}),
    };
  }

  #open(
    method: string,
    path: string,
    body: string | undefined,
    contentType: string | undefined,
    timeoutMs: number | undefined,
    signal?: AbortSignal,
    agent = this.#agent,
  ): Promise<IncomingMessage> {
    const url = new URL(path, this.#config.server);
    const send = this.#config.connect ? plainRequest : request;
    return new Promise((resolve, reject) => {
      const req = send(
        {
          method,
          host: url.hostname,
          port: url.port,
          path: `${url.pathname}${url.search}`,
          agent,
          headers: {
            Accept: 'application/json',
            ...(this.#config.userAgent ? { 'User-Agent': this.#config.userAgent } : {}),
            ...(this.#config.token ? { Authorization: `Bearer ${this.#config.token}` } : {}),
            ...(body !== undefined
              ? { 'Content-Type': contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(body) }
              : {}),
          },
          ...(timeoutMs ? { timeout: timeoutMs } : {}),
          ...(signal ? { signal } : {}),
        },
        resolve,
      );
      req.on('timeout', () =>
        req.destroy(new ApiError('Timeout', `${method} ${url.pathname} timed out after ${timeoutMs} ms`)),
      );
      req.on('error', (err) =>
        reject(
          err instanceof ApiError
            ? err
            : new ApiError('ServiceUnavailable', `${method} ${url.pathname}: ${err.message}`),
        ),
      );
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  async #json<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const response = await this.#send(
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      contentType,
      this.#config.timeoutMs ?? 30_000,
      undefined,
      false,
    );
    const chunks: Buffer[] = [];
    for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString('utf8');
    const code = response.statusCode ?? 0;
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (code < 200 || code >= 300) {
      throw ApiError.fromStatus((parsed ?? { message: text.trim() || `HTTP ${code}` }) as Partial<Status>, code);
    }
    return parsed as T;
  }

  /** GET of a path outside the resource tree (`/version`), as JSON. */
  getPath<T>(path: string): Promise<T> {
    return this.#json<T>('GET', path);
  }

  get<T extends KubeObject = KubeObject>(ref: ResourceRef, name: string, namespace?: string): Promise<T> {
    return this.#json('GET', resourcePath(ref, namespace, name));
  }

  list<T extends KubeObject = KubeObject>(ref: ResourceRef, options: ListOptions = {}): Promise<KubeList<T>> {
    const query = new URLSearchParams();
    if (options.labelSelector) query.set('labelSelector', options.labelSelector);
    if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
    if (options.limit) query.set('limit', String(options.limit));
    if (options.continue) query.set('continue', options.continue);
    if (options.resourceVersion) query.set('resourceVersion', options.resourceVersion);
    const q = query.toString();
    return this.#json('GET', `${resourcePath(ref, options.namespace)}${q ? `?${q}` : ''}`);
  }

  create<T extends KubeObject = KubeObject>(ref: ResourceRef, object: NoInfer<T>): Promise<T> {
    return this.#json('POST', resourcePath(ref, object.metadata.namespace), object);
  }

  /** Replaces the object; with metadata.resourceVersion set, a concurrent change is a Conflict. */
  update<T extends KubeObject = KubeObject>(ref: ResourceRef, object: NoInfer<T>): Promise<T> {
    return this.#json('PUT', resourcePath(ref, object.metadata.namespace, object.metadata.name), object);
  }

  /** Writes only .status (the status subresource). */
  updateStatus<T extends KubeObject = KubeObject>(ref: ResourceRef, object: NoInfer<T>): Promise<T> {
    return this.#json('PUT', resourcePath(ref, object.metadata.namespace, object.metadata.name, 'status'), object);
  }

  /** Writes only a CertificateSigningRequest's conditions (the approval subresource, as `kubectl certificate approve`). */
  updateApproval<T extends KubeObject = KubeObject>(ref: ResourceRef, object: NoInfer<T>): Promise<T> {
    return this.#json('PUT', resourcePath(ref, object.metadata.namespace, object.metadata.name, 'approval'), object);
  }

  patch<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    name: string,
    patch: unknown,
    options: { type?: PatchType; namespace?: string; subresource?: 'status' | 'scale' } = {},
  ): Promise<T> {
    return this.#json(
      'PATCH',
      resourcePath(ref, options.namespace, name, options.subresource),
      patch,
      patchContentTypes[options.type ?? 'merge'],
    );
  }

  /** Resolves to the object as the server last had it (with deletionTimestamp when it lingers). */
  delete<T extends KubeObject = KubeObject>(ref: ResourceRef, name: string, options: DeleteOptions = {}): Promise<T> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (options.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = options.gracePeriodSeconds;
    if (options.preconditions) body.preconditions = options.preconditions;
    if (options.propagationPolicy) body.propagationPolicy = options.propagationPolicy;
    return this.#json('DELETE', resourcePath(ref, options.namespace, name), body);
  }

  /**
   * Streams watch events until the server ends the watch, the signal aborts, or the connection
   * breaks. An ERROR event (for example 410 Expired) is thrown as an ApiError.
   */
  async *watch<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    options: WatchOptions = {},
  ): AsyncGenerator<WatchEvent<T>> {
    const query = new URLSearchParams({ watch: 'true' });
    if (options.labelSelector) query.set('labelSelector', options.labelSelector);
    if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
    if (options.resourceVersion) query.set('resourceVersion', options.resourceVersion);
    if (options.allowBookmarks) query.set('allowWatchBookmarks', 'true');
    if (options.sendInitialEvents !== undefined) {
      query.set('sendInitialEvents', String(options.sendInitialEvents));
      query.set('resourceVersionMatch', 'NotOlderThan');
    }
    if (options.timeoutSeconds) query.set('timeoutSeconds', String(options.timeoutSeconds));
    const response = await this.#send(
      'GET',
      `${resourcePath(ref, options.namespace)}?${query}`,
      undefined,
      undefined,
      undefined,
      options.signal,
      true,
    );
    const code = response.statusCode ?? 0;
    if (code !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
      let status: Partial<Status> = {};
      try {
        status = JSON.parse(Buffer.concat(chunks).toString()) as Partial<Status>;
      } catch {
        // not a Status
      }
      throw ApiError.fromStatus(status, code);
    }
    let buffered = '';
    try {
      for await (const chunk of response as AsyncIterable<Buffer>) {
        buffered += chunk.toString('utf8');
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line === '') continue;
          const event = JSON.parse(line) as WatchEvent<T>;
          if (event.type === 'ERROR') {
            const status = event.object as unknown as Status;
            throw ApiError.fromStatus(status, status.code ?? 500);
          }
          yield event;
        }
      }
    } catch (err) {
      if (options.signal?.aborted && !(err instanceof ApiError)) return;
      throw err;
    } finally {
      response.destroy();
    }
  }
}

/** At most `size` holders at once; the others wait in order. */
class RequestSlots {
  readonly #size: number;
  #taken = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  /** Resolves with the function that gives the slot back (once; later calls do nothing). */
  async take(): Promise<() => void> {
    if (this.#taken < this.#size) this.#taken++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#taken--;
    };
  }
}

/** The answer, giving its slot back once its body has been read or it is dropped. */
function withRelease(answer: StreamedResponse, release: () => void): StreamedResponse {
  return {
    statusCode: answer.statusCode,
    async *[Symbol.asyncIterator]() {
      try {
        yield* answer;
      } finally {
        release();
      }
    },
    destroy() {
      release();
      answer.destroy();
    },
  };
}
