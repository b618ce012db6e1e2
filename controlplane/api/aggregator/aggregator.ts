/**
 * The API aggregation layer (upstream's kube-aggregator inside the API server): a request under
 * `/apis/<group>/<version>` that an APIService hands to a Service is authorized here, then sent on
 * to an endpoint of that Service over TLS, checked against the APIService's caBundle (or not at
 * all with insecureSkipTLSVerify), presenting the front-proxy client certificate and naming the
 * caller in X-Remote-User / X-Remote-Group / X-Remote-Extra-* (which the extension server trusts
 * from that certificate only). The caller's own credentials and any X-Remote-* headers it sent are
 * never passed on. Each APIService's `Available` condition is kept by a check of its Service, its
 * endpoints and the backend's discovery, whose answer also feeds this server's discovery.
 *
 * A group/version may also be served by this process itself (a local backend: the resource
 * metrics API), as metrics-server would serve it behind its APIService: its requests are authorized
 * the same way and answered in place, and its resources join discovery. An APIService with a
 * Service for the same group/version takes over from it (an installed metrics-server wins).
 */
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { KubeObject } from '../../../kube/types.ts';
import type { UserInfo } from '../../auth/types.ts';
import { DialerAgent } from '../dialer-agent.ts';
import { directDialer, type KubeletDialer } from '../kubelet-dialer.ts';
import { ObjectCache } from '../object-cache.ts';
import type { Registry } from '../registry.ts';
import type { ParsedRequest } from '../request.ts';
import { findResource } from '../resources.ts';
import { isUnreachable, resolveServiceEndpoint, type ServiceEndpoint } from '../service-endpoint.ts';
import { canEncodeProtobuf, encodeProtobufObject, protobufMediaType } from '../protobuf/envelope.ts';
import { wantsProtobuf } from '../protobuf/negotiate.ts';
import { groupVersionOf, parseAggregatedRequest } from './aggregated-request.ts';
import { availableCondition, statusWith, type Observation } from './availability.ts';
import { aggregatedGroups, legacyGroups, type RemoteGroupVersion } from './discovery-merge.ts';

type Any = Record<string, any>;

/** A group/version answered inside this process, named by its APIService (`v1beta1.metrics.k8s.io`). */
export interface LocalBackend {
  /** Its APIResourceList entries, for discovery. */
  readonly resources: readonly Any[];
  /** Answers an authorized request under `/apis/<group>/<version>`; throws ApiError. */
  serve(
    request: ParsedRequest,
    url: URL,
    accept: string | undefined,
  ): Promise<{ readonly code: number; readonly body: unknown; readonly contentType: string }>;
}

interface AggregatorOptions {
  readonly registry: Registry;
  /** Group/versions served in this process, by APIService name. */
  readonly localBackends?: ReadonlyMap<string, LocalBackend>;
  /** The front-proxy client certificate and key. */
  readonly frontProxyClient: { readonly cert: string; readonly key: string };
  readonly logger: Logger;
  /** How often an unavailable APIService is checked again (default 1 s); available ones every 30 s. */
  readonly retryIntervalMs?: number;
  /**
   * How connections to extension servers are opened: directly (the default), or through the egress
   * proxy that reaches the cluster's nodes and pods (`--kubelet-egress-socket`).
   */
  readonly dial?: KubeletDialer;
}

interface Checked {
  readonly at: number;
  /** Whether a Service (an extension server) is behind the APIService. */
  readonly remote: boolean;
  readonly available: boolean;
  readonly resources: readonly Any[];
  /** `<namespace>/<name>` of the Service behind it, if any. */
  readonly service: string | undefined;
}

/**
 * Request headers never passed on: the caller's credentials and identity claims, connection headers
 * and HTTP/2 pseudo-headers (an HTTP/2 request's request line).
 */
const droppedHeader =
  /^(:.*|authorization|impersonate-.*|x-remote-.*|host|connection|keep-alive|upgrade|proxy-.*|te|trailer|transfer-encoding)$/i;

/** The identity the server's own discovery checks carry, as upstream's aggregator names itself. */
const aggregatorUser: UserInfo = { name: 'system:kube-aggregator', groups: ['system:masters'] };

function identityHeaders(user: UserInfo): Record<string, string | string[]> {
  return { 'X-Remote-User': user.name, 'X-Remote-Group': [...user.groups] };
}

/** `<namespace>/<name>` of a Service, the key its EndpointSlices are found by. */
const serviceKey = (namespace: string | undefined, name: string | undefined): string | undefined =>
  name === undefined ? undefined : `${namespace ?? ''}/${name}`;

const availableTimeoutMs = 5_000;
/** A discovery document larger than this is a broken backend, not one to keep in memory. */
const maxDiscoveryBytes = 4 * 1024 * 1024;

export class Aggregator {
  readonly #options: AggregatorOptions;
  readonly #cache: ObjectCache;
  /** The Services and EndpointSlices behind APIServices: read per request, and a change is checked at once. */
  readonly #services: ObjectCache;
  readonly #slices: ObjectCache;
  readonly #checked = new Map<string, Checked>();
  /** Connections to extension servers kept open between requests (a pool per backend and trust). */
  readonly #connections: DialerAgent;
  #timer: NodeJS.Timeout | undefined;
  #checking = false;

  constructor(options: AggregatorOptions) {
    this.#options = options;
    this.#cache = new ObjectCache(options.registry, findResource('apiregistration.k8s.io', 'v1', 'apiservices')!);
    this.#services = new ObjectCache(options.registry, findResource('', 'v1', 'services')!);
    // by the Service they belong to, so a proxied request reads only its own Service's slices
    this.#slices = new ObjectCache(
      options.registry,
      findResource('discovery.k8s.io', 'v1', 'endpointslices')!,
      (slice) => serviceKey(slice.metadata.namespace, slice.metadata.labels?.['kubernetes.io/service-name']),
    );
    this.#connections = new DialerAgent(options.dial ?? directDialer, {
      keepAlive: true,
      maxSockets: 256,
      maxFreeSockets: 32,
      scheduling: 'lifo',
    });
  }

  async start(): Promise<void> {
    await this.#cache.start();
    await this.#services.start();
    await this.#slices.start();
    // as upstream's availability controller, a change to a backing Service or its endpoints is
    // checked at once rather than at the next period (30 s while available)
    this.#services.onChange((service) => this.#backendChanged(service.metadata.namespace, service.metadata.name));
    this.#slices.onChange((slice) =>
      this.#backendChanged(slice.metadata.namespace, slice.metadata.labels?.['kubernetes.io/service-name']),
    );
    const interval = this.#options.retryIntervalMs ?? 1_000;
    this.#timer = setInterval(() => void this.#checkAll(), interval);
    this.#timer.unref();
    void this.#checkAll();
  }

  #backendChanged(namespace: string | undefined, service: string | undefined): void {
    if (service === undefined) return;
    let affected = false;
    const key = serviceKey(namespace, service);
    for (const [name, checked] of this.#checked) {
      if (checked.service !== key) continue;
      this.#checked.delete(name);
      affected = true;
    }
    if (affected) void this.#checkAll();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#cache.stop();
    this.#services.stop();
    this.#slices.stop();
    this.#connections.destroy();
  }

  /** The APIService with a Service behind it that serves the path's group/version, if any. */
  async #remoteFor(pathname: string): Promise<KubeObject | undefined> {
    const gv = groupVersionOf(pathname);
    if (gv === undefined) return undefined;
    const apiService = await this.#cache.get(undefined, `${gv.version}.${gv.group}`);
    return (apiService?.spec as Any | undefined)?.service ? apiService : undefined;
  }

  /** The local backend of the path's group/version, unless an APIService with a Service took it over. */
  async #localFor(pathname: string): Promise<LocalBackend | undefined> {
    const gv = groupVersionOf(pathname);
    const local = gv && this.#options.localBackends?.get(`${gv.version}.${gv.group}`);
    if (!local) return undefined;
    return (await this.#remoteFor(pathname)) ? undefined : local;
  }

  /** The request's attributes for authorization when an extension server (or a local backend) serves it. */
  async parse(method: string, url: URL): Promise<ParsedRequest | undefined> {
    return (await this.#remoteFor(url.pathname)) || (await this.#localFor(url.pathname))
      ? parseAggregatedRequest(method, url)
      : undefined;
  }

  async #endpoint(apiService: KubeObject): Promise<ServiceEndpoint | ReturnType<typeof resolveServiceEndpoint>> {
    const ref = (apiService.spec as Any).service as Any;
    const reference = { namespace: ref.namespace, name: ref.name, port: typeof ref.port === 'number' ? ref.port : 443 };
    const service = await this.#services.get(ref.namespace, ref.name).catch(() => undefined);
    const slices =
      this.#slices.indexed(serviceKey(ref.namespace, ref.name)!) ?? (await this.#slices.listIn(ref.namespace));
    return resolveServiceEndpoint(reference, service, slices);
  }

  #tls(apiService: KubeObject, endpoint: ServiceEndpoint) {
    const spec = apiService.spec as Any;
    return {
      host: endpoint.host,
      port: endpoint.port,
      servername: endpoint.serverName,
      cert: this.#options.frontProxyClient.cert,
      key: this.#options.frontProxyClient.key,
      ...(spec.insecureSkipTLSVerify === true
        ? { rejectUnauthorized: false }
        : typeof spec.caBundle === 'string' && spec.caBundle !== ''
          ? { ca: Buffer.from(spec.caBundle, 'base64').toString('utf8') }
          : {}),
      agent: this.#connections,
    };
  }

  /** Sends an authorized request on to the extension server and its answer back to the caller. */
  async forward(req: IncomingMessage, res: ServerResponse, url: URL, user: UserInfo): Promise<void> {
    const local = await this.#localFor(url.pathname);
    if (local) return this.#answerLocally(local, req, res, url);
    const apiService = await this.#remoteFor(url.pathname);
    const unavailable = (text: string) => {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end(`${text}\n`);
    };
    const condition = ((apiService?.status as Any | undefined)?.conditions ?? []).find(
      (c: Any) => c.type === 'Available',
    );
    if (apiService === undefined || condition?.status !== 'True') return unavailable('service unavailable');
    const endpoint = await this.#endpoint(apiService);
    if (isUnreachable(endpoint)) return unavailable('service unavailable');
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (value !== undefined && !droppedHeader.test(name)) headers[name] = value;
    Object.assign(headers, identityHeaders(user));
    await new Promise<void>((resolve) => {
      const upstream = httpsRequest(
        { ...this.#tls(apiService, endpoint), method: req.method, path: `${url.pathname}${url.search}`, headers },
        (answer) => {
          const answerHeaders: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(answer.headers))
            if (value !== undefined && !/^(connection|keep-alive|transfer-encoding)$/i.test(name))
              answerHeaders[name] = value;
          res.writeHead(answer.statusCode ?? 502, answerHeaders);
          answer.pipe(res);
          answer.on('end', resolve);
          answer.on('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      upstream.on('error', (err) => {
        if (!res.headersSent) unavailable(`error trying to reach service: ${err.message}`);
        else res.destroy();
        resolve();
      });
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    });
  }

  /** A local backend's answer; its errors go back to the caller as any API error does. */
  async #answerLocally(local: LocalBackend, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const reply = await local.serve(parseAggregatedRequest(req.method ?? 'GET', url), url, req.headers.accept);
    // protobuf for a client that prefers it (kubectl top does), as an extension server negotiates
    const protobuf =
      !reply.contentType.includes('as=Table') && wantsProtobuf(req.headers.accept) && canEncodeProtobuf(reply.body);
    const body = protobuf
      ? encodeProtobufObject(reply.body as Record<string, unknown>)
      : Buffer.from(JSON.stringify(reply.body));
    res.writeHead(reply.code, {
      'Content-Type': protobuf ? protobufMediaType : reply.contentType,
      'Content-Length': body.length,
      'Cache-Control': 'no-cache, private',
    });
    res.end(body);
  }

  /** GETs the backend's discovery for its group/version; its APIResourceList, or why not. */
  async #probe(apiService: KubeObject, endpoint: ServiceEndpoint): Promise<{ resources: Any[] } | { error: string }> {
    const spec = apiService.spec as Any;
    const path = `/apis/${spec.group}/${spec.version}`;
    const shown = `https://${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}${path}`;
    return new Promise((resolve) => {
      const req = httpsRequest(
        {
          ...this.#tls(apiService, endpoint),
          method: 'GET',
          path,
          headers: { Accept: 'application/json', ...identityHeaders(aggregatorUser) },
          signal: AbortSignal.timeout(availableTimeoutMs),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= maxDiscoveryBytes) chunks.push(c);
            else res.destroy(new Error(`the discovery document is larger than ${maxDiscoveryBytes} bytes`));
          });
          res.on('error', (err) => resolve({ error: `failing or missing response from ${shown}: ${err.message}` }));
          res.on('end', () => {
            const code = res.statusCode ?? 0;
            // upstream counts 401 and 403 as answers: the backend is there, it judges callers itself
            if (code !== 200 && code !== 401 && code !== 403)
              return resolve({ error: `failing or missing response from ${shown}: bad status from ${shown}: ${code}` });
            try {
              const list = code === 200 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
              resolve({ resources: Array.isArray(list?.resources) ? list.resources : [] });
            } catch {
              resolve({ resources: [] });
            }
          });
        },
      );
      req.on('error', (err) => resolve({ error: `failing or missing response from ${shown}: ${err.message}` }));
      req.end();
    });
  }

  async #observe(apiService: KubeObject): Promise<{ observation: Observation; resources: Any[] }> {
    if (!(apiService.spec as Any)?.service) return { observation: { local: true }, resources: [] };
    const endpoint = await this.#endpoint(apiService);
    if (isUnreachable(endpoint)) return { observation: { local: false, unreachable: endpoint }, resources: [] };
    const probe = await this.#probe(apiService, endpoint);
    if ('error' in probe) return { observation: { local: false, discoveryError: probe.error }, resources: [] };
    return { observation: { local: false }, resources: probe.resources };
  }

  async #checkAll(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      const now = Date.now();
      const retry = this.#options.retryIntervalMs ?? 1_000;
      const present = new Set<string>();
      for (const apiService of await this.#cache.listIn('')) {
        const name = apiService.metadata.name ?? '';
        present.add(name);
        const last = this.#checked.get(name);
        if (last && now - last.at < (last.available ? 30_000 : retry)) continue;
        await this.#check(apiService).catch((err: unknown) =>
          this.#options.logger.warn({ err, apiService: name }, 'APIService availability check failed'),
        );
      }
      for (const name of this.#checked.keys()) if (!present.has(name)) this.#checked.delete(name);
    } finally {
      this.#checking = false;
    }
  }

  async #check(apiService: KubeObject): Promise<void> {
    const name = apiService.metadata.name ?? '';
    const { observation, resources } = await this.#observe(apiService);
    const condition = availableCondition(observation);
    const ref = (apiService.spec as Any | undefined)?.service as Any | undefined;
    const service = ref ? serviceKey(ref.namespace, ref.name ?? '') : undefined;
    this.#checked.set(name, {
      at: Date.now(),
      remote: !observation.local,
      available: condition.status === 'True',
      resources,
      service,
    });
    const info = findResource('apiregistration.k8s.io', 'v1', 'apiservices')!;
    if (statusWith(apiService.status as Any | undefined, condition, new Date().toISOString()) === undefined) return;
    await this.#options.registry.guaranteedUpdate(info, undefined, name, 'status', (current) => {
      const status = statusWith(current.status as Any | undefined, condition, new Date().toISOString());
      return status === undefined ? current : { ...current, status };
    });
  }

  /** Aggregated group/versions that are available, with the resources their servers reported. */
  #served(): RemoteGroupVersion[] {
    const served: RemoteGroupVersion[] = [];
    const split = (name: string) => ({
      version: name.slice(0, name.indexOf('.')),
      group: name.slice(name.indexOf('.') + 1),
    });
    for (const [name, checked] of this.#checked) {
      if (!checked.available || !name.includes('.') || checked.resources.length === 0) continue;
      served.push({ ...split(name), resources: checked.resources });
    }
    // local backends, unless a checked APIService with a Service now serves their group/version
    for (const [name, local] of this.#options.localBackends ?? []) {
      if (this.#checked.get(name)?.remote === true) continue;
      served.push({ ...split(name), resources: local.resources });
    }
    return served.sort((a, b) => a.group.localeCompare(b.group) || a.version.localeCompare(b.version));
  }

  /** APIGroup entries for the legacy `/apis` list. */
  legacyGroups(): Any[] {
    return legacyGroups(this.#served());
  }

  /** The APIGroup document of an aggregated group, if one is served. */
  group(name: string): Any | undefined {
    const group = legacyGroups(this.#served()).find((g) => g.name === name);
    return group ? { kind: 'APIGroup', apiVersion: 'v1', ...group } : undefined;
  }

  /** APIGroupDiscovery items for the aggregated `/apis` document. */
  aggregatedGroups(): Any[] {
    return aggregatedGroups(this.#served());
  }
}
