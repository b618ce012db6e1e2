/**
 * How probes and hooks reach a pod over the network: the seam between "what to check" and
 * "which network namespace the check runs from". The agent runs in the node's network namespace
 * and uses `nodeNetwork`; tests that drive pods in a test-bed namespace pass their own.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { ProbeTimeoutError } from '../errors.ts';

export interface HttpCheck {
  scheme: 'HTTP' | 'HTTPS';
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

export interface ProbeNetwork {
  /** The HTTP status code; throws ProbeTimeoutError, or another Error when no answer came. */
  httpGet(check: HttpCheck): Promise<number>;
  /** Resolves once a TCP connection was made (and closes it). */
  tcpConnect(host: string, port: number, timeoutMs: number): Promise<void>;
}

export const nodeNetwork: ProbeNetwork = {
  httpGet(check) {
    return new Promise<number>((resolve, reject) => {
      const send = check.scheme === 'HTTPS' ? httpsRequest : httpRequest;
      const req = send({
        host: check.host,
        port: check.port,
        path: check.path,
        method: 'GET',
        headers: check.headers,
        // probes check liveness, not identity: the kubelet does not verify pod certificates either
        rejectUnauthorized: false,
        agent: false,
      });
      const timer = setTimeout(
        () => req.destroy(new ProbeTimeoutError(`no answer within ${check.timeoutMs} ms`)),
        check.timeoutMs,
      );
      req.on('response', (res) => {
        clearTimeout(timer);
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end();
    });
  },
  tcpConnect(host, port, timeoutMs) {
    return new Promise<void>((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(
        () => socket.destroy(new ProbeTimeoutError(`no connection within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  },
};
