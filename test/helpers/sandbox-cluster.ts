/**
 * A small real cluster for a test file: sandbox nodes (each its own containerd), a real
 * `bosun server` running its control loops, and one `bosun agent` per node, started before the
 * file's first test and torn down after its last (also when a test fails).
 */
import test from 'ava';
import type { Sandbox, SandboxNode } from '../../sandbox/sandbox.ts';
import type { SandboxTopology } from '../../sandbox/names.ts';
import { AgentProcess } from '../agent/agent-process.ts';
import { kubectlOk } from '../bed/kubectl.ts';
import { createTestSandbox } from '../bed/test-sandbox.ts';

export interface SandboxCluster {
  sandbox(): Sandbox;
  kubeconfig(): string;
  /** The agent of a node. */
  agent(nodeName: string): AgentProcess;
  /** Adds a node to the sandbox and starts its agent (stopped with the others at the end). */
  addNode(): Promise<{ node: SandboxNode; agent: AgentProcess }>;
  /** Runs kubectl against the cluster as its admin; throws with kubectl's error when it fails. */
  kubectl(...args: string[]): Promise<string>;
}

interface SandboxClusterOptions {
  /** Starts the sandbox's id; the process and a random suffix make it unique. */
  idPrefix: string;
  nodes: number;
  /** Default flat. */
  topology?: SandboxTopology;
  serverArgs?: string[];
  agentArgs?: string[];
  /** Default 60 s. */
  kubectlTimeoutMs?: number;
}

export function useSandboxCluster(options: SandboxClusterOptions): SandboxCluster {
  let sandbox: Sandbox | undefined;
  let kubeconfig = '';
  let nodeKubeconfig = '';
  const agents: AgentProcess[] = [];
  const startAgent = async (node: SandboxNode) => {
    const agent = new AgentProcess(node, nodeKubeconfig, options.agentArgs ?? []);
    agents.push(agent);
    agent.start();
    await agent.ready();
    return agent;
  };
  test.before(async () => {
    sandbox = await createTestSandbox(options.idPrefix, options.nodes, { topology: options.topology ?? 'flat' });
    const plane = await sandbox.startControlPlane(options.serverArgs ?? []);
    kubeconfig = plane.kubeconfig;
    nodeKubeconfig = plane.nodeKubeconfig;
    await Promise.all(sandbox.nodes.map(startAgent));
  });
  test.after.always(async () => {
    for (const agent of agents) {
      if (agent.running) await agent.stop(5_000);
      agent.close();
    }
    await sandbox?.destroy();
  });
  return {
    sandbox: () => sandbox!,
    kubeconfig: () => kubeconfig,
    agent: (nodeName) => {
      const agent = agents.find((a) => a.node.name === nodeName);
      if (agent === undefined) throw new Error(`no agent for node ${nodeName}`);
      return agent;
    },
    addNode: async () => {
      const node = await sandbox!.addNode();
      return { node, agent: await startAgent(node) };
    },
    kubectl: (...args) => kubectlOk({ kubeconfig, timeoutMs: options.kubectlTimeoutMs }, args),
  };
}
