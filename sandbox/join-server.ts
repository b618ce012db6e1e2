/**
 * A sandbox server after the first joins as a machine joins with `bosun server join`: a
 * control-plane token and a sealed upload made through the first server's admin kubeconfig, then
 * discovery, the upload opened with the certificate key and the shared keys laid out in its folder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCertificateKey } from '../host/init/control-plane-material.ts';
import { joinServer } from '../host/init/join-server.ts';
import type { NodePaths } from '../host/init/node-paths.ts';
import { uploadControlPlaneMaterial } from '../host/init/upload-control-plane-material.ts';
import { waitClusterInfoSigned } from '../host/init/wait-cluster-info.ts';
import { caCertHash, parseBootstrapToken } from '../kube/bootstrap.ts';
import { KubeClient } from '../kube/client.ts';
import { loadKubeconfig } from '../kube/kubeconfig.ts';
import type { ControlPlaneRecord } from './control-plane.ts';

export async function joinSandboxServer(first: ControlPlaneRecord, paths: NodePaths): Promise<void> {
  const client = new KubeClient(loadKubeconfig(first.kubeconfig).client);
  let upload;
  try {
    upload = await uploadControlPlaneMaterial(client, {
      serverDataDir: first.dataDir,
      encryptionConfigPath: undefined,
      tokenTtlSeconds: 600,
    });
    await waitClusterInfoSigned(client, upload.token);
  } finally {
    client.close();
  }
  await joinServer({
    server: `https://127.0.0.1:${first.port}`,
    token: parseBootstrapToken(upload.token)!,
    tokenText: upload.token,
    pins: [caCertHash(readFileSync(join(first.dataDir, 'pki', 'ca.crt'), 'utf8'))],
    certificateKey: parseCertificateKey(upload.certificateKey)!,
    paths,
    advertiseAddress: '127.0.0.1',
    bindAddress: '127.0.0.1',
    port: first.port,
    serverArgs: [],
    start: false,
    say: () => undefined,
  });
}
