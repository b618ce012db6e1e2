/**
 * A small aggregated API server, run as a pod by aggregated-api.test.ts with the project's Node
 * binary: it serves one namespaced resource (gadgets) of one group/version over HTTPS and, like a
 * stock extension server, believes only the front proxy: a client certificate of the CA published
 * in kube-system/extension-apiserver-authentication, with one of the allowed names, whose caller
 * it reads from the published header names. Each gadget says who the server saw asking for it.
 * Standalone (node: modules only), configured by the JSON file named as its argument:
 *   { groupVersion, port, key, cert, clientCA, allowedNames, userHeaders, groupHeaders }
 */
import { readFileSync } from 'node:fs';
import { createServer, type ServerOptions } from 'node:https';
import { hostname } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

interface Config {
  groupVersion: string;
  port: number;
  key: string;
  cert: string;
  clientCA: string;
  allowedNames: string[];
  userHeaders: string[];
  groupHeaders: string[];
}

const config = JSON.parse(readFileSync(process.argv[2] ?? '/ext/config.json', 'utf8')) as Config;
const prefix = `/apis/${config.groupVersion}`;

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function failure(res: ServerResponse, code: number, reason: string, message: string): void {
  send(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message, code });
}

/** The front proxy's name when the peer presented a certificate of the client CA, else undefined. */
function frontProxyName(req: IncomingMessage): string | undefined {
  const socket = req.socket as TLSSocket;
  if (!socket.authorized) return undefined;
  const subject = socket.getPeerX509Certificate()?.subject ?? '';
  const name = /CN=([^\n,]+)/.exec(subject)?.[1];
  return name !== undefined && config.allowedNames.includes(name) ? name : undefined;
}

function headerValues(req: IncomingMessage, names: readonly string[]): string[] {
  return names.flatMap((name) => req.headersDistinct[name.toLowerCase()] ?? []);
}

/** Requests for gadgets served so far (from the front proxy), so a test can tell none reached it. */
let gadgetRequests = 0;

function gadget(namespace: string, name: string, req: IncomingMessage, peer: string): Record<string, unknown> {
  return {
    kind: 'Gadget',
    apiVersion: config.groupVersion,
    metadata: { name, namespace },
    seenAs: {
      user: headerValues(req, config.userHeaders)[0] ?? '',
      groups: headerValues(req, config.groupHeaders),
      peer,
      authorization: req.headers.authorization !== undefined,
      impersonation: Object.keys(req.headers).filter((h) => h.startsWith('impersonate-')),
      servedBy: hostname(),
      gadgetRequests,
    },
  };
}

function serve(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'https://extension').pathname;
  if (path === '/healthz') return void res.end('ok');
  const peer = frontProxyName(req);
  if (peer === undefined) return failure(res, 401, 'Unauthorized', 'Unauthorized');
  if (path === prefix)
    return send(res, 200, {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: config.groupVersion,
      resources: [
        { name: 'gadgets', singularName: 'gadget', namespaced: true, kind: 'Gadget', verbs: ['get', 'list'] },
      ],
    });
  const match = /^\/namespaces\/([^/]+)\/gadgets(?:\/([^/]+))?$/.exec(path.slice(prefix.length));
  if (!path.startsWith(`${prefix}/`) || match === null)
    return failure(res, 404, 'NotFound', 'the server could not find the requested resource');
  const [, namespace = '', name] = match;
  gadgetRequests++;
  if (name === undefined)
    return send(res, 200, {
      kind: 'GadgetList',
      apiVersion: config.groupVersion,
      metadata: {},
      items: [gadget(namespace, 'g1', req, peer)],
    });
  if (name !== 'g1')
    return failure(res, 404, 'NotFound', `gadgets.${config.groupVersion.split('/')[0]} "${name}" not found`);
  send(res, 200, gadget(namespace, name, req, peer));
}

const options: ServerOptions = {
  key: readFileSync(config.key),
  cert: readFileSync(config.cert),
  ca: readFileSync(config.clientCA),
  requestCert: true,
  rejectUnauthorized: false,
};
const server = createServer(options, serve);
server.listen(config.port, '0.0.0.0');
// PID 1 of its container: a signal with no handler would be ignored
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
