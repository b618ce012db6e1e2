/**
 * /exec, /attach and /portForward: the runtime does the streaming. The kubelet asks CRI
 * (Exec/Attach/PortForward) for a one-time URL on containerd's streaming server and hands the
 * client's upgrade request to it unchanged, then pipes bytes both ways. Whatever the client
 * negotiates with containerd (websocket channel protocols, or SPDY that kubectl falls back to when
 * a websocket upgrade is refused) passes through; the kubelet never parses the stream, and never
 * follows a redirect (the runtime's answer, whatever it is, goes back to the client as it is).
 */
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { CriRuntime } from '../../cri/runtime.ts';
import type { Pod } from '../../kube/corev1.ts';
import { criLabel } from '../pods/cri-labels.ts';
import { KubeletRequestError } from './request-error.ts';

type StreamRuntime = Pick<CriRuntime, 'listContainers' | 'listPodSandbox' | 'exec' | 'attach' | 'portForward'>;

const flag = (query: URLSearchParams, ...names: string[]) =>
  names.some((n) => query.get(n) === 'true' || query.get(n) === '1');

/** The running container of that name in the pod (the newest attempt). */
export async function runningContainerId(
  runtime: Pick<CriRuntime, 'listContainers'>,
  pod: Pod,
  container: string,
): Promise<string> {
  const running = await runtime.listContainers({
    state: { state: 'CONTAINER_RUNNING' },
    labelSelector: { [criLabel.podUid]: pod.metadata.uid ?? '', [criLabel.containerName]: container },
  });
  const newest = running.sort((a, b) => b.createdAt - a.createdAt)[0];
  if (!newest) throw new KubeletRequestError(400, `container ${container} is not running in pod ${pod.metadata.name}`);
  return newest.id;
}

async function readySandboxId(runtime: Pick<CriRuntime, 'listPodSandbox'>, pod: Pod): Promise<string> {
  const sandboxes = await runtime.listPodSandbox({
    state: { state: 'SANDBOX_READY' },
    labelSelector: { [criLabel.podUid]: pod.metadata.uid ?? '' },
  });
  const newest = sandboxes.sort((a, b) => b.createdAt - a.createdAt)[0];
  if (!newest) throw new KubeletRequestError(400, `pod ${pod.metadata.name} has no running sandbox`);
  return newest.id;
}

export type StreamKind = 'exec' | 'attach' | 'portForward';

/** The runtime's one-time URL for this request. */
export async function streamingUrl(
  runtime: StreamRuntime,
  kind: StreamKind,
  pod: Pod,
  container: string | undefined,
  query: URLSearchParams,
): Promise<URL> {
  const streams = {
    stdin: flag(query, 'stdin', 'input'),
    stdout: flag(query, 'stdout', 'output'),
    stderr: flag(query, 'stderr', 'error'),
    tty: flag(query, 'tty'),
  };
  let url: string;
  if (kind === 'portForward') {
    const ports = query
      .getAll('port')
      .flatMap((p) => p.split(','))
      .filter((p) => p !== '')
      .map(Number);
    if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535))
      throw new KubeletRequestError(400, `port ${query.getAll('port').join(',')} is not a port number`);
    url = await runtime.portForward(await readySandboxId(runtime, pod), ports);
  } else {
    const containerId = await runningContainerId(runtime, pod, container ?? '');
    if (kind === 'exec') {
      const cmd = query.getAll('command');
      if (cmd.length === 0) throw new KubeletRequestError(400, 'you must specify at least 1 command');
      url = await runtime.exec({ containerId, cmd, ...streams });
    } else {
      url = await runtime.attach({ containerId, ...streams });
    }
  }
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:')
    throw new KubeletRequestError(
      500,
      `the runtime answered with a streaming URL this agent cannot reach: ${parsed.protocol}`,
    );
  // port-forward over websocket names its ports in the query; the runtime reads them from there
  if (kind === 'portForward') for (const [k, v] of query) parsed.searchParams.append(k, v);
  return parsed;
}

/** Headers that belong to this hop only. */
const hopHeaders = new Set(['host', 'authorization', 'content-length', 'transfer-encoding']);

/** Sends the client's upgrade request to the runtime's URL and splices the two connections. */
export async function spliceToRuntime(url: URL, req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
  const upstream: Socket = connect(Number(url.port || 80), url.hostname);
  await new Promise<void>((resolve, reject) => {
    upstream.once('connect', resolve);
    upstream.once('error', (err) =>
      reject(
        new KubeletRequestError(502, `the runtime's streaming server at ${url.host} is not reachable: ${err.message}`),
      ),
    );
  });
  const lines = [`${req.method ?? 'GET'} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    if (!hopHeaders.has(name.toLowerCase())) lines.push(`${name}: ${req.rawHeaders[i + 1]}`);
  }
  upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
  if (head.length > 0) upstream.write(head);
  upstream.pipe(client);
  client.pipe(upstream);
  const close = () => {
    upstream.destroy();
    client.destroy();
  };
  upstream.on('error', close).on('close', close);
  client.on('error', close).on('close', close);
}
