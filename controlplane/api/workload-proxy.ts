/**
 * pods/<id>/proxy/<path> and services/<id>/proxy/<path>: the server itself sends the request on to
 * the pod (or to one ready endpoint of the Service) over plain HTTP or HTTPS, as upstream's API
 * server does for dashboards and `kubectl proxy` URLs. Method, path (trailing slash kept), query,
 * body and headers go on, except the credentials meant for this server (Authorization and the
 * impersonation headers, which upstream removes once it has used them) and hop-by-hop headers;
 * the answer comes back as it is (a redirect is passed on, never followed). HTTPS targets are not
 * verified, as upstream's proxy transport does not verify them. Connections are opened by the same
 * dialer as kubelet connections (directly, or through the egress proxy). Where a request may go
 * is decided in proxy-target.ts.
 */
import { request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { isIP, type Socket } from 'node:net';
import { connect } from 'node:tls';
import { ApiError } from '../../kube/errors.ts';
import { hopByHopHeaders } from '../../kube/hop-by-hop-headers.ts';
import type { KubeletDialer } from './kubelet-dialer.ts';
import { parseProxyId, podProxyTarget, serviceProxyTarget, type ProxyTarget } from './proxy-target.ts';
import type { Registry } from './registry.ts';
import { isServerCredential, spliceUpgrade } from './upgrade-splice.ts';
import type { ResourceRequest } from './request.ts';
import { findResource } from './resources.ts';

/** Connection headers, and the Host header (set for the target). */
const dropped = new Set([...hopByHopHeaders, 'host']);

/** HTTP/2 pseudo-headers (`:method`, `:path`, `:authority`) describe the request line, not a header to pass on. */
function isDropped(name: string): boolean {
  return name.startsWith(':') || dropped.has(name.toLowerCase()) || isServerCredential(name);
}

function hostHeader(target: ProxyTarget): string {
  if (target.port === undefined) return target.host;
  return `${isIP(target.host) === 6 ? `[${target.host}]` : target.host}:${target.port}`;
}

/** The client's headers as the target should see them, with the client added to X-Forwarded-For. */
function forwardedHeaders(
  headers: IncomingHttpHeaders,
  target: ProxyTarget,
  clientAddress: string | undefined,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !isDropped(name)) out[name] = value;
  out.host = hostHeader(target);
  if (clientAddress)
    out['x-forwarded-for'] = headers['x-forwarded-for']
      ? `${String(headers['x-forwarded-for'])}, ${clientAddress}`
      : clientAddress;
  return out;
}

function answerHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !dropped.has(name.toLowerCase())) out[name] = value;
  return out;
}

export class WorkloadProxy {
  readonly #registry: Registry;
  readonly #dial: KubeletDialer;

  constructor(registry: Registry, dial: KubeletDialer) {
    this.#registry = registry;
    this.#dial = dial;
  }

  async target(parsed: ResourceRequest): Promise<ProxyTarget> {
    const namespace = parsed.namespace ?? '';
    const rawId = parsed.name ?? '';
    const pods = findResource('', 'v1', 'pods')!;
    if (parsed.info.resource === 'pods') {
      const id = parseProxyId(rawId, 'pod');
      return podProxyTarget(await this.#registry.get(pods, namespace, id.name), id);
    }
    const id = parseProxyId(rawId, 'service');
    const service = await this.#registry.get(parsed.info, namespace, id.name);
    const slices = await this.#registry.list(findResource('discovery.k8s.io', 'v1', 'endpointslices')!, namespace, {
      labels: [{ key: 'kubernetes.io/service-name', operator: 'Equals', values: [id.name] }],
    });
    const podList = slices.items.length > 0 ? (await this.#registry.list(pods, namespace)).items : [];
    return serviceProxyTarget(service, slices.items, podList, id, rawId);
  }

  async #open(target: ProxyTarget): Promise<Socket> {
    const port = target.port ?? (target.scheme === 'https' ? 443 : 80);
    const unreachable = (err: Error) =>
      new ApiError('ServiceUnavailable', `error trying to reach service: ${err.message}`);
    const raw = await this.#dial(target.host, port).catch((err: Error) => {
      throw unreachable(err);
    });
    if (target.scheme === 'http') return raw;
    const secured = connect({
      socket: raw,
      rejectUnauthorized: false,
      ...(isIP(target.host) ? {} : { servername: target.host }),
    });
    await new Promise<void>((resolve, reject) => {
      secured.once('secureConnect', resolve);
      secured.once('error', (err) => {
        raw.destroy();
        reject(unreachable(err));
      });
    });
    return secured;
  }

  async forward(parsed: ResourceRequest, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = await this.target(parsed);
    const socket = await this.#open(target);
    const path = `/${parsed.subpath ?? ''}${url.search}`;
    await new Promise<void>((resolve, reject) => {
      const upstream = request(
        {
          createConnection: () => socket,
          path,
          method: req.method,
          headers: forwardedHeaders(req.headers, target, req.socket.remoteAddress),
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answerHeaders(answer.headers));
          answer.pipe(res);
          answer.on('end', resolve);
          answer.on('error', resolve);
        },
      );
      upstream.on('error', (err) =>
        reject(new ApiError('ServiceUnavailable', `error trying to reach service: ${err.message}`)),
      );
      res.on('close', () => {
        upstream.destroy();
        socket.destroy();
      });
      req.pipe(upstream);
    });
  }

  /** An upgraded request (a websocket to the pod): the raw connection is spliced to the target. */
  async upgrade(parsed: ResourceRequest, url: URL, req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    const target = await this.target(parsed);
    spliceUpgrade(
      await this.#open(target),
      `/${parsed.subpath ?? ''}${url.search}`,
      hostHeader(target),
      req,
      client,
      head,
    );
  }
}
