/**
 * The sandbox's node agents, joined the way a real node joins: a bootstrap token from the API,
 * `bosun join` run inside the node's namespace (preflight, verified discovery, TLS bootstrap), which
 * starts `bosun agent` detached with its log and PID file in the node's folder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../host/process/run.ts';
import { inNetns } from '../host/process/process.ts';
import { sandboxAddresses } from './names.ts';
import type { ControlPlaneRecord } from './control-plane.ts';
import { KubeClient } from '../kube/client.ts';
import { loadKubeconfig } from '../kube/kubeconfig.ts';
import { waitClusterInfoSigned } from '../host/init/wait-cluster-info.ts';
import { caCertHash } from '../kube/bootstrap.ts';

export interface AgentRecord {
  pid: number;
  /** The agent's command line, to start it again after `kill`. */
  argv: string[];
  log: string;
  kubeconfig: string;
}

const bosunBin = join(import.meta.dirname, '..', 'bin', 'bosun');

/** A bootstrap token for the sandbox's nodes, once the server has signed cluster-info for it. */
export async function sandboxJoinToken(controlPlane: ControlPlaneRecord): Promise<{ token: string; caHash: string }> {
  const created = await run([
    bosunBin,
    'token',
    'create',
    '--kubeconfig',
    controlPlane.kubeconfig,
    '--ttl',
    '2h',
    '--description',
    'bosun sandbox nodes',
  ]);
  if (created.code !== 0) throw new Error(`creating a join token: ${created.stderr.trim()}`);
  const token = created.stdout.trim();
  const config = loadKubeconfig(controlPlane.kubeconfig);
  const client = new KubeClient(config.client);
  try {
    await waitClusterInfoSigned(client, token);
  } finally {
    client.close();
  }
  return { token, caHash: caCertHash(config.client.ca) };
}

interface NodeForJoin {
  name: string;
  netns: string;
  ip: string;
  stateDir: string;
  podLogDir: string;
  criEndpoint: string;
  /** The agent's --cgroup-root, inside the sandbox's own cgroup subtree. */
  cgroupRoot: string;
  /** containerd's CNI configuration folder, where the agent writes the node's conflist. */
  cniConfDir: string;
  /** host-local's folder for the addresses it hands out. */
  cniDataDir: string;
}

export async function joinNode(
  node: NodeForJoin,
  /** The servers' ports on the hub address; several: the agent fails over between them. */
  serverPorts: readonly number[],
  join_: { token: string; caHash: string },
  agentArgs: readonly string[],
): Promise<AgentRecord> {
  const configDir = join(node.stateDir, 'etc');
  const extra = [
    `--root-dir=${join(node.stateDir, 'agent')}`,
    `--pod-log-dir=${node.podLogDir}`,
    `--node-ip=${node.ip}`,
    `--cgroup-root=${node.cgroupRoot}`,
    // each sandbox node has its own static pod folder, never the host's /etc/bosun/manifests
    `--pod-manifest-path=${join(node.stateDir, 'manifests')}`,
    `--cluster-cidr=${sandboxAddresses.clusterCIDR}`,
    `--cni-conf-dir=${node.cniConfDir}`,
    `--cni-data-dir=${node.cniDataDir}`,
    ...agentArgs,
  ];
  const argv = [
    bosunBin,
    'join',
    serverPorts.map((port) => `https://${sandboxAddresses.hubIP}:${port}`).join(','),
    '--token',
    join_.token,
    '--discovery-token-ca-cert-hash',
    join_.caHash,
    '--node-name',
    node.name,
    '--config-dir',
    configDir,
    '--container-runtime-endpoint',
    node.criEndpoint,
    '--log-dir',
    node.stateDir,
    '--run-dir',
    node.stateDir,
    ...extra.map((arg) => `--agent-arg=${arg}`),
  ];
  const result = await run(inNetns(node.netns, argv), { timeoutMs: 120_000 });
  if (result.code !== 0)
    throw new Error(
      `${node.name} could not join: ${(result.stderr.trim().split('\n').pop() ?? '').replace(/^bosun: /, '')}`,
    );
  const kubeconfig = join(configDir, 'agent.kubeconfig');
  return {
    pid: Number(readFileSync(join(node.stateDir, 'agent.pid'), 'utf8').trim()),
    argv: [
      bosunBin,
      'agent',
      '--kubeconfig',
      kubeconfig,
      '--node-name',
      node.name,
      '--container-runtime-endpoint',
      node.criEndpoint,
      ...extra,
    ],
    log: join(node.stateDir, 'agent.log'),
    kubeconfig,
  };
}
