/**
 * A real etcd (Debian's etcd-server) for tests: loopback ports picked by the kernel, a temp data dir,
 * stopped by PID. The process is killed when the test process exits, whatever happens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.ts';

export interface EtcdProcess {
  readonly endpoint: string;
  readonly dataDir: string;
  readonly pid: number;
  /** SIGKILLs etcd (fault injection); start() brings it back on the same port and data. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Stops etcd and removes its data; safe to call twice. */
  destroy(): Promise<void>;
}

export const etcdBinary = '/usr/bin/etcd';

export async function startEtcd(): Promise<EtcdProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), `bosun-etcd-${process.pid}-`));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  let child: ChildProcess | undefined;
  let stderr = '';

  const killNow = () => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', killNow);

  const start = async () => {
    stderr = '';
    const spawned = spawn(
      etcdBinary,
      [
        '--name', `bosun-test-${process.pid}`,
        '--data-dir', dataDir,
        '--listen-client-urls', endpoint,
        '--advertise-client-urls', endpoint,
        '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-cluster', `bosun-test-${process.pid}=http://127.0.0.1:${peerPort}`,
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = spawned;
    spawned.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    await waitFor(`etcd to answer on ${endpoint} (stderr: ${stderr.trim().slice(-300)})`, async () => {
      if (spawned.exitCode !== null) throw new Error(`etcd exited with ${spawned.exitCode}: ${stderr.trim().slice(-300)}`);
      const response = await fetch(`${endpoint}/health`);
      return response.ok;
    });
  };

  const stop = async () => {
    const current = child;
    if (current === undefined || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((r) => current.once('exit', r));
    current.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    endpoint,
    dataDir,
    get pid() {
      return child?.pid ?? -1;
    },
    kill: stop,
    start,
    destroy: async () => {
      await stop();
      process.removeListener('exit', killNow);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
