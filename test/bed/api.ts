/**
 * The test bed's contract: what tests (and later `bosun sandbox`) get from it. The implementation
 * lives beside this file; this file only declares the shapes so that tests can be written against
 * them before and while the implementation changes.
 *
 * A bed is a private network on this machine made of network namespaces that the bed creates:
 *   - a hub namespace holding a bridge; the control plane side of the bed (its address: hubIP);
 *   - one namespace per node, linked to the hub bridge by a veth, with no default route, its own
 *     containerd (own root/state/socket/CNI config), and the service CIDR routed into a sink
 *     namespace that drops whatever reaches it; by default also its podCIDR and routes to the other
 *     nodes' podCIDRs, written by the bed (podNetwork: 'agents' leaves both to the agents).
 * Every name the bed creates contains its id; destroy() removes all of it, by PID and by name.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import type { RunOptions, RunResult } from '../../host/process/run.ts';
import { sandboxImages } from '../../sandbox/names.ts';

export type { RunOptions, RunResult } from '../../host/process/run.ts';

export interface BedNode {
  /** 'node-1', 'node-2', ... */
  readonly name: string;
  /** Network namespace name (a file in /run/netns). */
  readonly netns: string;
  /** The node's address on the bed bridge. */
  readonly ip: string;
  /** The pod subnet this node's CNI hands out, e.g. '10.244.1.0/24'. */
  readonly podCIDR: string;
  /** containerd's CRI endpoint for this node, 'unix:///...sock'. */
  readonly criEndpoint: string;
  /** Folder holding everything of this node (containerd root and state, CNI, logs). */
  readonly stateDir: string;
  /** Where CRI container logs go for pods of this node (the kubelet's /var/log/pods). */
  readonly podLogDir: string;
  /**
   * The --cgroup-root for an agent on this node: a subtree of the bed's own, removed with the bed,
   * so that pods of different beds (and `bosun reset` on one of them) never share /kubepods.
   */
  readonly cgroupRoot: string;
  /** PID of this node's containerd. */
  readonly containerdPid: number;
  /** Runs a command inside the node's network namespace and waits for it. Never throws on exit code. */
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Starts a long-running process inside the node's network namespace; the bed kills it on destroy(). */
  spawn(argv: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Stops (SIGTERM, then SIGKILL) and starts this node's containerd again, same state. */
  restartContainerd(): Promise<void>;
  /** SIGKILLs this node's containerd (fault injection); startContainerd() brings it back. */
  killContainerd(): Promise<void>;
  startContainerd(): Promise<void>;
}

export interface Bed {
  /** Short unique id; part of every namespace, folder and file the bed creates. */
  readonly id: string;
  /** The hub namespace (control plane side). */
  readonly hubNetns: string;
  /** The hub's address on the bed bridge. */
  readonly hubIP: string;
  /** The namespace that swallows packets sent to the service CIDR. */
  readonly sinkNetns: string;
  readonly nodes: readonly BedNode[];
  /** Folder holding everything of the bed. */
  readonly stateDir: string;
  /** Adds one more node, wired like the others. */
  addNode(): Promise<BedNode>;
  /** Runs a command in the hub namespace. */
  runInHub(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Starts a long-running process in the hub namespace; killed on destroy(). */
  spawnInHub(argv: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Packets that reached the sink so far (IPv4 packets to the service CIDR). */
  sinkPacketCount(): Promise<number>;
  /** Removes everything the bed created; safe to call twice and after a partial start. */
  destroy(): Promise<void>;
}

export interface BedOptions {
  /** How many nodes to start with (default 1). */
  nodes?: number;
  /** Which locally built images to import into every node (default: pause and busybox). */
  images?: readonly ('pause' | 'busybox')[];
  /**
   * 'static' (default): the bed writes each node's conflist (10.244.k.0/24) and routes to the other
   * nodes, for tests that start pods through CRI alone. 'agents': it writes neither; the agents
   * the test runs (e.g. through install.sh) own the pod network, as on real machines.
   */
  podNetwork?: 'static' | 'agents';
}

/** Image references the bed imports; the pause one is each containerd's sandbox image. */
export const bedImages = sandboxImages;
