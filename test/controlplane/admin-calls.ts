/** Requests as the cluster admin to a test file's shared in-process server (sharedInProcess), by HTTP or kubectl. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { call, type HttpReply, type Identity } from './server-process.ts';
import type { InProcessServer } from './in-process.ts';

export interface AdminCalls {
  /** Sends a request (as the admin unless `identity` says otherwise) and returns the reply as it is. */
  send(
    method: string,
    path: string,
    body?: unknown,
    identity?: Identity,
    headers?: Record<string, string>,
  ): Promise<HttpReply>;
  /** Sends a request as the admin; a reply of 300 or more throws with its Status. */
  sendOk(method: string, path: string, body?: unknown): Promise<any>;
}

export function adminCalls(shared: { server(): InProcessServer }): AdminCalls {
  const send: AdminCalls['send'] = (method, path, body, identity, headers = {}) => {
    const { server, dataDir, admin } = shared.server();
    const port = Number(new URL(server.url).port);
    return call(
      { dataDir, port },
      method,
      path,
      identity ?? { cert: admin.cert, key: admin.key },
      body,
      'application/json',
      headers,
    );
  };
  return {
    send,
    sendOk: async (method, path, body) => {
      const reply = await send(method, path, body);
      if (reply.status >= 300) throw new Error(`${method} ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
      return reply.body;
    },
  };
}

export interface KubectlRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a kubectl binary as the admin against the shared server; never throws. Each binary keeps a
 * discovery cache of its own, so every release reads the server's discovery itself.
 */
export function adminKubectl(shared: { server(): InProcessServer }) {
  return (binary: string, ...args: string[]): Promise<KubectlRun> => {
    const { dataDir } = shared.server();
    const cache = join(dataDir, 'kubectl-cache', binary.replace(/\W+/g, '-'));
    return new Promise((resolve) => {
      execFile(
        binary,
        ['--kubeconfig', join(dataDir, 'admin.kubeconfig'), '--cache-dir', cache, ...args],
        { timeout: 30_000 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  };
}
