/**
 * The sandbox's control plane: `bosun server` on the host's loopback (so kubectl on the host reaches
 * it), and two relays that make it reachable from the nodes at the hub address through a unix
 * socket — the host's own network namespace gets no route, address or rule.
 */
import { createServer } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, stopDaemon, killDaemon, isOurs } from '../host/process/process.ts';
import { waitFor } from '../host/process/wait.ts';
import { sandboxAddresses } from './names.ts';
import { readyz } from '../host/init/readyz.ts';

export interface ControlPlaneRecord {
  port: number;
  dataDir: string;
  serverPid: number;
  /** The server's command line, to start it again after a kill (fault injection). */
  serverArgv?: string[];
  hostRelayPid: number;
  hubRelayPid: number;
  /** The CONNECT proxy in the hub namespace through which the server reaches kubelet ports. */
  egressProxyPid?: number;
  /** kubeconfig for kubectl on the host (server https://127.0.0.1:<port>) */
  kubeconfig: string;
  /** kubeconfig as the nodes see the server (https://<hub address>:<port>) */
  nodeKubeconfig: string;
}

const root = join(import.meta.dirname, '..');
const bosunBin = join(root, 'bin', 'bosun');
const relayScript = join(import.meta.dirname, 'relay.ts');
const connectProxyScript = join(import.meta.dirname, 'connect-proxy.ts');

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel picked it). */
export async function freeLoopbackPort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startControlPlane(
  stateDir: string,
  hubNetns: string,
  serverArgs: readonly string[] = [],
): Promise<ControlPlaneRecord> {
  const port = await freeLoopbackPort();
  const dataDir = join(stateDir, 'server');
  const socket = join(stateDir, 'api.sock');
  const hub = sandboxAddresses.hubIP;
  // the server reaches the nodes' kubelet ports (logs, exec, port-forward) and pods through this proxy
  const egressSocket = join(stateDir, 'kubelet-egress.sock');
  const egressProxyPid = startDaemon({
    argv: [
      process.execPath,
      connectProxyScript,
      '--listen',
      egressSocket,
      '--allow',
      `${sandboxAddresses.segmentsCIDR},${sandboxAddresses.clusterCIDR}`,
    ],
    netns: hubNetns,
    log: join(stateDir, 'kubelet-egress.log'),
  });
  const serverArgv = [
    bosunBin,
    'server',
    '--data-dir',
    dataDir,
    '--bind-address',
    '127.0.0.1',
    '--secure-port',
    String(port),
    '--advertise-address',
    hub,
    '--tls-san',
    '127.0.0.1',
    '--kubelet-egress-socket',
    egressSocket,
    ...serverArgs,
  ];
  const serverPid = startDaemon({ argv: serverArgv, log: join(stateDir, 'server.log') });
  await waitServerReady(stateDir, dataDir, port, serverPid);
  const hostRelayPid = startDaemon({
    argv: [process.execPath, relayScript, '--listen', `unix:${socket}`, '--connect', `tcp:127.0.0.1:${port}`],
    log: join(stateDir, 'relay-host.log'),
  });
  await waitFor(() => existsSync(socket), { what: `the relay socket ${socket}`, timeoutMs: 10_000 });
  const hubRelayPid = startDaemon({
    argv: [process.execPath, relayScript, '--listen', `tcp:${hub}:${port}`, '--connect', `unix:${socket}`],
    netns: hubNetns,
    log: join(stateDir, 'relay-hub.log'),
  });
  const nodeKubeconfig = join(dataDir, 'admin.kubeconfig');
  const kubeconfig = join(stateDir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    readFileSync(nodeKubeconfig, 'utf8').replaceAll(`https://${hub}:${port}`, `https://127.0.0.1:${port}`),
    { mode: 0o600 },
  );
  return {
    port,
    dataDir,
    serverPid,
    serverArgv,
    hostRelayPid,
    hubRelayPid,
    egressProxyPid,
    kubeconfig,
    nodeKubeconfig,
  };
}

async function waitServerReady(stateDir: string, dataDir: string, port: number, serverPid: number): Promise<void> {
  const caPath = join(dataDir, 'pki', 'ca.crt');
  await waitFor(
    async () => {
      if (!isOurs(serverPid, dataDir)) throw new Error(`bosun server exited; see ${join(stateDir, 'server.log')}`);
      return existsSync(caPath) && (await readyz(port, readFileSync(caPath)));
    },
    { what: `bosun server ready on 127.0.0.1:${port}`, timeoutMs: 60_000, intervalMs: 100 },
  );
}

/** SIGKILL to the server alone (the relays stay), as a crash would; resolves once it is gone. */
export async function killServer(record: ControlPlaneRecord): Promise<void> {
  await killDaemon(record.serverPid, record.dataDir);
}

/** Starts the server again on the same data, port and flags; returns its new PID once it is ready. */
export async function restartServer(stateDir: string, record: ControlPlaneRecord): Promise<number> {
  if (record.serverArgv === undefined)
    throw new Error(
      'this control plane was started without a recorded command line; take the sandbox down and up again',
    );
  if (isOurs(record.serverPid, record.dataDir)) return record.serverPid;
  const serverPid = startDaemon({ argv: record.serverArgv, log: join(stateDir, 'server.log') });
  await waitServerReady(stateDir, record.dataDir, record.port, serverPid);
  return serverPid;
}

export async function stopControlPlane(record: ControlPlaneRecord): Promise<void> {
  await stopDaemon(record.hubRelayPid, relayScript);
  await stopDaemon(record.hostRelayPid, relayScript);
  if (record.egressProxyPid) await stopDaemon(record.egressProxyPid, connectProxyScript);
  await stopDaemon(record.serverPid, record.dataDir);
}

export function controlPlaneRunning(record: ControlPlaneRecord): boolean {
  return isOurs(record.serverPid, record.dataDir);
}
