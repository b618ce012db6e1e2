/**
 * `bosun sandbox exec`: a command run inside one node's network namespace, with the environment
 * pointing at that node's containerd (crictl, ctr, bosun cri) and, once there is one, the cluster.
 */
import { spawn } from 'node:child_process';
import type { Sandbox } from './sandbox.ts';

/** Runs `argv` in the node, its stdio the caller's; resolves with its exit code (127: not started). */
export async function runInNode(sandbox: Sandbox, nodeName: string, argv: readonly string[]): Promise<number> {
  const node = sandbox.node(nodeName);
  const socket = node.layout.socket;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    CONTAINER_RUNTIME_ENDPOINT: `unix://${socket}`,
    CONTAINERD_ADDRESS: socket,
    CONTAINERD_NAMESPACE: 'k8s.io',
  };
  if (sandbox.record.controlPlane) env.KUBECONFIG = sandbox.record.controlPlane.nodeKubeconfig;
  const child = spawn('nsenter', [`--net=/run/netns/${node.netns}`, '--', ...argv], { stdio: 'inherit', env });
  return new Promise<number>((resolve) => {
    child.on('error', () => resolve(127));
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });
}
