/**
 * Forwards a query the cluster zone does not own to the node's own resolvers, one after the other,
 * each with a deadline. UDP queries go out over UDP, TCP queries over TCP.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { isIPv6 } from 'node:net';
import { readFileSync } from 'node:fs';

export interface Upstream {
  address: string;
  port: number;
}

/** Nameservers from a resolv.conf, minus addresses that would loop back to us. */
function upstreamsFromResolvConf(text: string, exclude: readonly string[] = []): Upstream[] {
  const upstreams: Upstream[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!match) continue;
    const address = match[1]!;
    if (!exclude.includes(address)) upstreams.push({ address, port: 53 });
  }
  return upstreams;
}

/** 127.0.0.0/8 and ::1: a stub resolver on the host (systemd-resolved's 127.0.0.53, dnsmasq). */
function isLoopbackResolver(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/**
 * The resolvers to forward to, from the host's resolv.conf and, where systemd-resolved runs, the
 * file that lists the resolvers behind its stub (what kubeadm points the kubelet's --resolv-conf
 * at). Loopback stubs are skipped while a real resolver is known: a stub answers only inside the
 * host, and names it forwards for pods would loop back through it. With nothing else, the stubs
 * are kept: this server runs in the host's network namespace, where they answer.
 */
export function chooseUpstreams(
  hostResolvConf: string,
  resolvedResolvConf: string | undefined,
  exclude: readonly string[] = [],
): Upstream[] {
  const host = upstreamsFromResolvConf(hostResolvConf, exclude);
  const real = host.filter((u) => !isLoopbackResolver(u.address));
  if (real.length > 0) return real;
  const behindStub = upstreamsFromResolvConf(resolvedResolvConf ?? '', exclude).filter(
    (u) => !isLoopbackResolver(u.address),
  );
  return behindStub.length > 0 ? behindStub : host;
}

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

export function readHostUpstreams(
  path = '/etc/resolv.conf',
  exclude: readonly string[] = [],
  resolvedPath = '/run/systemd/resolve/resolv.conf',
): Upstream[] {
  return chooseUpstreams(readText(path) ?? '', readText(resolvedPath), exclude);
}

function askUdp(query: Buffer, upstream: Upstream, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(upstream.address) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no answer from ${upstream.address} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
    socket.on('message', (message) => {
      // only the answer to our own query id counts
      if (message.length < 2 || message.readUInt16BE(0) !== query.readUInt16BE(0)) return;
      clearTimeout(timer);
      socket.close();
      resolve(message);
    });
    socket.send(query, upstream.port, upstream.address);
  });
}

function askTcp(query: Buffer, upstream: Upstream, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: upstream.address, port: upstream.port });
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${upstream.address} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(query.length);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(received.subarray(2, 2 + received.readUInt16BE(0)));
      }
    });
  });
}

/** Asks each upstream in turn; resolves with the first answer, rejects when none answered. */
export async function forwardQuery(
  query: Buffer,
  upstreams: readonly Upstream[],
  transport: 'udp' | 'tcp',
  timeoutMs = 2_000,
): Promise<Buffer> {
  const failures: string[] = [];
  for (const upstream of upstreams) {
    try {
      return transport === 'udp' ? await askUdp(query, upstream, timeoutMs) : await askTcp(query, upstream, timeoutMs);
    } catch (err) {
      failures.push(`${upstream.address}: ${(err as Error).message}`);
    }
  }
  throw new Error(upstreams.length === 0 ? 'no upstream resolvers configured' : failures.join('; '));
}
