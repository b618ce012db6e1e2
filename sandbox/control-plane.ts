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
  /** The hub relay's command line, to start it again after a partition. */
  hubRelayArgv?: string[];
  /** Where the server logs (absent in older records: <state>/server.log). */
  serverLog?: string;
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

/** Where a server of the sandbox keeps its files: the first one `server`, the others `server-2`, ... */
export interface ServerPlace {
  /** '' for the first server, '-2', '-3', ... for the others (in file names). */
  readonly suffix: string;
  /** Its data folder (default <state>/server). */
  readonly dataDir?: string;
}

export async function startControlPlane(
  stateDir: string,
  hubNetns: string,
  serverArgs: readonly string[] = [],
  place: ServerPlace = { suffix: '' },
): Promise<ControlPlaneRecord> {
  const port = await freeLoopbackPort();
  const { suffix } = place;
  const dataDir = place.dataDir ?? join(stateDir, 'server');
  const socket = join(stateDir, `api${suffix}.sock`);
  const hub = sandboxAddresses.hubIP;
  // the server reaches the nodes' kubelet ports (logs, exec, port-forward) and pods through this proxy
  const egressSocket = join(stateDir, `kubelet-egress${suffix}.sock`);
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
    log: join(stateDir, `kubelet-egress${suffix}.log`),
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
  const serverLog = join(stateDir, `server${suffix}.log`);
  const serverPid = startDaemon({ argv: serverArgv, log: serverLog });
  await waitServerReady(serverLog, dataDir, port, serverPid);
  const hostRelayPid = startDaemon({
    argv: [process.execPath, relayScript, '--listen', `unix:${socket}`, '--connect', `tcp:127.0.0.1:${port}`],
    log: join(stateDir, `relay-host${suffix}.log`),
  });
  await waitFor(() => existsSync(socket), { what: `the relay socket ${socket}`, timeoutMs: 10_000 });
  const hubRelayArgv = [process.execPath, relayScript, '--listen', `tcp:${hub}:${port}`, '--connect', `unix:${socket}`];
  const hubRelayPid = startHubRelay(stateDir, hubNetns, hubRelayArgv, suffix);
  const nodeKubeconfig = join(dataDir, 'admin.kubeconfig');
  const kubeconfig = join(stateDir, `kubeconfig${suffix}`);
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
    hubRelayArgv,
    egressProxyPid,
    kubeconfig,
    nodeKubeconfig,
    serverLog,
  };
}

/** The relay that makes a server reachable from the nodes; stopping it cuts them off from that server. */
function startHubRelay(stateDir: string, hubNetns: string, argv: readonly string[], suffix: string): number {
  return startDaemon({ argv, netns: hubNetns, log: join(stateDir, `relay-hub${suffix}.log`) });
}

/** Cuts the nodes off from this server (it keeps running, and keeps its datastore). */
export async function partitionServer(record: ControlPlaneRecord): Promise<void> {
  await stopDaemon(record.hubRelayPid, relayScript);
}

/** Makes the server reachable from the nodes again. */
export function healServer(stateDir: string, hubNetns: string, record: ControlPlaneRecord, suffix: string): number {
  if (record.hubRelayArgv === undefined) throw new Error('this server was started without a recorded relay');
  if (isOurs(record.hubRelayPid, relayScript)) return record.hubRelayPid;
  return startHubRelay(stateDir, hubNetns, record.hubRelayArgv, suffix);
}

async function waitServerReady(serverLog: string, dataDir: string, port: number, serverPid: number): Promise<void> {
  const caPath = join(dataDir, 'pki', 'ca.crt');
  await waitFor(
    async () => {
      if (!isOurs(serverPid, dataDir)) throw new Error(`bosun server exited; see ${serverLog}`);
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
  const serverLog = record.serverLog ?? join(stateDir, 'server.log');
  const serverPid = startDaemon({ argv: record.serverArgv, log: serverLog });
  await waitServerReady(serverLog, record.dataDir, record.port, serverPid);
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
