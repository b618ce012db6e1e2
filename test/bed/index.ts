/**
 * The test bed: a sandbox (sandbox/) owned by the test process, under the test root, with the
 * conveniences tests want (commands and long-running processes inside a node's namespace, killed
 * with the bed). See api.ts for the contract.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { run } from '../../host/process/run.ts';
import { inNetns } from '../../host/process/process.ts';
import { Sandbox, type SandboxNode } from '../../sandbox/sandbox.ts';
import { addStaticPodNetwork } from './static-pod-network.ts';
import type { Bed, BedNode, BedOptions, RunOptions, RunResult } from './api.ts';
import { createTestSandbox } from './test-sandbox.ts';

export { bedImages } from './api.ts';
export { createTestSandbox } from './test-sandbox.ts';
export type { Bed, BedNode } from './api.ts';

/** Stops a child: SIGTERM, then SIGKILL after a grace period; resolves once it exited. */
async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

class Children {
  readonly #set = new Set<ChildProcess>();
  spawn(netns: string, argv: readonly string[], options: SpawnOptions): ChildProcess {
    const [command, ...args] = inNetns(netns, argv);
    const child = spawn(command!, args, options);
    this.#set.add(child);
    child.once('exit', () => this.#set.delete(child));
    return child;
  }
  async stopAll(): Promise<void> {
    for (const child of this.#set) await stopChild(child, 2_000);
  }
}

class TestNode implements BedNode {
  readonly #sandbox: Sandbox;
  readonly #name: string;
  readonly #children: Children;
  constructor(sandbox: Sandbox, name: string, children: Children) {
    this.#sandbox = sandbox;
    this.#name = name;
    this.#children = children;
  }
  get #node(): SandboxNode {
    return this.#sandbox.node(this.#name);
  }
  get name() {
    return this.#name;
  }
  get netns() {
    return this.#node.netns;
  }
  get ip() {
    return this.#node.ip;
  }
  get podCIDR() {
    return this.#node.podCIDR;
  }
  get criEndpoint() {
    return this.#node.criEndpoint;
  }
  get stateDir() {
    return this.#node.stateDir;
  }
  get podLogDir() {
    return this.#node.podLogDir;
  }
  get cgroupRoot() {
    return this.#node.cgroupRoot;
  }
  get containerdPid() {
    return this.#node.containerdPid;
  }
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    return this.#node.run(argv, options);
  }
  spawn(argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
    return this.#children.spawn(this.netns, argv, options);
  }
  async restartContainerd(): Promise<void> {
    await this.#sandbox.stopContainerd(this.#name);
    await this.#sandbox.startContainerd(this.#name);
  }
  killContainerd(): Promise<void> {
    return this.#sandbox.killContainerd(this.#name);
  }
  startContainerd(): Promise<void> {
    return this.#sandbox.startContainerd(this.#name);
  }
}

class TestBed implements Bed {
  readonly #sandbox: Sandbox;
  readonly #children = new Children();
  #destroyed = false;
  readonly #staticPodNetwork: boolean;
  constructor(sandbox: Sandbox, staticPodNetwork: boolean) {
    this.#sandbox = sandbox;
    this.#staticPodNetwork = staticPodNetwork;
  }
  get id() {
    return this.#sandbox.id;
  }
  get hubNetns() {
    return this.#sandbox.hubNetns;
  }
  get hubIP() {
    return '172.30.0.1';
  }
  get sinkNetns() {
    return this.#sandbox.sinkNetns;
  }
  get stateDir() {
    return this.#sandbox.stateDir;
  }
  get nodes(): BedNode[] {
    return this.#sandbox.nodes.map((n) => new TestNode(this.#sandbox, n.name, this.#children));
  }
  async addNode(): Promise<BedNode> {
    const node = await this.#sandbox.addNode();
    if (this.#staticPodNetwork) await addStaticPodNetwork(node, this.#sandbox.nodes);
    return new TestNode(this.#sandbox, node.name, this.#children);
  }
  runInHub(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    return run(inNetns(this.hubNetns, argv), options);
  }
  spawnInHub(argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
    return this.#children.spawn(this.hubNetns, argv, options);
  }
  sinkPacketCount(): Promise<number> {
    return this.#sandbox.sinkPacketCount();
  }
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await this.#children.stopAll();
    await this.#sandbox.destroy();
  }
}

const requiredCommands: Record<string, string> = {
  containerd: 'containerd',
  ctr: 'containerd',
  runc: 'runc',
  nsenter: 'util-linux',
  ip: 'iproute2',
  iptables: 'iptables',
  catatonit: 'catatonit',
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

/** Creates a bed with `nodes` nodes (default 1); on a failed start, removes what was created. */
export async function createBed(options: BedOptions = {}): Promise<Bed> {
  await checkHost();
  const sandbox = await createTestSandbox('bsn', options.nodes ?? 1, {
    ...(options.images !== undefined && { images: options.images }),
  });
  const staticPodNetwork = (options.podNetwork ?? 'static') === 'static';
  try {
    if (staticPodNetwork) for (const node of sandbox.nodes) await addStaticPodNetwork(node, sandbox.nodes);
  } catch (err) {
    await sandbox.destroy().catch(() => undefined);
    throw err;
  }
  return new TestBed(sandbox, staticPodNetwork);
}
