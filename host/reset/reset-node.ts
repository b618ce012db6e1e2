/**
 * `bosun reset`, as a script: stop the agent (unit or PID file) → remove bosun's pods through CRI →
 * remove the emptied <cgroup-root>/kubepods cgroups → delete bosun's iptables chains → remove the CNI state → stop the server if this machine runs
 * one → remove bosun's files. The Node object is left to the control plane, as kubeadm reset does.
 * Every step runs even when an earlier one had a problem; the problems are reported together.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CriClient } from '../../cri/client.ts';
import { criLabel, managedByValue } from '../../agent/pods/cri-labels.ts';
import { hostCgroupMounts, podCgroupRoot, removeCgroupTree } from '../../agent/pods/pod-cgroups.ts';
import { run } from '../process/run.ts';
import { daemonPlace, stopBosunDaemon } from '../init/daemons.ts';
import { adminKubeconfig, agentKubeconfig, agentRootDir, serverDataDir, type NodePaths } from '../init/node-paths.ts';
import { encryptionConfigPath } from '../init/at-rest-encryption.ts';
import { planChainCleanup, planSetCleanup } from './chain-cleanup.ts';
import { routeProtocol, vxlan } from '../../agent/pod-network/settings.ts';
import { bosunConflistName, cniLeftovers } from './cni-cleanup.ts';

export interface ResetSpec {
  paths: NodePaths;
  runtimeEndpoint: string;
  cniConfDir: string;
  podLogDir: string;
  /** The agent's --cgroup-root: reset removes <cgroupRoot>/kubepods in every hierarchy, nothing else. */
  cgroupRoot: string;
  say: (line: string) => void;
}

/** Stops and removes every pod sandbox bosun made (their containers go with them); returns how many. */
async function removePods(endpoint: string): Promise<number> {
  const client = new CriClient(endpoint);
  try {
    const sandboxes = await client.listPodSandbox(
      { labelSelector: { [criLabel.managedBy]: managedByValue } },
      { timeoutMs: 10_000 },
    );
    for (const sandbox of sandboxes) {
      await client.stopPodSandbox(sandbox.id, { timeoutMs: 60_000 });
      await client.removePodSandbox(sandbox.id, { timeoutMs: 60_000 });
    }
    return sandboxes.length;
  } finally {
    client.close();
  }
}

async function removeChains(): Promise<boolean> {
  const saved = await run(['iptables-save', '-t', 'nat'], { timeoutMs: 30_000 });
  const filter = await run(['iptables-save', '-t', 'filter'], { timeoutMs: 30_000 });
  if (saved.code !== 0 || filter.code !== 0)
    throw new Error(`iptables-save failed: ${(saved.stderr || filter.stderr).trim()}`);
  const payload = planChainCleanup(`${saved.stdout}\n${filter.stdout}`);
  if (payload === undefined) return false;
  const restored = await run(['iptables-restore', '-w', '--noflush'], { input: payload, timeoutMs: 60_000 });
  if (restored.code !== 0) throw new Error(`iptables-restore failed: ${restored.stderr.trim()}`);
  // the policies' address sets, now that no rule uses them (a host without ipset has none)
  const sets = await run(['ipset', 'list', '-n'], { timeoutMs: 30_000 }).catch(() => undefined);
  const destroy = sets?.code === 0 ? planSetCleanup(sets.stdout) : undefined;
  if (destroy !== undefined) {
    const destroyed = await run(['ipset', 'restore'], { input: destroy, timeoutMs: 30_000 });
    if (destroyed.code !== 0) throw new Error(`ipset restore failed: ${destroyed.stderr.trim()}`);
  }
  return true;
}

/** bosun.1 (with its neighbour and FDB entries) and the routes to other nodes' pods (our protocol number only). */
async function removePodNetwork(): Promise<string> {
  const removed: string[] = [];
  if ((await run(['ip', 'link', 'show', 'dev', vxlan.device], { timeoutMs: 10_000 })).code === 0) {
    const deleted = await run(['ip', 'link', 'delete', vxlan.device], { timeoutMs: 10_000 });
    if (deleted.code !== 0) throw new Error(`ip link delete ${vxlan.device}: ${deleted.stderr.trim()}`);
    removed.push(vxlan.device);
  }
  const routes = await run(['ip', '-j', 'route', 'show', 'proto', String(routeProtocol)], { timeoutMs: 10_000 });
  const count = routes.code === 0 && routes.stdout.trim() !== '' ? (JSON.parse(routes.stdout) as unknown[]).length : 0;
  if (count > 0) {
    const flushed = await run(['ip', 'route', 'flush', 'proto', String(routeProtocol)], { timeoutMs: 10_000 });
    if (flushed.code !== 0) throw new Error(`ip route flush proto ${routeProtocol}: ${flushed.stderr.trim()}`);
    removed.push(`${count} route(s) to other nodes' pods`);
  }
  return removed.length === 0 ? 'no pod network device or routes' : `removed ${removed.join(', ')}`;
}

async function removeCni(confDir: string): Promise<string | undefined> {
  const conflist = join(confDir, bosunConflistName);
  if (!existsSync(conflist)) return undefined;
  const leftovers = cniLeftovers(confDir, readFileSync(conflist, 'utf8'));
  rmSync(leftovers.ipamDir, { recursive: true, force: true });
  if (leftovers.bridge !== undefined) {
    // asked of ip, not /sys: /sys shows the network namespace it was mounted in, not necessarily ours
    const deleted = await run(['ip', 'link', 'delete', leftovers.bridge], { timeoutMs: 10_000 });
    if (deleted.code !== 0 && !/Cannot find device/.test(deleted.stderr))
      throw new Error(`ip link delete ${leftovers.bridge}: ${deleted.stderr.trim()}`);
  }
  rmSync(leftovers.conflist, { force: true });
  return `${leftovers.conflist}, ${leftovers.ipamDir}${leftovers.bridge === undefined ? '' : `, bridge ${leftovers.bridge}`}`;
}

/** Unmounts whatever is mounted below `dir` (pod volumes), deepest first, so the folder can go. */
async function unmountUnder(dir: string): Promise<void> {
  const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mountPoints) {
    const result = await run(['umount', point], { timeoutMs: 30_000 });
    if (result.code !== 0) throw new Error(`umount ${point}: ${result.stderr.trim()}`);
  }
}

export async function resetNode(spec: ResetSpec): Promise<string[]> {
  const { paths, say } = spec;
  const problems: string[] = [];
  const step = async (doing: string, action: () => Promise<void>) => {
    try {
      await action();
    } catch (err) {
      problems.push(`${doing}: ${(err as Error).message.split('\n')[0]}`);
    }
  };
  await step('stopping the agent', async () => {
    const stopped = await stopBosunDaemon(daemonPlace('agent', paths, agentKubeconfig(paths)));
    say(stopped ?? 'the agent was not running');
  });
  await step(`removing pods through ${spec.runtimeEndpoint}`, async () => {
    say(`removed ${await removePods(spec.runtimeEndpoint)} pod sandbox(es) and their containers`);
  });
  await step('removing pod cgroups', async () => {
    // runc removes each container's cgroup but not the pod and QoS levels the agent asked for
    const podRoot = podCgroupRoot('cgroupfs', spec.cgroupRoot);
    const outcome = await removeCgroupTree(await hostCgroupMounts(), podRoot, 10_000);
    const waited = outcome.busyRetries > 0 ? ` (waited for busy folders ${outcome.busyRetries} time(s))` : '';
    say(`removed ${outcome.removed.length} cgroup folder(s) under ${podRoot}${waited}`);
    if (outcome.left.length > 0)
      throw new Error(`${outcome.left.length} cgroup folder(s) still hold processes, e.g. ${outcome.left[0]}`);
  });
  await step('deleting iptables chains', async () => {
    say(
      (await removeChains())
        ? 'deleted the BOSUN-* and BOSUNPOD-* iptables chains and their hooks'
        : 'no bosun iptables chains',
    );
  });
  await step('removing the pod network', async () => {
    say(await removePodNetwork());
  });
  await step('removing CNI state', async () => {
    const removed = await removeCni(spec.cniConfDir);
    say(removed === undefined ? `no bosun CNI configuration in ${spec.cniConfDir}` : `removed ${removed}`);
  });
  await step('stopping the server', async () => {
    const stopped = await stopBosunDaemon(daemonPlace('server', paths, serverDataDir(paths)));
    if (stopped !== undefined) say(stopped);
  });
  if (problems.some((p) => p.startsWith('stopping'))) {
    // a daemon that still runs would write its files again: leave them for the next reset
    return problems;
  }
  await step('removing files', async () => {
    await unmountUnder(agentRootDir(paths));
    // the at-rest key goes with the data it protects; the audit policy and the audit log stay
    const files = [
      agentKubeconfig(paths),
      adminKubeconfig(paths),
      agentRootDir(paths),
      serverDataDir(paths),
      encryptionConfigPath(paths),
      spec.podLogDir,
    ];
    for (const file of files) rmSync(file, { recursive: true, force: true });
    say(`removed ${files.join(', ')}`);
  });
  return problems;
}
