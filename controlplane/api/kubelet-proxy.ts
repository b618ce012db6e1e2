/**
 * pods/log, pods/exec, pods/attach, pods/portforward and nodes/proxy: the server finds the node, and
 * forwards the request to that node's kubelet port over TLS with its own client certificate
 * (CN kube-apiserver-kubelet-client), verifying the kubelet against the cluster CA. Plain requests
 * (logs, also when followed) are streamed back; upgraded ones (websocket or SPDY streams for exec,
 * attach and port-forward) become a byte pipe between the client and the kubelet. The kubelet's
 * answer goes back as it is: a redirect is passed on, never followed. Connections are opened by a
 * KubeletDialer (direct, or through an egress proxy; see kubelet-dialer.ts).
 */
import { request } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { isIP } from 'node:net';
import { connect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { dns1123Subdomain } from '../../kube/name-formats.ts';
import { directDialer, type KubeletDialer } from './kubelet-dialer.ts';
import { ApiError } from '../../kube/errors.ts';
import type { Registry } from './registry.ts';
import type { ResourceRequest } from './request.ts';
import { findResource } from './resources.ts';
import { spliceUpgrade } from './upgrade-splice.ts';

type Any = Record<string, any>;

interface KubeletTarget {
  readonly host: string;
  readonly port: number;
  /** Path and query on the kubelet. */
  readonly path: string;
}

export interface KubeletClientTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Default kubelet port when a Node does not report one. */
const defaultKubeletPort = 10250;

const kubeletPaths: Record<string, string> = {
  log: 'containerLogs',
  exec: 'exec',
  attach: 'attach',
  portforward: 'portForward',
};

/** Which container a request means: the named one, or the only one. */
function chooseContainer(pod: Any, requested: string | null): string {
  const names = [
    ...(pod.spec?.initContainers ?? []),
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.ephemeralContainers ?? []),
  ].map((c: Any) => String(c.name));
  const main = (pod.spec?.containers ?? []).map((c: Any) => String(c.name));
  if (requested) {
    if (!names.includes(requested))
      throw new ApiError('BadRequest', `container ${requested} is not valid for pod ${pod.metadata.name}`);
    return requested;
  }
  if (main.length === 1) return main[0]!;
  const annotated = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
  if (annotated && main.includes(annotated)) return annotated;
  throw new ApiError(
    'BadRequest',
    `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${main.join(' ')}]`,
  );
}

/** The node's kubelet address: InternalIP first, then any address; port from daemonEndpoints. */
export function kubeletAddress(node: Any): { host: string; port: number } {
  const addresses = (node.status?.addresses ?? []) as { type: string; address: string }[];
  const address =
    addresses.find((a) => a.type === 'InternalIP') ??
    addresses.find((a) => a.type === 'ExternalIP') ??
    addresses.find((a) => a.type === 'Hostname');
  if (!address)
    throw new ApiError('ServiceUnavailable', `node ${node.metadata.name} reports no address to reach its kubelet`, {
      retryAfterSeconds: 5,
    });
  // a node writes its own status: what it names is dialled (and written on a CONNECT line) only
  // when it is an address or a host name, and a port
  const host = String(address.address);
  if (isIP(host) === 0 && dns1123Subdomain(host).length > 0)
    throw new ApiError(
      'ServiceUnavailable',
      `node ${node.metadata.name} reports an address that is neither an IP nor a host name: ${JSON.stringify(host.slice(0, 64))}`,
    );
  const given = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  const port = given === undefined || given === 0 ? defaultKubeletPort : typeof given === 'number' ? given : Number.NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new ApiError(
      'ServiceUnavailable',
      `node ${node.metadata.name} reports kubelet port ${JSON.stringify(String(given).slice(0, 16))}, not a port number`,
    );
  return { host, port };
}

export class KubeletProxy {
  readonly #registry: Registry;
  /**
   * The CA, client certificate and key, parsed once: building a context per request parsed them
   * again each time (about 1.4 ms of CPU for the CA alone on this project's test machines).
   */
  #context: SecureContext;
  readonly #dial: KubeletDialer;

  constructor(registry: Registry, tls: KubeletClientTls, dial: KubeletDialer = directDialer) {
    this.#registry = registry;
    this.#context = createSecureContext(tls);
    this.#dial = dial;
  }

  /** Presents a renewed client certificate from the next connection on (each request connects anew). */
  useClientTls(tls: KubeletClientTls): void {
    this.#context = createSecureContext(tls);
  }

  /** A TLS connection to the kubelet, its certificate checked against the cluster CA and its address. */
  async #connect(target: KubeletTarget): Promise<TLSSocket> {
    const unreachable = (err: Error) =>
      new ApiError(
        'ServiceUnavailable',
        `the kubelet at ${target.host}:${target.port} is not reachable: ${err.message}`,
        { retryAfterSeconds: 5 },
      );
    const raw = await this.#dial(target.host, target.port).catch((err: Error) => {
      throw unreachable(err);
    });
    const socket = connect({
      socket: raw,
      host: target.host,
      ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
      secureContext: this.#context,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', (err) => {
        raw.destroy();
        reject(unreachable(err));
      });
    });
    return socket;
  }

  /** nodes/<name>/proxy/<path>: the same path on the node's kubelet port. */
  async nodeTarget(nodeName: string, subpath: string, url: URL): Promise<KubeletTarget> {
    const node = (await this.#registry.get(findResource('', 'v1', 'nodes')!, undefined, nodeName)) as Any;
    const { host, port } = kubeletAddress(node);
    return { host, port, path: `/${subpath}${url.search}` };
  }

  async target(parsed: ResourceRequest, url: URL): Promise<KubeletTarget> {
    if (parsed.info.resource === 'nodes') return this.nodeTarget(parsed.name ?? '', parsed.subpath ?? '', url);
    const pod = (await this.#registry.get(parsed.info, parsed.namespace, parsed.name ?? '')) as Any;
    const nodeName = pod.spec?.nodeName as string | undefined;
    if (!nodeName) throw new ApiError('BadRequest', `pod ${pod.metadata.name} does not have a host assigned`);
    const node = (await this.#registry.get(findResource('', 'v1', 'nodes')!, undefined, nodeName)) as Any;
    const { host, port } = kubeletAddress(node);
    const sub = parsed.subresource!;
    const base = `/${kubeletPaths[sub]}/${encodeURIComponent(parsed.namespace ?? '')}/${encodeURIComponent(pod.metadata.name)}`;
    const query = new URLSearchParams(url.searchParams);
    let path = base;
    if (sub !== 'portforward') {
      path = `${base}/${encodeURIComponent(chooseContainer(pod, query.get('container')))}`;
      query.delete('container');
    }
    const q = query.toString();
    return { host, port, path: `${path}${q ? `?${q}` : ''}` };
  }

  /** A plain request (logs, nodes/proxy): the body goes on, the answer streams back with its status and content type. */
  async forward(parsed: ResourceRequest, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = await this.target(parsed, url);
    const socket = await this.#connect(target);
    await new Promise<void>((resolve, reject) => {
      const headers: Record<string, string> = {
        accept: req.headers.accept ?? '*/*',
        host: `${target.host}:${target.port}`,
      };
      if (req.headers['content-type']) headers['content-type'] = req.headers['content-type'];
      const upstream = request(
        { createConnection: () => socket, path: target.path, method: req.method, headers },
        (answer) => {
          const passed: Record<string, string> = {
            'Content-Type': answer.headers['content-type'] ?? 'text/plain',
            'Cache-Control': 'no-cache, private',
          };
          if (answer.headers.location) passed.Location = answer.headers.location;
          res.writeHead(answer.statusCode ?? 502, passed);
          answer.pipe(res);
          answer.on('end', resolve);
          answer.on('error', resolve);
        },
      );
      upstream.on('error', (err) =>
        reject(
          new ApiError(
            'ServiceUnavailable',
            `the kubelet at ${target.host}:${target.port} is not reachable: ${err.message}`,
            { retryAfterSeconds: 5 },
          ),
        ),
      );
      res.on('close', () => {
        upstream.destroy();
        socket.destroy();
      });
      req.pipe(upstream);
    });
  }

  /** An upgraded request (exec, attach, port-forward): the raw connection is spliced to the kubelet. */
  async upgrade(parsed: ResourceRequest, url: URL, req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    const target = await this.target(parsed, url);
    spliceUpgrade(await this.#connect(target), target.path, `${target.host}:${target.port}`, req, client, head);
  }
}
