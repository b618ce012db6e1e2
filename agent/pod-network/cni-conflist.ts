/**
 * The node's CNI conflist, written by the agent from its podCIDR: bridge (cni0, the pods' gateway,
 * hairpin so a pod reaches itself through its own Service) with host-local addresses from the
 * podCIDR, and portmap for hostPort. The MTU is the backend's, so a pod never sends a packet that
 * the VXLAN headers would make too big for the wire.
 * The loopback interface is containerd's business: its CRI plugin brings `lo` up in every pod
 * itself (go-cni's loopback network), and a `loopback` entry in this chain would be handed eth0.
 * Masquerade is ours too (masquerade.ts), not the bridge plugin's: ipMasq would also masquerade
 * pod-to-pod traffic across nodes, hiding the source pod.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflistFileName } from './settings.ts';

interface ConflistSettings {
  networkName: string;
  podCIDR: string;
  mtu: number;
  /** host-local's state folder (addresses handed out). */
  ipamDataDir: string;
}

export function renderConflist(s: ConflistSettings): string {
  return `${JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: s.networkName,
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          mtu: s.mtu,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: s.podCIDR }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: s.ipamDataDir,
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

/** Writes the conflist atomically when its text differs from the file's; true when it wrote. */
export function writeConflistIfChanged(confDir: string, text: string): boolean {
  const path = join(confDir, conflistFileName);
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) return false;
  mkdirSync(confDir, { recursive: true });
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
  return true;
}
