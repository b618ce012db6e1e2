/**
 * Two proxy nodes, their pods, a client outside the cluster, and sinks, all in lab namespaces:
 *
 *   hub (bridge 172.30.0.0/24) ── node-1 172.30.0.11 ── pods 10.244.1.x (one veth each, routed)
 *                              ├─ node-2 172.30.0.12 ── pods 10.244.2.x
 *                              └─ outside 172.30.0.100 (no route to pods or services)
 *   every node: 10.96.0.0/12 routed into its own sink namespace, so a packet to a service address
 *   that no rule rewrote stays on this machine; no node has a default route.
 *
 * Pods are routed /32s behind their node (no bridge): traffic between pods always crosses the
 * node's iptables, as it does behind a bridge with bridge-nf-call-iptables.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { ProxyMode } from '../../../netproxy/proxy-backend.ts';
import { ServiceProxy } from '../../../netproxy/service-proxy.ts';
import { Lab, waitFor } from './lab.ts';

interface LabNode {
  name: string;
  ns: string;
  ip: string;
  index: number;
}

export interface LabPod {
  name: string;
  ns: string;
  ip: string;
  node: LabNode;
  server?: ChildProcess;
}

export const outsideIP = '172.30.0.100';

export class Topology {
  readonly lab = new Lab();
  readonly nodes: LabNode[] = [];
  readonly pods = new Map<string, LabPod>();
  hub = '';
  outside = '';
  #podCount = 0;

  async build(): Promise<void> {
    const lab = this.lab;
    this.hub = await lab.namespace('hub');
    await lab.must(['ip', '-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge']);
    await lab.must(['ip', '-n', this.hub, 'link', 'set', 'br0', 'up']);
    for (const index of [1, 2]) {
      const ns = await lab.namespace(`n${index}`);
      const ip = `172.30.0.${10 + index}`;
      await lab.link(ns, 'eth0', this.hub, `n${index}`);
      await lab.must(['ip', '-n', this.hub, 'link', 'set', `n${index}`, 'master', 'br0']);
      await lab.must(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      const sink = await lab.namespace(`s${index}`);
      await lab.link(ns, 'sink0', sink, 'eth0');
      await lab.must(['ip', '-n', ns, 'route', 'add', '10.96.0.0/12', 'dev', 'sink0']);
      const r = await lab.inNs(ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      if (r.code !== 0) throw new Error(`ip_forward in ${ns}: ${r.stderr}`);
      this.nodes.push({ name: `node-${index}`, ns, ip, index });
    }
    for (const node of this.nodes) {
      for (const other of this.nodes) {
        if (other !== node)
          await lab.must(['ip', '-n', node.ns, 'route', 'add', `10.244.${other.index}.0/24`, 'via', other.ip]);
      }
    }
    this.outside = await lab.namespace('out');
    await lab.link(this.outside, 'eth0', this.hub, 'out');
    await lab.must(['ip', '-n', this.hub, 'link', 'set', 'out', 'master', 'br0']);
    await lab.must(['ip', '-n', this.outside, 'addr', 'add', `${outsideIP}/24`, 'dev', 'eth0']);
  }

  /** A pod namespace on a node, with an HTTP server on 8080 that answers its name and the client's address. */
  async pod(name: string, node: LabNode, options: { http?: boolean } = {}): Promise<LabPod> {
    const lab = this.lab;
    const n = ++this.#podCount;
    const ip = `10.244.${node.index}.${10 + n}`;
    const ns = await lab.namespace(`p${n}`);
    await lab.link(node.ns, `p${n}`, ns, 'eth0');
    const gateway = `10.244.${node.index}.1`;
    await lab.must(['ip', '-n', node.ns, 'addr', 'add', `${gateway}/32`, 'dev', `p${n}`]);
    await lab.must(['ip', '-n', node.ns, 'route', 'add', `${ip}/32`, 'dev', `p${n}`]);
    await lab.must(['ip', '-n', ns, 'addr', 'add', `${ip}/32`, 'dev', 'eth0']);
    await lab.must(['ip', '-n', ns, 'route', 'add', gateway, 'dev', 'eth0']);
    await lab.must(['ip', '-n', ns, 'route', 'add', 'default', 'via', gateway]);
    const pod: LabPod = { name, ns, ip, node };
    if (options.http ?? true) {
      const root = join(lab.dir, name);
      mkdirSync(join(root, 'cgi-bin'), { recursive: true });
      writeFileSync(join(root, 'index.html'), `${name}\n`);
      // busybox httpd passes the client address to CGI scripts as REMOTE_ADDR.
      const cgi = join(root, 'cgi-bin', 'who');
      writeFileSync(cgi, `#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n%s %s\\n' '${name}' "$REMOTE_ADDR"\n`);
      chmodSync(cgi, 0o755);
      pod.server = lab.spawn(ns, ['/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', root]);
      await waitFor(
        `${name}'s httpd answers`,
        async () => {
          const r = await this.get(node.ns, `http://${ip}:8080/`, 1);
          return r.ok ? true : undefined;
        },
        10_000,
      );
    }
    this.pods.set(name, pod);
    return pod;
  }

  /** How many GETs each pod answered (by the name it serves), or which error. */
  async namesSeen(ns: string, url: string, tries: number): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    for (let i = 0; i < tries; i++) {
      const r = await this.get(ns, url);
      const key = r.ok ? r.text.split(' ')[0]! : `error: ${r.text}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    return seen;
  }

  /**
   * GET from inside a namespace with busybox nc (this host's static busybox wget crashes);
   * resolves to the body, or the error text, and how long it took.
   */
  async get(ns: string, url: string, timeoutS = 2): Promise<{ ok: boolean; text: string; ms: number }> {
    const u = new URL(url);
    const started = Date.now();
    const r = await this.lab.run(
      ns,
      ['/bin/busybox', 'nc', '-w', String(timeoutS), u.hostname, u.port || '80'],
      `GET ${u.pathname} HTTP/1.0\r\nHost: ${u.host}\r\n\r\n`,
      (timeoutS + 5) * 1000,
    );
    const ms = Date.now() - started;
    const split = r.stdout.indexOf('\r\n\r\n');
    const status = r.stdout.slice(0, r.stdout.indexOf('\r\n'));
    if (r.code !== 0 || split < 0 || !status.includes(' 200 '))
      return { ok: false, text: (r.stderr || status || 'no answer').trim(), ms };
    // busybox httpd reports IPv4 clients as "[::ffff:a.b.c.d]".
    return {
      ok: true,
      text: r.stdout
        .slice(split + 4)
        .trim()
        .replace(/\[::ffff:([\d.]+)\]/, '$1'),
      ms,
    };
  }
}

/** Waits until every proxy has synced what was published to it so far. */
export async function allSynced(
  proxies: readonly { generation: number; appliedGeneration: number }[],
  ms: number,
): Promise<void> {
  const wanted = proxies.map((p) => p.generation);
  await waitFor(
    'every node programmed the latest objects',
    async () => (proxies.every((p, i) => p.appliedGeneration >= wanted[i]!) ? true : undefined),
    ms,
  );
}

/**
 * The proxy tests' lab: pod-a on node 1, pod-b on node 2, a client pod on node 1 (filled into
 * `pods`), and one running proxy per node in `mode` (into `proxies` and `runs`).
 */
export async function startProxyLab(
  topo: Topology,
  mode: ProxyMode,
  signal: AbortSignal,
  into: { pods: Record<string, LabPod>; proxies: ServiceProxy[]; runs: Promise<void>[] },
): Promise<void> {
  await topo.build();
  const [n1, n2] = topo.nodes;
  into.pods.a = await topo.pod('pod-a', n1!);
  into.pods.b = await topo.pod('pod-b', n2!);
  into.pods.client = await topo.pod('client', n1!, { http: false });
  for (const node of topo.nodes) {
    const proxy = new ServiceProxy({
      nodeName: node.name,
      runner: topo.lab.runner(node.ns),
      config: { clusterCIDR: '10.244.0.0/16', masqueradeBit: 14 },
      mode,
      minSyncPeriodMs: 50,
      // the repair tests wait for a canary check: twice a second here keeps them short
      canaryPeriodMs: 500,
    });
    into.proxies.push(proxy);
    into.runs.push(proxy.run(signal));
  }
}
