/** Requests as the cluster admin to a test file's shared in-process server (sharedInProcess). */
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
