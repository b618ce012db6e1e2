/**
 * The scale bench's control plane with `--servers 3`: a 3-member etcd cluster with TLS (the
 * sandbox's, sandbox/etcd-cluster.ts) and three `bosun server`s on it, the second and third
 * started from a copy of the first's pki folder (one cluster: the same CA and service-account key),
 * with leader election on as it is by default on etcd, so the scheduler and the controllers run on
 * one of them. Hollow nodes get every server's URL and fail over between them as agents do.
 *
 * The per-step report covers the three servers: their request metrics are summed (a server that
 * stopped answering counts with its last scrape, so a window never goes negative), their RSS is
 * reported per server and summed, and the datastore's size is the members' folders together.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  etcdServerFlags,
  startEtcdCluster,
  stopEtcdCluster,
  type EtcdClusterRecord,
} from '../../sandbox/etcd-cluster.ts';
import { startServerProcess, type ServerProcess } from '../../test/controlplane/server-process.ts';
import type { Scrape } from './api-latency.ts';
import { ProcessWatch } from './process-stats.ts';

export interface ThreeServers {
  readonly servers: readonly ServerProcess[];
  readonly etcd: EtcdClusterRecord;
  /** The etcd members' data folders (the datastore's size on disk). */
  readonly etcdDataDirs: readonly string[];
  /** Every server's PID, for the summed RSS and CPU. */
  pids(): number[];
  /** Each server's RSS now, in MiB (0 for one that is gone). */
  rssPerServerMib(): number[];
  /** Stops the servers and etcd and removes their folders; safe to call twice. */
  destroy(): Promise<void>;
}

const serverCount = 3;

export async function startThreeServers(options: {
  readonly serverArgs: readonly string[];
  readonly nodeArgs?: readonly string[];
}): Promise<ThreeServers> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bosun-scale-etcd-'));
  const folders: string[] = [stateDir];
  const servers: ServerProcess[] = [];
  let etcd: EtcdClusterRecord | undefined;
  let destroyed: Promise<void> | undefined;
  const destroy = () =>
    (destroyed ??= (async () => {
      await Promise.all(servers.map((s) => s.destroy()));
      if (etcd) await stopEtcdCluster(etcd);
      for (const folder of folders) rmSync(folder, { recursive: true, force: true });
    })());
  try {
    etcd = await startEtcdCluster(stateDir, serverCount, `bosun-scale-${process.pid}`);
    // the server helper names the datastore itself
    const flags = etcdServerFlags(etcd).filter(
      (flag, i, all) => flag !== '--datastore' && all[i - 1] !== '--datastore',
    );
    for (let i = 0; i < serverCount; i++) {
      const dataDir = mkdtempSync(join(tmpdir(), `bosun-scale-server-${i + 1}-`));
      folders.push(dataDir);
      if (servers[0]) cpSync(join(servers[0].dataDir, 'pki'), join(dataDir, 'pki'), { recursive: true });
      servers.push(
        await startServerProcess({
          datastore: 'etcd',
          etcd: { serverFlags: flags },
          dataDir,
          controllers: true,
          serverArgs: options.serverArgs,
          ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
        }),
      );
    }
  } catch (err) {
    await destroy();
    throw err;
  }
  const cluster = etcd;
  return {
    servers,
    etcd: cluster,
    etcdDataDirs: cluster.members.map((m) => m.dataDir),
    pids: () => servers.map((s) => s.pid),
    rssPerServerMib: () =>
      servers.map((s) => {
        const watch = new ProcessWatch(() => [s.pid]);
        watch.sample();
        return Math.round(watch.lastRssBytes / 1048576);
      }),
    destroy,
  };
}

/**
 * Scrapes several servers as one: each server's last good scrape is kept, so one that stops
 * answering (killed) still counts with what it had served, and windows between two merged scrapes
 * stay the sum of each server's own window.
 */
export class MergedScraper {
  readonly #last = new Map<number, Scrape>();
  readonly #scrape: (server: ServerProcess) => Promise<Scrape>;
  readonly #servers: readonly ServerProcess[];

  constructor(servers: readonly ServerProcess[], scrape: (server: ServerProcess) => Promise<Scrape>) {
    this.#servers = servers;
    this.#scrape = scrape;
  }

  /** Fails only when no server answers. */
  async scrape(): Promise<Scrape> {
    const answers = await Promise.allSettled(this.#servers.map((s) => this.#scrape(s)));
    answers.forEach((answer, i) => {
      if (answer.status === 'fulfilled') this.#last.set(i, answer.value);
    });
    if (answers.every((a) => a.status === 'rejected')) throw (answers[0] as PromiseRejectedResult).reason as Error;
    return mergeScrapes([...this.#last.values()]);
  }
}

/** The sum of several servers' scrapes: histogram buckets, counts and sums, and request totals. */
export function mergeScrapes(scrapes: readonly Scrape[]): Scrape {
  const histograms: Scrape['histograms'] = new Map();
  const requests: Scrape['requests'] = new Map();
  for (const scrape of scrapes) {
    for (const [key, series] of scrape.histograms) {
      const sum = histograms.get(key);
      if (sum === undefined) {
        histograms.set(key, { ...series, buckets: series.buckets.map((b) => ({ ...b })) });
        continue;
      }
      for (const bucket of series.buckets) {
        const same = sum.buckets.find((b) => b.le === bucket.le);
        if (same) same.count += bucket.count;
        else sum.buckets.push({ ...bucket });
      }
      sum.buckets.sort((a, b) => a.le - b.le);
      sum.count += series.count;
      sum.sum += series.sum;
    }
    for (const [key, value] of scrape.requests) requests.set(key, (requests.get(key) ?? 0) + value);
  }
  // whatever else a scrape carries (gauges) is the first server's
  return { ...scrapes[0]!, histograms, requests };
}
