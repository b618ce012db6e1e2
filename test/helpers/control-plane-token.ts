/** `bosun token create --control-plane --print-join-command` for a server's files, as an operator types it. */
export function controlPlaneTokenCommand(
  bosun: string,
  server: { kubeconfig: string; dataDir: string; encryptionConfig: string },
): string[] {
  return [
    bosun,
    'token',
    'create',
    '--control-plane',
    '--print-join-command',
    '--kubeconfig',
    server.kubeconfig,
    '--data-dir',
    server.dataDir,
    '--encryption-provider-config',
    server.encryptionConfig,
  ];
}
