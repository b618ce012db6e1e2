/** A kubeconfig file (YAML, which kubectl and client libraries read) for one cluster and user. */
interface KubeconfigParts {
  readonly cluster: string;
  readonly server: string;
  readonly caPem: string;
  readonly user: string;
  readonly clientCertPem?: string;
  readonly clientKeyPem?: string;
  readonly token?: string;
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

export function kubeconfigYaml(parts: KubeconfigParts): string {
  const context = `${parts.user}@${parts.cluster}`;
  const credentials = [
    ...(parts.clientCertPem ? [`    client-certificate-data: ${b64(parts.clientCertPem)}`] : []),
    ...(parts.clientKeyPem ? [`    client-key-data: ${b64(parts.clientKeyPem)}`] : []),
    ...(parts.token ? [`    token: ${JSON.stringify(parts.token)}`] : []),
  ];
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${parts.cluster}`,
    '  cluster:',
    `    server: ${parts.server}`,
    `    certificate-authority-data: ${b64(parts.caPem)}`,
    'users:',
    `- name: ${parts.user}`,
    '  user:',
    ...credentials,
    'contexts:',
    `- name: ${context}`,
    '  context:',
    `    cluster: ${parts.cluster}`,
    `    user: ${parts.user}`,
    `current-context: ${context}`,
    'preferences: {}',
    '',
  ].join('\n');
}
