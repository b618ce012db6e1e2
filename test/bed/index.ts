/**
 * The test bed: a private network of namespaces on this machine, each node with its own containerd.
 * See api.ts for the contract. Everything created carries the bed's id; destroy() removes it all,
 * and the janitor (janitor.ts) removes what a crashed run left behind.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { run, mustRun } from '../helpers/run.ts';
import { bedAddresses, bedImages, type Bed, type BedNode, type BedOptions, type RunOptions, type RunResult } from './api.ts';
import { containerdLayout, importImage, startContainerd, stopProcess, writeContainerdFiles, type ContainerdLayout } from './containerd.ts';
import { ensureImageArchives } from './images.ts';
import { bedRoot, removeBedLeftovers, type BedRecord } from './janitor.ts';

export { bedImages, bedAddresses } from './api.ts';
export type { Bed, BedNode, BedOptions } from './api.ts';

const ip = (...args: string[]) => mustRun(['ip', ...args]);
const inNetns = (netns: string, argv: readonly string[]) => ['nsenter', `--net=/run/netns/${netns}`, '--', ...argv];

class Node implements BedNode {
  readonly name: string;
  readonly netns: string;
  readonly ip: string;
  readonly podCIDR: string;
  readonly criEndpoint: string;
  readonly stateDir: string;
  readonly podLogDir: string;
  readonly layout: ContainerdLayout;
  readonly index: number;
  private containerd: ChildProcess | undefined;
  private readonly children = new Set<ChildProcess>();

  constructor(bed: TestBed, index: number) {
    this.index = index;
    this.name = `node-${index}`;
    this.netns = `${bed.id}-n${index}`;
    this.ip = bedAddresses.nodeIP(index);
    this.podCIDR = bedAddresses.podCIDR(index);
    this.stateDir = join(bed.stateDir, this.name);
    this.podLogDir = join(this.stateDir, 'pods');
    this.layout = containerdLayout(this.stateDir);
    this.criEndpoint = `unix://${this.layout.socket}`;
  }

  get containerdPid(): number {
    const pid = this.containerd?.pid;
    if (pid === undefined) throw new Error(`${this.name}: containerd is not running`);
    return pid;
  }

  run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    return run(inNetns(this.netns, argv), options);
  }

  spawn(argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const [command, ...args] = inNetns(this.netns, argv);
    const child = spawn(command!, args, options);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  async startContainerd(): Promise<void> {
    if (this.containerd && this.containerd.exitCode === null && this.containerd.signalCode === null) return;
    this.containerd = await startContainerd(this.netns, this.layout);
    recordPid(this.layout.dir, this.containerd.pid);
  }

  async killContainerd(): Promise<void> {
    const child = this.containerd;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
  }

  async restartContainerd(): Promise<void> {
    if (this.containerd) await stopProcess(this.containerd);
    await this.startContainerd();
  }

  /** Stops what this node started: its own processes, every pod through containerd, then containerd. */
  async stop(): Promise<void> {
    for (const child of this.children) await stopProcess(child, 2_000);
    if (this.containerd && this.containerd.exitCode === null && this.containerd.signalCode === null) {
      await removeAllPods(this.layout);
      await stopProcess(this.containerd);
    }
  }
}

/** Kills and removes every container of the node's runtime so no shim, mount or pod netns outlives it. */
async function removeAllPods(layout: ContainerdLayout): Promise<void> {
  const ctr = (...args: string[]) => run(['ctr', '--address', layout.socket, '-n', 'k8s.io', ...args], { timeoutMs: 20_000 });
  const tasks = await ctr('tasks', 'ls', '-q');
  for (const id of tasks.stdout.split('\n').filter(Boolean)) await ctr('tasks', 'kill', '-s', 'SIGKILL', id);
  for (const id of tasks.stdout.split('\n').filter(Boolean)) await ctr('tasks', 'delete', '-f', id);
  const containers = await ctr('containers', 'ls', '-q');
  for (const id of containers.stdout.split('\n').filter(Boolean)) await ctr('containers', 'delete', id);
}

function recordPid(dir: string, pid: number | undefined): void {
  if (pid !== undefined) writeFileSync(join(dir, 'containerd.pid'), `${pid}\n`);
}

class TestBed implements Bed {
  readonly id: string;
  readonly hubNetns: string;
  readonly hubIP = bedAddresses.hubIP;
  readonly sinkNetns: string;
  readonly stateDir: string;
  readonly nodes: Node[] = [];
  private readonly images: readonly ('pause' | 'busybox')[];
  private readonly hubChildren = new Set<ChildProcess>();
  private destroyed = false;

  constructor(options: BedOptions) {
    // pid in base 36 + random: unique across parallel runs, short enough for interface names
    this.id = `bsn${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
    this.hubNetns = `${this.id}-hub`;
    this.sinkNetns = `${this.id}-sink`;
    this.stateDir = join(bedRoot, this.id);
    this.images = options.images ?? ['pause', 'busybox'];
  }

  private record(): BedRecord {
    return {
      id: this.id,
      ownerPid: process.pid,
      netns: [this.hubNetns, this.sinkNetns, ...this.nodes.map((n) => n.netns)],
      stateDir: this.stateDir,
    };
  }

  private saveRecord(): void {
    writeFileSync(join(this.stateDir, 'bed.json'), `${JSON.stringify(this.record(), null, 2)}\n`);
  }

  async start(nodeCount: number): Promise<void> {
    mkdirSync(this.stateDir, { recursive: true });
    this.saveRecord();
    // hub: the bridge every node hangs off; the control plane side
    await ip('netns', 'add', this.hubNetns);
    await ip('-n', this.hubNetns, 'link', 'set', 'lo', 'up');
    await ip('-n', this.hubNetns, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', this.hubNetns, 'addr', 'add', `${this.hubIP}/24`, 'dev', 'br0');
    await ip('-n', this.hubNetns, 'link', 'set', 'br0', 'up');
    // sink: receives every packet sent to the service CIDR and forwards none of it
    await ip('netns', 'add', this.sinkNetns);
    await ip('-n', this.sinkNetns, 'link', 'set', 'lo', 'up');
    await mustRun(inNetns(this.sinkNetns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']));
    await mustRun(inNetns(this.sinkNetns, ['iptables', '-w', '-t', 'raw', '-A', 'PREROUTING', '-d', bedAddresses.serviceCIDR, '-m', 'comment', '--comment', 'bosun-test-sink']));
    this.saveRecord();
    for (let i = 0; i < nodeCount; i++) await this.addNode();
  }

  async addNode(): Promise<BedNode> {
    const node = new Node(this, this.nodes.length + 1);
    const k = node.index;
    this.nodes.push(node);
    mkdirSync(node.stateDir, { recursive: true });
    mkdirSync(node.podLogDir, { recursive: true });
    this.saveRecord();
    await ip('netns', 'add', node.netns);
    await ip('-n', node.netns, 'link', 'set', 'lo', 'up');
    // link to the hub bridge
    await ip('-n', this.hubNetns, 'link', 'add', `n${k}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.netns);
    await ip('-n', this.hubNetns, 'link', 'set', `n${k}`, 'master', 'br0', 'up');
    await ip('-n', node.netns, 'addr', 'add', `${node.ip}/24`, 'dev', 'eth0');
    await ip('-n', node.netns, 'link', 'set', 'eth0', 'up');
    // the service CIDR goes into the sink, so an unprogrammed service IP never leaves the node
    await ip('-n', node.netns, 'link', 'add', 'sink0', 'type', 'veth', 'peer', 'name', `s${k}`, 'netns', this.sinkNetns);
    await ip('-n', node.netns, 'addr', 'add', `198.18.${k}.1/30`, 'dev', 'sink0');
    await ip('-n', node.netns, 'link', 'set', 'sink0', 'up');
    await ip('-n', this.sinkNetns, 'addr', 'add', `198.18.${k}.2/30`, 'dev', `s${k}`);
    await ip('-n', this.sinkNetns, 'link', 'set', `s${k}`, 'up');
    await ip('-n', node.netns, 'route', 'add', bedAddresses.serviceCIDR, 'via', `198.18.${k}.2`, 'dev', 'sink0');
    await mustRun(inNetns(node.netns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']));
    // pod traffic between nodes: each node routes the others' podCIDRs via their node address
    for (const other of this.nodes) {
      if (other === node) continue;
      await ip('-n', node.netns, 'route', 'add', other.podCIDR, 'via', other.ip, 'dev', 'eth0');
      await ip('-n', other.netns, 'route', 'add', node.podCIDR, 'via', node.ip, 'dev', 'eth0');
    }
    writeContainerdFiles({
      layout: node.layout,
      sandboxImage: bedImages.pause,
      podCIDR: node.podCIDR,
      networkName: `bosun-${this.id}-${node.name}`,
    });
    await node.startContainerd();
    const archives = ensureImageArchives();
    for (const image of this.images) await importImage(node.layout, archives[image]);
    return node;
  }

  runInHub(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    return run(inNetns(this.hubNetns, argv), options);
  }

  spawnInHub(argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const [command, ...args] = inNetns(this.hubNetns, argv);
    const child = spawn(command!, args, options);
    this.hubChildren.add(child);
    child.once('exit', () => this.hubChildren.delete(child));
    return child;
  }

  async sinkPacketCount(): Promise<number> {
    const out = await mustRun(inNetns(this.sinkNetns, ['iptables', '-w', '-t', 'raw', '-L', 'PREROUTING', '-v', '-x', '-n']));
    const line = out.split('\n').find((l) => l.includes('bosun-test-sink'));
    if (!line) throw new Error('the sink counting rule is missing');
    return Number(line.trim().split(/\s+/)[0]);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const problems: string[] = [];
    for (const child of this.hubChildren) await stopProcess(child, 2_000);
    for (const node of this.nodes) {
      try { await node.stop(); } catch (err) { problems.push(`${node.name}: ${(err as Error).message}`); }
    }
    // whatever is still there (shims of a killed containerd, mounts, namespaces, files) goes by record
    try { await removeBedLeftovers(this.record()); } catch (err) { problems.push((err as Error).message); }
    if (problems.length > 0) throw new Error(`test bed ${this.id} teardown: ${problems.join('; ')}`);
  }
}

/** Creates a bed with `nodes` nodes (default 1); on a failed start, removes what was created. */
export async function createBed(options: BedOptions = {}): Promise<Bed> {
  await checkHost();
  const bed = new TestBed(options);
  try {
    await bed.start(options.nodes ?? 1);
  } catch (err) {
    await bed.destroy().catch(() => undefined);
    throw err;
  }
  return bed;
}

const requiredCommands: Record<string, string> = {
  containerd: 'containerd', ctr: 'containerd', runc: 'runc', nsenter: 'util-linux', ip: 'iproute2',
  iptables: 'iptables', catatonit: 'catatonit',
};

async function checkHost(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the test bed needs root (namespaces, containerd)');
  const missing: string[] = [];
  for (const [command, pkg] of Object.entries(requiredCommands)) {
    const found = await run(['sh', '-c', `command -v ${command}`]);
    if (found.code !== 0) missing.push(`${command} (${pkg})`);
  }
  if (!existsSync('/usr/lib/cni/bridge')) missing.push('/usr/lib/cni/bridge (containernetworking-plugins)');
  if (!existsSync('/bin/busybox')) missing.push('/bin/busybox (busybox-static)');
  if (missing.length > 0) {
    throw new Error(`the test bed needs: ${missing.join(', ')}; run scripts/test-all, which installs them`);
  }
}

