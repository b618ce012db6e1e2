/**
 * Runs one probe or lifecycle hook handler against a container and says what came of it:
 * exec through CRI ExecSync (the runtime kills the command at the timeout), httpGet (200-399
 * passes), tcpSocket (a connection passes), grpc (the standard health service answering SERVING),
 * sleep (hooks only). A check that ran out of time is a `timeout`, one that ran and said no is a
 * `failure`, and one that could not be run at all (runtime unreachable) is an `error`.
 */
import { createRequire } from 'node:module';
import type * as Grpc from '@grpc/grpc-js';
import type { CriRuntime } from '../../cri/runtime.ts';
import { CriError } from '../../cri/errors.ts';
import type { Container, IntOrString, LifecycleHandler, ProbeHandler } from '../../kube/corev1.ts';
import { bosunUserAgent } from './user-agent.ts';
import type { ProbeOutcome } from './probe-schedule.ts';
import { ProbeTimeoutError } from '../errors.ts';
import type { ProbeNetwork } from './probe-network.ts';
import type { Clock } from '../../kube/clock.ts';

interface ProbeTarget {
  containerId: string;
  container: Container;
  podIP: string;
}

export interface ProbeTools {
  runtime: CriRuntime;
  network: ProbeNetwork;
  clock: Clock;
}

const maxOutput = 1024;

function resolvePort(port: IntOrString, container: Container): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (named === undefined) throw new Error(`container ${container.name} has no port named ${port}`);
  return named.containerPort;
}

function transient(err: unknown): boolean {
  return (
    err instanceof CriError &&
    ['BOSUN_CRI_UNAVAILABLE', 'BOSUN_CRI_CLOSED', 'BOSUN_CRI_CANCELLED', 'BOSUN_CRI_PERMISSION_DENIED'].includes(
      err.code,
    )
  );
}

async function execCheck(
  target: ProbeTarget,
  command: string[],
  timeoutMs: number,
  tools: ProbeTools,
): Promise<ProbeOutcome> {
  const started = tools.clock.now();
  try {
    const timeoutSec = Math.max(1, Math.ceil(timeoutMs / 1000));
    const result = await tools.runtime.execSync(target.containerId, command, timeoutSec, {
      timeoutMs: timeoutMs + 5_000,
    });
    if (result.exitCode === 0) return { kind: 'success' };
    const output = Buffer.concat([result.stdout, result.stderr]).toString('utf8').slice(0, maxOutput).trim();
    return {
      kind: 'failure',
      message: `command ${JSON.stringify(command)} exited with ${result.exitCode}${output ? `: ${output}` : ''}`,
    };
  } catch (err) {
    if (transient(err)) return { kind: 'error', message: (err as Error).message };
    // the runtime stops the command at the timeout and reports an error of its own wording:
    // judge by the time it took, not by the text
    if (
      tools.clock.now() - started >= timeoutMs ||
      (err instanceof CriError && err.code === 'BOSUN_CRI_DEADLINE_EXCEEDED')
    ) {
      return { kind: 'timeout', message: `command ${JSON.stringify(command)} timed out after ${timeoutMs / 1000}s` };
    }
    return { kind: 'failure', message: (err as Error).message };
  }
}

async function networkCheck(what: string, check: () => Promise<ProbeOutcome>): Promise<ProbeOutcome> {
  try {
    return await check();
  } catch (err) {
    if (err instanceof ProbeTimeoutError) return { kind: 'timeout', message: `${what}: ${err.message}` };
    return { kind: 'failure', message: `${what}: ${(err as Error).message}` };
  }
}

/** grpc-js, loaded at the first gRPC probe: an agent whose pods have none never pays its memory. */
let grpcModule: typeof Grpc | undefined;
const loadGrpc = (): typeof Grpc => {
  grpcModule ??= createRequire(import.meta.url)('@grpc/grpc-js') as typeof Grpc;
  return grpcModule;
};

/** gRPC health checking: /grpc.health.v1.Health/Check, request {service}, response {status}; SERVING is 1. */
async function grpcCheck(host: string, port: number, service: string, timeoutMs: number): Promise<ProbeOutcome> {
  const grpc = loadGrpc();
  const client = new grpc.Client(`${host}:${port}`, grpc.credentials.createInsecure());
  const encode = (s: string): Buffer => {
    const bytes = Buffer.from(s, 'utf8');
    return bytes.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
  };
  try {
    const status = await new Promise<number>((resolve, reject) => {
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        encode,
        (b: Buffer) => (b.length >= 2 && b[0] === 0x08 ? b[1]! : 0),
        service,
        { deadline: Date.now() + timeoutMs },
        (err, value) => (err ? reject(err) : resolve(value ?? 0)),
      );
    });
    return status === 1
      ? { kind: 'success' }
      : { kind: 'failure', message: `service unhealthy (responded with status ${status})` };
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === grpc.status.DEADLINE_EXCEEDED) return { kind: 'timeout', message: `no answer within ${timeoutMs} ms` };
    return { kind: 'failure', message: (err as Error).message.split('\n')[0] ?? 'gRPC check failed' };
  } finally {
    client.close();
  }
}

export async function runHandler(
  handler: ProbeHandler & LifecycleHandler,
  target: ProbeTarget,
  timeoutMs: number,
  tools: ProbeTools,
): Promise<ProbeOutcome> {
  if (handler.exec !== undefined) return execCheck(target, handler.exec.command ?? [], timeoutMs, tools);
  if (handler.httpGet !== undefined) {
    const get = handler.httpGet;
    const port = resolvePort(get.port, target.container);
    const host = get.host ?? target.podIP;
    const headers: Record<string, string> = { 'User-Agent': bosunUserAgent, Accept: '*/*' };
    for (const header of get.httpHeaders ?? []) headers[header.name] = header.value;
    const path = get.path ?? '/';
    const what = `GET ${host}:${port}${path}`;
    return networkCheck(what, async () => {
      const status = await tools.network.httpGet({
        scheme: get.scheme ?? 'HTTP',
        host,
        port,
        path: path.startsWith('/') ? path : `/${path}`,
        headers,
        timeoutMs,
      });
      return status >= 200 && status < 400
        ? { kind: 'success' }
        : { kind: 'failure', message: `HTTP probe failed with statuscode: ${status}` };
    });
  }
  if (handler.tcpSocket !== undefined) {
    const port = resolvePort(handler.tcpSocket.port, target.container);
    const host = handler.tcpSocket.host ?? target.podIP;
    return networkCheck(`dial tcp ${host}:${port}`, async () => {
      await tools.network.tcpConnect(host, port, timeoutMs);
      return { kind: 'success' };
    });
  }
  if (handler.grpc !== undefined)
    return grpcCheck(target.podIP, handler.grpc.port, handler.grpc.service ?? '', timeoutMs);
  if (handler.sleep !== undefined) {
    const ms = Math.min(handler.sleep.seconds * 1000, timeoutMs);
    await new Promise<void>((resolve) => tools.clock.after(ms, resolve));
    return { kind: 'success' };
  }
  return { kind: 'failure', message: 'the handler names no action' };
}
