/**
 * The sandbox's etcd for `bosun sandbox up --servers N`: a cluster of Debian's etcd (3 members for
 * N ≥ 2), on the host's loopback beside the servers, with TLS everywhere as a production cluster
 * runs it: clients and peers present certificates of the sandbox's own etcd CA (--client-cert-auth,
 * --peer-client-cert-auth). Each member is a detached process with its folder, log and command
 * line in the record, so it can be killed and started again by name (etcd-1, etcd-2, ...).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from '../controlplane/pki/certificates.ts';
import { isOurs, killDaemon, startDaemon, stopDaemon } from '../host/process/process.ts';
import { waitFor } from '../host/process/wait.ts';
import { freeLoopbackPort } from './control-plane.ts';

export interface EtcdMemberRecord {
  name: string;
  pid: number;
  clientUrl: string;
  dataDir: string;
  argv: string[];
  log: string;
  /** Frozen with SIGSTOP (`bosun sandbox partition etcd-N`): silent to peers and clients alike. */
  frozen?: boolean;
}

export interface EtcdClusterRecord {
  members: EtcdMemberRecord[];
  /** The CA and the client pair every server presents. */
  files: { ca: string; cert: string; key: string };
}

const etcdBinary = '/usr/bin/etcd';

/** The etcd CA, one pair for serving and peering on 127.0.0.1 (both usages), one client pair for the servers. */
function writePki(folder: string): EtcdClusterRecord['files'] & { member: { cert: string; key: string } } {
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const ca = createCertificateAuthority('bosun-sandbox-etcd-ca');
  const member = issueCertificate(ca, {
    commonName: 'etcd',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    usage: 'both',
  });
  const client = issueCertificate(ca, { commonName: 'bosun-server', usage: 'client' });
  const path = (name: string) => join(folder, name);
  const files = {
    ca: path('ca.crt'),
    cert: path('client.crt'),
    key: path('client.key'),
    member: { cert: path('member.crt'), key: path('member.key') },
  };
  for (const [file, text] of [
    [files.ca, ca.cert],
    [files.cert, client.cert],
    [files.key, client.key],
    [files.member.cert, member.cert],
    [files.member.key, member.key],
  ] as const)
    writeFileSync(file, text, { mode: 0o600 });
  return files;
}

/** `bosun server`'s flags for this cluster: every member's client URL and the client certificate. */
export function etcdServerFlags(cluster: EtcdClusterRecord): string[] {
  return [
    '--datastore',
    'etcd',
    '--etcd-endpoints',
    cluster.members.map((m) => m.clientUrl).join(','),
    '--etcd-cafile',
    cluster.files.ca,
    '--etcd-certfile',
    cluster.files.cert,
    '--etcd-keyfile',
    cluster.files.key,
  ];
}

function healthy(member: EtcdMemberRecord, files: EtcdClusterRecord['files']): Promise<boolean> {
  const url = new URL('/health', member.clientUrl);
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        ca: readFileSync(files.ca),
        cert: readFileSync(files.cert),
        key: readFileSync(files.key),
        timeout: 2_000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export async function startEtcdCluster(stateDir: string, size: number, id: string): Promise<EtcdClusterRecord> {
  const folder = join(stateDir, 'etcd');
  const pki = writePki(join(folder, 'pki'));
  const ports: { client: number; peer: number }[] = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freeLoopbackPort(), peer: await freeLoopbackPort() });
  const names = ports.map((_, i) => `etcd-${i + 1}`);
  const initialCluster = names.map((name, i) => `${name}=https://127.0.0.1:${ports[i]!.peer}`).join(',');
  const members: EtcdMemberRecord[] = names.map((name, i) => {
    const clientUrl = `https://127.0.0.1:${ports[i]!.client}`;
    const peerUrl = `https://127.0.0.1:${ports[i]!.peer}`;
    const dataDir = join(folder, name);
    return {
      name,
      pid: 0,
      clientUrl,
      dataDir,
      log: join(folder, `${name}.log`),
      argv: [
        etcdBinary,
        '--name',
        name,
        '--data-dir',
        dataDir,
        '--listen-client-urls',
        clientUrl,
        '--advertise-client-urls',
        clientUrl,
        '--listen-peer-urls',
        peerUrl,
        '--initial-advertise-peer-urls',
        peerUrl,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        id,
        '--cert-file',
        pki.member.cert,
        '--key-file',
        pki.member.key,
        '--trusted-ca-file',
        pki.ca,
        '--client-cert-auth',
        '--peer-cert-file',
        pki.member.cert,
        '--peer-key-file',
        pki.member.key,
        '--peer-trusted-ca-file',
        pki.ca,
        '--peer-client-cert-auth',
        '--log-level',
        'warn',
      ],
    };
  });
  const cluster: EtcdClusterRecord = { members, files: { ca: pki.ca, cert: pki.cert, key: pki.key } };
  for (const member of members) member.pid = startDaemon({ argv: member.argv, log: member.log });
  // the members elect a leader only once a majority runs: wait for all together
  try {
    await waitFor(
      async () => {
        for (const member of members)
          if (!isOurs(member.pid, member.dataDir)) throw new Error(`${member.name} exited; see ${member.log}`);
        return (await Promise.all(members.map((m) => healthy(m, cluster.files)))).every(Boolean);
      },
      { what: `the ${size}-member etcd cluster healthy`, timeoutMs: 60_000, intervalMs: 200 },
    );
  } catch (err) {
    await stopEtcdCluster(cluster);
    throw err;
  }
  return cluster;
}

/** SIGKILL to one member, as a crash. */
export async function killEtcdMember(member: EtcdMemberRecord): Promise<void> {
  await killDaemon(member.pid, member.dataDir);
}

/** Starts a member again on its data; resolves once it serves (it rejoins its peers). */
export async function restartEtcdMember(cluster: EtcdClusterRecord, member: EtcdMemberRecord): Promise<void> {
  if (isOurs(member.pid, member.dataDir)) return;
  if (!existsSync(member.dataDir)) throw new Error(`${member.name} has no data folder ${member.dataDir}`);
  member.pid = startDaemon({ argv: member.argv, log: member.log });
  await waitFor(
    async () => {
      if (!isOurs(member.pid, member.dataDir)) throw new Error(`${member.name} exited; see ${member.log}`);
      return healthy(member, cluster.files);
    },
    { what: `${member.name} serving again`, timeoutMs: 60_000, intervalMs: 200 },
  );
}

/** Freezes (SIGSTOP) or thaws (SIGCONT) a member: to its peers and clients a frozen member is cut off. */
export function freezeEtcdMember(member: EtcdMemberRecord, frozen: boolean): void {
  if (!isOurs(member.pid, member.dataDir)) throw new Error(`${member.name} is not running`);
  process.kill(member.pid, frozen ? 'SIGSTOP' : 'SIGCONT');
  member.frozen = frozen;
}

export async function stopEtcdCluster(cluster: EtcdClusterRecord): Promise<void> {
  for (const member of cluster.members) {
    // a frozen member cannot act on SIGTERM until it is thawed
    if (member.frozen && isOurs(member.pid, member.dataDir)) process.kill(member.pid, 'SIGCONT');
    await stopDaemon(member.pid, member.dataDir);
  }
}
