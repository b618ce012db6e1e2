/**
 * A real etcd (Debian's etcd-server) for tests and benchmarks: loopback ports picked by the kernel,
 * a temp folder, stopped by PID. The process is killed when the test process exits, whatever happens.
 *
 * By default it serves clients over TLS and demands a client certificate (`--client-cert-auth`), as
 * a production etcd does: a CA, a serving certificate for 127.0.0.1 and a client certificate are
 * made with the project's own PKI code. `serverFlags` are what `bosun server` needs to reach it,
 * `clientTls` what an etcd3 client needs, `etcdctlFlags` what etcdctl needs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../../controlplane/pki/certificates.ts';
import type { EtcdClientTls } from '../../controlplane/storage/etcd.ts';
import { freePort, waitFor } from './ports.ts';

export interface EtcdProcess {
  readonly endpoint: string;
  readonly dataDir: string;
  readonly pid: number;
  /** `--etcd-endpoints` and, with TLS, `--etcd-cafile/--etcd-certfile/--etcd-keyfile` for `bosun server`. */
  readonly serverFlags: readonly string[];
  /** For an etcd3 client or EtcdStorage (undefined without TLS). */
  readonly clientTls: EtcdClientTls | undefined;
  /** For etcdctl (3.4): `--endpoints` and the TLS files. */
  readonly etcdctlFlags: readonly string[];
  /** The files `serverFlags` name, for tests that leave one out. */
  readonly files: { readonly ca: string; readonly cert: string; readonly key: string } | undefined;
  /** SIGKILLs etcd (fault injection); start() brings it back on the same port and data. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Stops etcd and removes its data; safe to call twice. */
  destroy(): Promise<void>;
}

export const etcdBinary = '/usr/bin/etcd';

interface EtcdStartOptions {
  /** Plain http without client certificates (default: TLS with --client-cert-auth). */
  readonly plaintext?: boolean;
  /** Serve this existing data folder (a restored snapshot) instead of a new one; removed with the rest. */
  readonly dataDir?: string;
}

interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  readonly serverCert: string;
  readonly serverKey: string;
}

/** A CA, etcd's serving pair for 127.0.0.1 and a client pair, written 0600 under `folder`. */
function writeEtcdPki(folder: string): TlsFiles {
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const ca = createCertificateAuthority('bosun-test-etcd-ca');
  const serving = issueCertificate(ca, {
    commonName: 'etcd',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    usage: 'both',
  });
  const client = issueCertificate(ca, { commonName: 'bosun-server', usage: 'client' });
  const files = {
    ca: join(folder, 'ca.crt'),
    cert: join(folder, 'client.crt'),
    key: join(folder, 'client.key'),
    serverCert: join(folder, 'server.crt'),
    serverKey: join(folder, 'server.key'),
  };
  const write = (path: string, text: string) => writeFileSync(path, text, { mode: 0o600 });
  write(files.ca, ca.cert);
  write(files.cert, client.cert);
  write(files.key, client.key);
  write(files.serverCert, serving.cert);
  write(files.serverKey, serving.key);
  return files;
}

/** etcd's /health over TLS with the client certificate (fetch cannot present one). */
function healthy(endpoint: string, tls: EtcdClientTls | undefined): Promise<boolean> {
  if (tls === undefined) return fetch(`${endpoint}/health`).then((r) => r.ok);
  return new Promise((resolve, reject) => {
    const req = request(
      `${endpoint}/health`,
      { ca: tls.ca, ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}) },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export async function startEtcd(options: EtcdStartOptions = {}): Promise<EtcdProcess> {
  const folder = mkdtempSync(join(tmpdir(), `bosun-etcd-${process.pid}-`));
  const dataDir = options.dataDir ?? join(folder, 'data');
  const clientPort = await freePort();
  const peerPort = await freePort();
  const tlsFiles = options.plaintext ? undefined : writeEtcdPki(join(folder, 'pki'));
  const endpoint = `${tlsFiles ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const clientTls: EtcdClientTls | undefined = tlsFiles && {
    ca: readFileSync(tlsFiles.ca),
    cert: readFileSync(tlsFiles.cert),
    key: readFileSync(tlsFiles.key),
  };
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
        '--name',
        `bosun-test-${process.pid}`,
        '--data-dir',
        dataDir,
        '--listen-client-urls',
        endpoint,
        '--advertise-client-urls',
        endpoint,
        '--listen-peer-urls',
        `http://127.0.0.1:${peerPort}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${peerPort}`,
        '--initial-cluster',
        `bosun-test-${process.pid}=http://127.0.0.1:${peerPort}`,
        '--log-level',
        'error',
        ...(tlsFiles
          ? [
              '--cert-file',
              tlsFiles.serverCert,
              '--key-file',
              tlsFiles.serverKey,
              '--trusted-ca-file',
              tlsFiles.ca,
              '--client-cert-auth',
            ]
          : []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = spawned;
    spawned.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    await waitFor(`etcd to answer on ${endpoint} (stderr: ${stderr.trim().slice(-300)})`, async () => {
      if (spawned.exitCode !== null)
        throw new Error(`etcd exited with ${spawned.exitCode}: ${stderr.trim().slice(-300)}`);
      return healthy(endpoint, clientTls);
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
  const tlsFlags = (names: [string, string, string]) =>
    tlsFiles ? [names[0], tlsFiles.ca, names[1], tlsFiles.cert, names[2], tlsFiles.key] : [];
  return {
    endpoint,
    dataDir,
    get pid() {
      return child?.pid ?? -1;
    },
    serverFlags: ['--etcd-endpoints', endpoint, ...tlsFlags(['--etcd-cafile', '--etcd-certfile', '--etcd-keyfile'])],
    clientTls,
    etcdctlFlags: ['--endpoints', endpoint, ...tlsFlags(['--cacert', '--cert', '--key'])],
    files: tlsFiles && { ca: tlsFiles.ca, cert: tlsFiles.cert, key: tlsFiles.key },
    kill: stop,
    start,
    destroy: async () => {
      await stop();
      process.removeListener('exit', killNow);
      rmSync(folder, { recursive: true, force: true });
      if (options.dataDir !== undefined) rmSync(options.dataDir, { recursive: true, force: true });
    },
  };
}
