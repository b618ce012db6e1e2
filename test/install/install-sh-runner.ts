/**
 * install.sh as the install tests run it: on a bed node (a network namespace), no systemd, every
 * folder under the machine folder `root`, the repository's node_modules, and the bed's own cgroup
 * subtree (so another test's agent or reset never sees these pods' cgroups).
 */
import { join } from 'node:path';
import type { BedNode } from '../bed/index.ts';

export const repo = join(import.meta.dirname, '..', '..');

/** install.sh of the tree at `source` on `machine`, the node named `name`, every folder under `root`. */
export function installShFrom(source: string, machine: BedNode, root: string, name: string, ...args: string[]) {
  return installShWith({}, source, machine, root, name, ...args);
}

/** The same with more environment (BOSUN_DATASTORE_ARGS, ...). */
export function installShWith(
  env: Record<string, string>,
  source: string,
  machine: BedNode,
  root: string,
  name: string,
  ...args: string[]
) {
  return machine.run(
    [
      'env',
      ...Object.entries(env).map(([key, value]) => `${key}=${value}`),
      `BOSUN_ROOT=${root}`,
      `BOSUN_NODE_MODULES=${join(repo, 'node_modules')}`,
      `BOSUN_NODE_NAME=${name}`,
      `BOSUN_NODE_IP=${machine.ip}`,
      `BOSUN_CGROUP_ROOT=${machine.cgroupRoot}`,
      'BOSUN_NO_SYSTEMD=1',
      'bash',
      join(source, 'install.sh'),
      ...args,
    ],
    { timeoutMs: 400_000 },
  );
}

/** install.sh of this tree. */
export function installShOn(machine: BedNode, root: string, name: string, ...args: string[]) {
  return installShFrom(repo, machine, root, name, ...args);
}

/** kubectl with the machine's admin kubeconfig, inside its namespace. */
export function machineKubectl(node: BedNode, root: string, args: string[], input?: string) {
  return node.run(['kubectl', '--kubeconfig', join(root, 'etc', 'bosun', 'admin.kubeconfig'), ...args], {
    timeoutMs: 60_000,
    ...(input !== undefined ? { input } : {}),
  });
}
