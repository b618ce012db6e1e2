/**
 * A sandbox: a cluster's worth of network namespaces on this machine.
 *   - a hub namespace holding the bridge every node hangs off (the control plane side);
 *   - one namespace per node with no default route and its own containerd (own root, state, socket,
 *     CNI config and IPAM folder), on one segment (flat) or one of two segments that the hub
 *     routes between (routed);
 *   - a sink namespace into which every node routes the service CIDR and which forwards nothing, so a
 *     packet to a service IP that no rule rewrote never leaves the machine.
 * The sandbox builds the machines and their links only: the pod network (CNI conflist, routes to
 * other nodes' pods, VXLAN where a router stands between them) is the agents' job, as on real
 * machines joined with install.sh. The hub, being the network, routes each joined node's pod subnet
 * to it (hub-pod-routes.ts), so the control plane reaches pods as on a cloud network.
 * Its record (sandbox.json in its folder) names everything it made, so a later command (`down`) or
 * the janitor can remove all of it by name and PID.
 */
import { mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { mustRun, run, type RunOptions, type RunResult } from '../host/process/run.ts';
import {
  containerdLayout,
  containerdMarker,
  importImage,
  startContainerd,
  writeContainerdFiles,
  type ContainerdLayout,
} from '../host/node-setup/containerd.ts';
import { ensureImageArchives } from './images.ts';
import { recordFile, removeBedLeftovers, type BedRecord } from './janitor.ts';
import { alive, inNetns, isOurs, killDaemon, stopDaemon } from '../host/process/process.ts';
import { waitFor } from '../host/process/wait.ts';
import {
  namespaceNames,
  nodeSegment,
  sandboxAddresses,
  sandboxCgroupRoot,
  sandboxImages,
  type SandboxImage,
  type SandboxTopology,
} from './names.ts';
import {
  healServer,
  killServer,
  partitionServer,
  restartServer,
  startControlPlane,
  stopControlPlane,
  type ControlPlaneRecord,
} from './control-plane.ts';
import {
  etcdServerFlags,
  freezeEtcdMember,
  killEtcdMember,
  restartEtcdMember,
  startEtcdCluster,
  stopEtcdCluster,
  type EtcdClusterRecord,
  type EtcdMemberRecord,
} from './etcd-cluster.ts';
import { joinSandboxServer } from './join-server.ts';
import { joinNode, sandboxJoinToken, type AgentRecord } from './agents.ts';
import { routeHubToPods } from './hub-pod-routes.ts';
import { startDaemon } from '../host/process/process.ts';

export interface SandboxNodeRecord {
  index: number;
  name: string;
  netns: string;
  containerdPid: number;
  /** Its segment (0 when flat; records written before topologies existed have none). */
  segment?: number;
  /** Link to the hub cut (fault injection). */
  partitioned: boolean;
  /** The node's agent, once joined. */
  agent?: AgentRecord;
}

export interface SandboxRecord extends BedRecord {
  name: string;
  hubNetns: string;
  sinkNetns: string;
  /** Absent in records written before topologies existed: flat. */
  topology?: SandboxTopology;
  images: SandboxImage[];
  nodes: SandboxNodeRecord[];
  controlPlane?: ControlPlaneRecord;
  /** The servers after the first (server-2, server-3, ...), joined to its cluster. */
  servers?: ControlPlaneRecord[];
  /** The etcd cluster the servers share (with --servers 2 or more). */
  etcd?: EtcdClusterRecord;
}

export interface SandboxSpec {
  /** Human name ('default'); the id below is what names carry. */
  name: string;
  /** Short unique id, the prefix of every namespace (interface names are limited to 15 bytes). */
  id: string;
  stateDir: string;
  /** Owner process (a test run), or 0 for a sandbox that lives until `down`. */
  ownerPid: number;
  images: readonly SandboxImage[];
  /** Where built image archives are cached. */
  imageCacheDir: string;
  /** Default flat. */
  topology?: SandboxTopology;
}

const ip = (...args: string[]) => mustRun(['ip', ...args]);
/** How many nodes join at once. */
const parallelJoins = 3;

export class SandboxNode {
  readonly record: SandboxNodeRecord;
  readonly ip: string;
  /**
   * The test bed's fixed subnet for this node (10.244.k.0/24), for tests that start pods through
   * CRI alone. Where an agent runs, its pods take addresses from the Node's spec.podCIDR instead.
   */
  readonly podCIDR: string;
  readonly stateDir: string;
  readonly podLogDir: string;
  readonly layout: ContainerdLayout;
  readonly criEndpoint: string;
  /** The agent's --cgroup-root: pods' cgroups stay inside the sandbox's own subtree. */
  readonly cgroupRoot: string;

  constructor(sandboxDir: string, record: SandboxNodeRecord, sandboxId: string) {
    this.record = record;
    this.ip = sandboxAddresses.nodeIP(record.index, record.segment ?? 0);
    this.podCIDR = sandboxAddresses.podCIDR(record.index);
    this.stateDir = join(sandboxDir, record.name);
    this.podLogDir = join(this.stateDir, 'pods');
    this.layout = containerdLayout(this.stateDir);
    this.criEndpoint = `unix://${this.layout.socket}`;
    this.cgroupRoot = `${sandboxCgroupRoot(sandboxId)}/${record.name}`;
  }

  get name(): string {
    return this.record.name;
  }
  get netns(): string {
    return this.record.netns;
  }
  get containerdPid(): number {
    return this.record.containerdPid;
  }
  get cniConfDir(): string {
    return this.layout.cniConfDir;
  }
  get cniDataDir(): string {
    return this.layout.cniDataDir;
  }

  run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    return run(inNetns(this.netns, argv), options);
  }
}

export class Sandbox {
  readonly record: SandboxRecord;
  readonly #imageCacheDir: string;

  private constructor(record: SandboxRecord, imageCacheDir: string) {
    this.record = record;
    this.#imageCacheDir = imageCacheDir;
  }

  get id(): string {
    return this.record.id;
  }
  get stateDir(): string {
    return this.record.stateDir;
  }
  get hubNetns(): string {
    return this.record.hubNetns;
  }
  get sinkNetns(): string {
    return this.record.sinkNetns;
  }
  get nodes(): SandboxNode[] {
    return this.record.nodes.map((n) => new SandboxNode(this.stateDir, n, this.id));
  }

  node(name: string): SandboxNode {
    const record = this.record.nodes.find((n) => n.name === name);
    if (!record)
      throw new Error(
        `sandbox ${this.record.name} has no node ${name}; it has ${this.record.nodes.map((n) => n.name).join(', ') || 'none'}`,
      );
    return new SandboxNode(this.stateDir, record, this.id);
  }

  /** Reads a sandbox's record from its folder. */
  static load(stateDir: string, imageCacheDir: string): Sandbox {
    const record = JSON.parse(readFileSync(join(stateDir, recordFile), 'utf8')) as SandboxRecord;
    return new Sandbox(record, imageCacheDir);
  }

  /** Creates the hub and sink and `nodeCount` nodes; on failure removes what it made and throws. */
  static async create(spec: SandboxSpec, nodeCount: number): Promise<Sandbox> {
    const names = namespaceNames(spec.id);
    const sandbox = new Sandbox(
      {
        id: spec.id,
        name: spec.name,
        ownerPid: spec.ownerPid,
        stateDir: spec.stateDir,
        hubNetns: names.hub,
        sinkNetns: names.sink,
        topology: spec.topology ?? 'flat',
        netns: [names.hub, names.sink],
        images: [...spec.images],
        nodes: [],
      },
      spec.imageCacheDir,
    );
    try {
      mkdirSync(spec.stateDir, { recursive: true });
      sandbox.save();
      await sandbox.#createHubAndSink();
      for (let i = 0; i < nodeCount; i++) await sandbox.addNode();
    } catch (err) {
      await sandbox.destroy().catch(() => undefined);
      throw err;
    }
    return sandbox;
  }

  /** Writes the record atomically, so a crash never leaves half of it. */
  save(): void {
    const file = join(this.stateDir, recordFile);
    writeFileSync(`${file}.tmp`, `${JSON.stringify(this.record, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
  }

  async #createHubAndSink(): Promise<void> {
    const { hubNetns, sinkNetns } = this.record;
    await ip('netns', 'add', hubNetns);
    await ip('-n', hubNetns, 'link', 'set', 'lo', 'up');
    await ip('-n', hubNetns, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', hubNetns, 'addr', 'add', `${sandboxAddresses.hubIP}/24`, 'dev', 'br0');
    await ip('-n', hubNetns, 'link', 'set', 'br0', 'up');
    if (this.record.topology === 'routed') {
      // a second segment, the hub routing between the two as a router would
      await ip('-n', hubNetns, 'link', 'add', 'br1', 'type', 'bridge');
      await ip('-n', hubNetns, 'addr', 'add', `${sandboxAddresses.routerIP(1)}/24`, 'dev', 'br1');
      await ip('-n', hubNetns, 'link', 'set', 'br1', 'up');
      await mustRun(inNetns(hubNetns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']));
    }
    await ip('netns', 'add', sinkNetns);
    await ip('-n', sinkNetns, 'link', 'set', 'lo', 'up');
    await mustRun(inNetns(sinkNetns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']));
    // counts what reaches the sink, so tests can see that a packet went there (and nowhere else)
    await mustRun(
      inNetns(sinkNetns, [
        'iptables',
        '-w',
        '-t',
        'raw',
        '-A',
        'PREROUTING',
        '-d',
        sandboxAddresses.serviceCIDR,
        '-m',
        'comment',
        '--comment',
        'bosun-sandbox-sink',
      ]),
    );
  }

  async addNode(): Promise<SandboxNode> {
    const index = this.record.nodes.length + 1;
    const netns = namespaceNames(this.id).node(index);
    const segment = nodeSegment(this.record.topology ?? 'flat', index);
    const record: SandboxNodeRecord = {
      index,
      name: `node-${index}`,
      netns,
      containerdPid: 0,
      segment,
      partitioned: false,
    };
    this.record.nodes.push(record);
    this.record.netns.push(netns);
    this.save();
    const node = new SandboxNode(this.stateDir, record, this.id);
    mkdirSync(node.podLogDir, { recursive: true });
    const { hubNetns, sinkNetns } = this.record;
    const sink = sandboxAddresses.sinkLink(index);
    await ip('netns', 'add', netns);
    await ip('-n', netns, 'link', 'set', 'lo', 'up');
    await ip('-n', hubNetns, 'link', 'add', `n${index}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
    await ip('-n', hubNetns, 'link', 'set', `n${index}`, 'master', `br${segment}`, 'up');
    await ip('-n', netns, 'addr', 'add', `${node.ip}/24`, 'dev', 'eth0');
    await ip('-n', netns, 'link', 'set', 'eth0', 'up');
    // the other segment (and the control plane, from there) through the hub; still no default route
    if (this.record.topology === 'routed')
      await ip('-n', netns, 'route', 'add', sandboxAddresses.segmentsCIDR, 'via', sandboxAddresses.routerIP(segment));
    await ip('-n', netns, 'link', 'add', 'sink0', 'type', 'veth', 'peer', 'name', `s${index}`, 'netns', sinkNetns);
    await ip('-n', netns, 'addr', 'add', `${sink.node}/30`, 'dev', 'sink0');
    await ip('-n', netns, 'link', 'set', 'sink0', 'up');
    await ip('-n', sinkNetns, 'addr', 'add', `${sink.sink}/30`, 'dev', `s${index}`);
    await ip('-n', sinkNetns, 'link', 'set', `s${index}`, 'up');
    await ip('-n', netns, 'route', 'add', sandboxAddresses.serviceCIDR, 'via', sink.sink, 'dev', 'sink0');
    await mustRun(inNetns(netns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']));
    writeContainerdFiles({ layout: node.layout, sandboxImage: sandboxImages.pause });
    await this.startContainerd(node.name);
    const archives = ensureImageArchives(this.#imageCacheDir);
    for (const image of this.record.images) await importImage(node.layout, archives[image]);
    return this.node(node.name);
  }

  /**
   * Starts `bosun server` for this sandbox (see control-plane.ts). With `servers` above one: a
   * 3-member etcd cluster first (etcd-cluster.ts), the first server on it, then each other one
   * joined to it through the control-plane join (sealed upload, certificate key), as a machine
   * joins with `bosun server join`.
   */
  async startControlPlane(serverArgs: readonly string[] = [], servers = 1): Promise<ControlPlaneRecord> {
    if (this.record.controlPlane) return this.record.controlPlane;
    let args = [...serverArgs];
    if (servers > 1) {
      this.record.etcd = await startEtcdCluster(this.stateDir, 3, this.id);
      this.save();
      args = [...etcdServerFlags(this.record.etcd), ...args];
    }
    this.record.controlPlane = await startControlPlane(this.stateDir, this.hubNetns, args);
    this.save();
    for (let k = 2; k <= servers; k++) await this.addServer(args);
    return this.record.controlPlane;
  }

  /** One more server of the cluster, joined with a control-plane token and certificate key. */
  async addServer(serverArgs: readonly string[]): Promise<ControlPlaneRecord> {
    const first = this.record.controlPlane;
    if (!first || !this.record.etcd) throw new Error('more servers need the first one on etcd (--servers 2 or more)');
    const name = `server-${(this.record.servers?.length ?? 0) + 2}`;
    const root = join(this.stateDir, name);
    await joinSandboxServer(first, {
      configDir: join(root, 'etc'),
      dataDir: root,
      runDir: root,
      logDir: root,
      defaultsDir: root,
    });
    const record = await startControlPlane(this.stateDir, this.hubNetns, serverArgs, {
      suffix: name.slice('server'.length),
      dataDir: join(root, 'server'),
    });
    this.record.servers = [...(this.record.servers ?? []), record];
    this.save();
    return record;
  }

  /** Every server by its name: server-1 (or server) is the first. */
  get serverNames(): string[] {
    return this.record.controlPlane
      ? ['server-1', ...(this.record.servers ?? []).map((_, i) => `server-${i + 2}`)]
      : [];
  }

  #server(name = 'server-1'): { record: ControlPlaneRecord; suffix: string } {
    const k = name === 'server' ? 1 : Number(/^server-(\d+)$/.exec(name)?.[1] ?? Number.NaN);
    const record = k === 1 ? this.record.controlPlane : this.record.servers?.[k - 2];
    if (!record)
      throw new Error(
        `sandbox ${this.record.name} has no ${name}; it has ${this.serverNames.join(', ') || 'no server'}`,
      );
    return { record, suffix: k === 1 ? '' : `-${k}` };
  }

  #etcdMember(name: string): EtcdMemberRecord {
    const member = this.record.etcd?.members.find((m) => m.name === name);
    if (!member)
      throw new Error(
        `sandbox ${this.record.name} has no ${name}; it has ${this.record.etcd?.members.map((m) => m.name).join(', ') || 'no etcd (up --servers 3 makes one)'}`,
      );
    return member;
  }

  /** SIGKILL to a `bosun server` (fault injection); its relays and the nodes stay. */
  async killServer(name?: string): Promise<void> {
    await killServer(this.#server(name).record);
  }

  /** Starts a `bosun server` again on its data, port and flags after killServer; resolves once it is ready. */
  async startServer(name?: string): Promise<void> {
    const { record } = this.#server(name);
    record.serverPid = await restartServer(this.stateDir, record);
    this.save();
  }

  /** Cuts the nodes off from a server (its relay into the hub stops; the server runs on). */
  async partitionServer(name: string): Promise<void> {
    await partitionServer(this.#server(name).record);
  }

  async healServer(name: string): Promise<void> {
    const { record, suffix } = this.#server(name);
    record.hubRelayPid = healServer(this.stateDir, this.hubNetns, record, suffix);
    this.save();
  }

  async killEtcd(name: string): Promise<void> {
    await killEtcdMember(this.#etcdMember(name));
  }

  async startEtcd(name: string): Promise<void> {
    const member = this.#etcdMember(name);
    await restartEtcdMember(this.record.etcd!, member);
    this.save();
  }

  /** A frozen member (SIGSTOP) is silent to its peers and the servers, as a partitioned one is. */
  partitionEtcd(name: string, cut: boolean): void {
    freezeEtcdMember(this.#etcdMember(name), cut);
    this.save();
  }

  /** Joins every node that has no agent yet, through `bosun join` (see agents.ts). */
  async joinAgents(agentArgs: readonly string[] = []): Promise<void> {
    const controlPlane = this.record.controlPlane;
    if (!controlPlane) throw new Error('start the control plane before joining nodes');
    const pending = this.nodes.filter((n) => !n.record.agent);
    if (pending.length === 0) return;
    const token = await sandboxJoinToken(controlPlane);
    // with several servers, every agent is told of all of them and fails over between them
    const serverPorts = [controlPlane, ...(this.record.servers ?? [])].map((s) => s.port);
    // side by side: a join spends most of its time waiting (its certificate, the agent's healthz),
    // so a few at once overlap those waits without crowding the shared cores
    const queue = [...pending];
    const failures: Error[] = [];
    const joinNext = async (): Promise<void> => {
      for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
        try {
          node.record.agent = await joinNode(node, serverPorts, token, agentArgs);
          this.#saveNode(node.record);
        } catch (err) {
          failures.push(err as Error);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallelJoins, queue.length) }, joinNext));
    if (failures.length > 0) throw failures[0]!;
    await routeHubToPods(controlPlane.kubeconfig, this.hubNetns, pending);
  }

  #agentRunning(node: SandboxNode): boolean {
    return node.record.agent !== undefined && isOurs(node.record.agent.pid, node.record.agent.kubeconfig);
  }

  agentRunning(name: string): boolean {
    return this.#agentRunning(this.node(name));
  }

  async killAgent(name: string): Promise<void> {
    const node = this.node(name);
    if (!node.record.agent) throw new Error(`${name} has no agent`);
    await killDaemon(node.record.agent.pid, node.record.agent.kubeconfig);
  }

  async startAgent(name: string): Promise<void> {
    const node = this.node(name);
    const agent = node.record.agent;
    if (!agent) throw new Error(`${name} has no agent; it joins with bosun sandbox up`);
    if (this.#agentRunning(node)) return;
    agent.pid = startDaemon({ argv: agent.argv, netns: node.netns, log: agent.log });
    this.#saveNode(node.record);
    // the process goes through `ip netns exec`, bin/bosun and Node's own re-exec before it is the
    // agent; while it execs, its command line can read empty. Return once it is the agent, so a
    // status right after start sees it running (or say at once that it died).
    const pid = agent.pid;
    await waitFor(
      () => {
        if (!alive(pid)) throw new Error(`the agent of ${name} exited as it started; see ${agent.log}`);
        return isOurs(pid, agent.kubeconfig) && isOurs(pid, 'main.ts agent');
      },
      { what: `the agent of ${name} to start`, timeoutMs: 30_000, intervalMs: 25 },
    );
  }

  async startContainerd(name: string): Promise<void> {
    const node = this.node(name);
    if (this.#containerdRunning(node)) return;
    node.record.containerdPid = await startContainerd(node.netns, node.layout);
    this.#saveNode(node.record);
  }

  #containerdRunning(node: SandboxNode): boolean {
    return node.containerdPid > 0 && isOurs(node.containerdPid, containerdMarker(node.layout));
  }

  async stopContainerd(name: string): Promise<void> {
    const node = this.node(name);
    await stopDaemon(node.containerdPid, containerdMarker(node.layout));
  }

  async killContainerd(name: string): Promise<void> {
    const node = this.node(name);
    await killDaemon(node.containerdPid, containerdMarker(node.layout));
  }

  /** Cuts a node's link to the rest of the sandbox (its containers keep running). */
  async partition(name: string): Promise<void> {
    const node = this.node(name);
    await ip('-n', this.hubNetns, 'link', 'set', `n${node.record.index}`, 'down');
    node.record.partitioned = true;
    this.#saveNode(node.record);
  }

  async heal(name: string): Promise<void> {
    const node = this.node(name);
    await ip('-n', this.hubNetns, 'link', 'set', `n${node.record.index}`, 'up');
    // neighbours that failed while cut off would refuse traffic until re-probed: forget them
    await ip('-n', node.netns, 'neigh', 'flush', 'dev', 'eth0');
    await ip('-n', this.hubNetns, 'neigh', 'flush', 'dev', `br${node.record.segment ?? 0}`);
    node.record.partitioned = false;
    this.#saveNode(node.record);
  }

  #saveNode(record: SandboxNodeRecord): void {
    const i = this.record.nodes.findIndex((n) => n.name === record.name);
    this.record.nodes[i] = record;
    this.save();
  }

  async sinkPacketCount(): Promise<number> {
    const out = await mustRun(
      inNetns(this.sinkNetns, ['iptables', '-w', '-t', 'raw', '-L', 'PREROUTING', '-v', '-x', '-n']),
    );
    const line = out.split('\n').find((l) => l.includes('bosun-sandbox-sink'));
    if (!line) throw new Error('the sink counting rule is missing');
    return Number(line.trim().split(/\s+/)[0]);
  }

  /**
   * Removes everything: pods through each containerd (so no shim, mount or pod namespace outlives
   * it), containerd, then whatever still runs from the sandbox folder, mounts, namespaces, files.
   */
  async destroy(): Promise<void> {
    const problems: string[] = [];
    for (const node of this.nodes) {
      if (node.record.agent && this.#agentRunning(node)) {
        // SIGTERM: the agent stops and leaves its pods to be removed below
        try {
          await stopDaemon(node.record.agent.pid, node.record.agent.kubeconfig);
        } catch (err) {
          problems.push(`${node.name} agent: ${(err as Error).message}`);
        }
      }
    }
    for (const server of [
      ...(this.record.servers ?? []),
      ...(this.record.controlPlane ? [this.record.controlPlane] : []),
    ]) {
      try {
        await stopControlPlane(server);
      } catch (err) {
        problems.push(`control plane: ${(err as Error).message}`);
      }
    }
    if (this.record.etcd) {
      try {
        await stopEtcdCluster(this.record.etcd);
      } catch (err) {
        problems.push(`etcd: ${(err as Error).message}`);
      }
    }
    for (const node of this.nodes) {
      try {
        if (this.#containerdRunning(node)) {
          await removeAllPods(node.layout);
          await stopDaemon(node.containerdPid, containerdMarker(node.layout));
        }
      } catch (err) {
        problems.push(`${node.name}: ${(err as Error).message}`);
      }
    }
    try {
      await removeBedLeftovers(this.record);
    } catch (err) {
      problems.push((err as Error).message);
    }
    if (problems.length > 0) throw new Error(`sandbox ${this.record.name} teardown: ${problems.join('; ')}`);
  }
}

/** Kills and removes every container of a node's runtime. */
async function removeAllPods(layout: ContainerdLayout): Promise<void> {
  const ctr = (...args: string[]) =>
    run(['ctr', '--address', layout.socket, '-n', 'k8s.io', ...args], { timeoutMs: 20_000 });
  const tasks = (await ctr('tasks', 'ls', '-q')).stdout.split('\n').filter(Boolean);
  for (const id of tasks) await ctr('tasks', 'kill', '-s', 'SIGKILL', id);
  for (const id of tasks) await ctr('tasks', 'delete', '-f', id);
  const containers = (await ctr('containers', 'ls', '-q')).stdout.split('\n').filter(Boolean);
  for (const id of containers) await ctr('containers', 'delete', id);
}
