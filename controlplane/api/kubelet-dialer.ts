/**
 * How the server opens a TCP connection to a node's kubelet port. Directly by default; or, like
 * upstream's egress selector (HTTPConnect over a unix socket to a konnectivity-style proxy),
 * through an HTTP CONNECT proxy listening on a unix socket, for servers that have no route to
 * their nodes (the sandbox: the server on the host's loopback, nodes in their own namespaces).
 * The answer to CONNECT must be 200; anything else is refused, never followed.
 */
import { connect, type Socket } from 'node:net';

export type KubeletDialer = (host: string, port: number) => Promise<Socket>;

export const directDialer: KubeletDialer = (host, port) =>
  new Promise((resolve, reject) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });

/** Dials through an HTTP CONNECT proxy on a unix socket. */
export function connectProxyDialer(socketPath: string, timeoutMs = 10_000): KubeletDialer {
  return (host, port) =>
    new Promise((resolve, reject) => {
      const socket = connect(socketPath);
      const fail = (message: string) => {
        socket.destroy();
        reject(new Error(message));
      };
      const timer = setTimeout(
        () => fail(`no answer from the kubelet egress proxy ${socketPath} within ${timeoutMs / 1000} s`),
        timeoutMs,
      );
      socket.once('error', (err) => {
        clearTimeout(timer);
        fail(`the kubelet egress proxy ${socketPath}: ${err.message}`);
      });
      socket.once('connect', () => socket.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`));
      let answer = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        answer = Buffer.concat([answer, chunk]);
        const end = answer.indexOf('\r\n\r\n');
        if (end === -1) {
          if (answer.length > 8192) fail('the kubelet egress proxy sent an answer too long to be an HTTP header');
          return;
        }
        socket.off('data', onData);
        clearTimeout(timer);
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer.toString('latin1'))?.[1];
        if (status !== '200')
          return fail(
            `the kubelet egress proxy refused ${host}:${port}: ${answer.subarray(0, answer.indexOf('\r\n')).toString('latin1')}`,
          );
        const rest = answer.subarray(end + 4);
        if (rest.length > 0) socket.unshift(rest);
        socket.removeAllListeners('error');
        resolve(socket);
      };
      socket.on('data', onData);
    });
}
