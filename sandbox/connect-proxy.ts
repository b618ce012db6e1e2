/**
 * The way back in: the sandbox's server runs on the host's loopback and has no route to the nodes,
 * which live in their own namespaces. This small HTTP CONNECT proxy runs inside the hub namespace,
 * listens on a unix socket (the filesystem is shared, the network is not) and opens TCP
 * connections to node addresses on the server's behalf (`bosun server --kubelet-egress-socket`),
 * so the server reaches each kubelet at <InternalIP>:10250 and the host namespace gets no route.
 * Only addresses inside --allow (comma-separated CIDRs: the sandbox's node segments and its pod
 * network, which the hub routes to each node) are dialled; the server reaches pods (pods/proxy,
 * aggregated API servers) the way it reaches kubelets, as upstream's egress selector sends both.
 *
 *   node connect-proxy.ts --listen /var/lib/.../kubelet-egress.sock --allow 172.30.0.0/16,10.244.0.0/16
 */
import { connect, createServer, isIPv4, type Socket } from 'node:net';
import { serveUntilStopped } from './relay.ts';

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** Whether `ip` lies inside `cidr` (IPv4 only). */
function insideCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/') as [string, string];
  if (!isIPv4(ip) || !isIPv4(base)) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipToNumber(ip) / size) === Math.floor(ipToNumber(base) / size);
}

async function runConnectProxy(socketPath: string, allow: readonly string[], signal?: AbortSignal): Promise<void> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    open.add(client);
    let header = Buffer.alloc(0);
    const refuse = (status: string) => {
      client.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
      open.delete(client);
    };
    const onData = (chunk: Buffer) => {
      header = Buffer.concat([header, chunk]);
      const end = header.indexOf('\r\n\r\n');
      if (end === -1) {
        if (header.length > 8192) refuse('431 Request Header Fields Too Large');
        return;
      }
      client.off('data', onData);
      const match = /^CONNECT (\d+\.\d+\.\d+\.\d+):(\d+) HTTP\/1\.[01]\r\n/.exec(header.toString('latin1'));
      if (!match) return refuse('405 Method Not Allowed');
      const [, host, port] = match as unknown as [string, string, string];
      if (!allow.some((cidr) => insideCidr(host, cidr))) return refuse('403 Forbidden');
      const upstream = connect(Number(port), host);
      open.add(upstream);
      const close = () => {
        client.destroy();
        upstream.destroy();
        open.delete(client);
        open.delete(upstream);
      };
      let established = false;
      upstream.once('connect', () => {
        established = true;
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        const rest = header.subarray(end + 4);
        if (rest.length > 0) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      upstream
        .on('error', () => (established ? close() : refuse('502 Bad Gateway')))
        .on('close', () => {
          if (established) close();
        });
      client.on('close', close);
    };
    client.on('data', onData);
    client.on('error', () => {
      client.destroy();
      open.delete(client);
    });
  });
  await serveUntilStopped(server, { kind: 'unix', path: socketPath }, open, signal);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    const v = i >= 0 ? args[i + 1] : undefined;
    if (v === undefined) throw new Error(`connect-proxy: ${flag} is required`);
    return v;
  };
  try {
    await runConnectProxy(value('--listen'), value('--allow').split(','));
  } catch (err) {
    process.stderr.write(`connect-proxy: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
