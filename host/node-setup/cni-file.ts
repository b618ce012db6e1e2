/** Writes bosun's CNI conflist (bridge + host-local + portmap) for the node's pod subnet, atomically. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCniConfig } from './containerd.ts';
import { bosunConflistName } from '../reset/cni-cleanup.ts';

export const bosunNetworkName = 'bosun';

export function writeCniConflist(confDir: string, ipamDataDir: string, podCIDR: string): string {
  const text = renderCniConfig({ layout: { cniDataDir: ipamDataDir }, podCIDR, networkName: bosunNetworkName });
  mkdirSync(confDir, { recursive: true });
  mkdirSync(ipamDataDir, { recursive: true });
  const path = join(confDir, bosunConflistName);
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
  return path;
}
