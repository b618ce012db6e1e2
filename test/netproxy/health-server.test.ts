/**
 * The proxy's health server as the agent runs it: kube-proxy's --healthz-bind-address format, the
 * /healthz answer (200 with lastUpdated/currentTime while syncs are recent, 503 when stale), a
 * busy port retried instead of fatal, and the listener gone once the signal aborts.
 */
import test from 'ava';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxyHealthServer, parseHealthzBindAddress, serveProxyHealth } from '../../netproxy/health-server.ts';
import { ProxyMetrics } from '../../netproxy/metrics.ts';
import type { HealthState } from '../../netproxy/service-proxy.ts';
import { waitFor } from '../helpers/wait.ts';

const silent = { info() {}, warn() {}, error() {} };

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

/** A free loopback port: opened by the kernel, then released. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

test('the bind address is read as kube-proxy reads --healthz-bind-address; empty means no server', (t) => {
  t.deepEqual(parseHealthzBindAddress('0.0.0.0:10256'), { host: '0.0.0.0', port: 10256 });
  t.deepEqual(parseHealthzBindAddress('[::]:10256'), { host: '::', port: 10256 });
  t.deepEqual(parseHealthzBindAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  t.is(parseHealthzBindAddress(''), undefined);
  for (const bad of ['10256', 'localhost:10256', '0.0.0.0:', '0.0.0.0:70000', '::1:10256', '1.2.3.4:80:90']) {
    const parsed = parseHealthzBindAddress(bad);
    t.true(
      parsed !== undefined && 'error' in parsed && parsed.error.startsWith(`${bad} is not an IP address with a port`),
      bad,
    );
  }
});

test('healthz answers 200 with lastUpdated and currentTime while syncs are recent and 503 once they are stale; the listener closes with the signal', async (t) => {
  let health: HealthState = { ok: true, lastSyncAt: performance.now(), reason: 'ok' };
  const server = createProxyHealthServer({ health: () => health, metrics: new ProxyMetrics() });
  const stop = new AbortController();
  const port = await freePort();
  const serving = serveProxyHealth(server, { host: '127.0.0.1', port }, stop.signal, silent);
  await waitFor(() => server.listening, { what: 'the health server listening', timeoutMs: 5_000 });

  const fresh = await get(port, '/healthz');
  t.is(fresh.status, 200);
  const body = JSON.parse(fresh.body) as { lastUpdated: string; currentTime: string };
  t.true(Math.abs(Date.parse(body.currentTime) - Date.now()) < 60_000, body.currentTime);
  t.true(Date.parse(body.lastUpdated) <= Date.parse(body.currentTime), fresh.body);

  health = { ok: false, lastSyncAt: undefined, reason: 'no successful sync since start' };
  const stale = await get(port, '/healthz');
  t.is(stale.status, 503);
  t.like(JSON.parse(stale.body), { lastUpdated: null, healthy: false });
  t.is((await get(port, '/metrics')).status, 200);

  stop.abort();
  await serving;
  t.false(server.listening);
  await t.throwsAsync(get(port, '/healthz'), { message: /ECONNREFUSED/ });
});

test('a port held by another process is tried again until it is free, never fatal', async (t) => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
  const { port } = holder.address() as AddressInfo;
  const warnings: string[] = [];
  const log = {
    ...silent,
    warn: (_: object, msg: string) => {
      warnings.push(msg);
    },
  };
  const server = createProxyHealthServer({
    health: () => ({ ok: true, lastSyncAt: undefined, reason: 'ok' }),
    metrics: new ProxyMetrics(),
  });
  const stop = new AbortController();
  const serving = serveProxyHealth(server, { host: '127.0.0.1', port }, stop.signal, log, 20);
  await waitFor(() => warnings.length >= 2, { what: 'two failed tries logged', timeoutMs: 5_000 });
  t.false(server.listening);
  await new Promise<void>((resolve) => holder.close(() => resolve()));
  await waitFor(() => server.listening, {
    what: 'the health server listening once the port is free',
    timeoutMs: 5_000,
  });
  t.is((await get(port, '/healthz')).status, 200);
  stop.abort();
  await serving;
  t.false(server.listening);
});

test('a signal aborted while the port is still busy ends the tries at once', async (t) => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
  const { port } = holder.address() as AddressInfo;
  const server = createProxyHealthServer({
    health: () => ({ ok: true, lastSyncAt: undefined, reason: 'ok' }),
    metrics: new ProxyMetrics(),
  });
  const stop = new AbortController();
  const serving = serveProxyHealth(server, { host: '127.0.0.1', port }, stop.signal, silent, 60_000);
  await new Promise((resolve) => setImmediate(resolve));
  stop.abort();
  await serving;
  t.false(server.listening);
  await new Promise<void>((resolve) => holder.close(() => resolve()));
});
