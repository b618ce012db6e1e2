/**
 * The cluster a soak runs against: a sandbox (its nodes, containerd and server) plus whatever
 * starts the agents (detached by `bosun join` in the bench, child processes in the test suite).
 */
import type { Sandbox } from '../../sandbox/sandbox.ts';

export interface SoakTarget {
  sandbox: Sandbox;
  /** Admin kubeconfig on the host. */
  kubeconfig: string;
  /** The PID of the node's agent while it runs. */
  agentPid(node: string): number | undefined;
  /** SIGKILL; resolves once the process is gone. */
  killAgent(node: string): Promise<void>;
  /** Starts the agent again with its flags; resolves once the process runs. */
  startAgent(node: string): Promise<void>;
}
