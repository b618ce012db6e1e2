/**
 * install.sh as the install tests run it: on a bed node (a network namespace), no systemd, every
 * folder under the machine folder `root`, the repository's node_modules, and the bed's own cgroup
 * subtree (so another test's agent or reset never sees these pods' cgroups).
 */
import { join } from 'node:path';
import type { BedNode } from '../bed/index.ts';

export const repo = join(import.meta.dirname, '..', '..');

export function installShOn(node: BedNode, root: string, source: string, ...args: string[]) {
  return node.run(
    [
      'env',
      `BOSUN_ROOT=${root}`,
      `BOSUN_NODE_MODULES=${join(repo, 'node_modules')}`,
      'BOSUN_NODE_NAME=solo',
      `BOSUN_NODE_IP=${node.ip}`,
      `BOSUN_CGROUP_ROOT=${node.cgroupRoot}`,
      'BOSUN_NO_SYSTEMD=1',
      'bash',
      join(source, 'install.sh'),
      ...args,
    ],
    { timeoutMs: 400_000 },
  );
}

/** kubectl with the machine's admin kubeconfig, inside its namespace. */
export function machineKubectl(node: BedNode, root: string, args: string[], input?: string) {
  return node.run(['kubectl', '--kubeconfig', join(root, 'etc', 'bosun', 'admin.kubeconfig'), ...args], {
    timeoutMs: 60_000,
    ...(input !== undefined ? { input } : {}),
  });
}
