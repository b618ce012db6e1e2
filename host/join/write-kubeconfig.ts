/** The agent's kubeconfig: written 0600, atomically, so a crash never leaves half a credential. */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { kubeconfigYaml } from '../../controlplane/pki/kubeconfig.ts';

export function writeAgentKubeconfig(
  path: string,
  parts: { server: string; caPem: string; nodeName: string; certPem: string; keyPem: string },
): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const text = kubeconfigYaml({
    cluster: 'bosun',
    server: parts.server,
    caPem: parts.caPem,
    user: `system:node:${parts.nodeName}`,
    clientCertPem: parts.certPem,
    clientKeyPem: parts.keyPem,
  });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}
