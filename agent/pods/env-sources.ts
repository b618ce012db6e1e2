/**
 * Fetches the ConfigMaps and Secrets a container's env and envFrom name, once, before its
 * environment is resolved (env.ts is pure and synchronous). A failed fetch is a config error the
 * container waits on, as with the kubelet.
 */
import type { Container } from '../../kube/corev1.ts';
import type { ConfigData, ConfigLookup } from './config-source.ts';
import type { EnvSources } from './env.ts';
import { configError } from './start-errors.ts';

function envReferences(container: Container): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  for (const env of container.env ?? []) {
    if (env.valueFrom?.configMapKeyRef) configMaps.add(env.valueFrom.configMapKeyRef.name);
    if (env.valueFrom?.secretKeyRef) secrets.add(env.valueFrom.secretKeyRef.name);
  }
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) configMaps.add(from.configMapRef.name);
    if (from.secretRef) secrets.add(from.secretRef.name);
  }
  return { configMaps, secrets };
}

function asText(data: ConfigData | undefined): Record<string, string> | undefined {
  if (data === undefined) return undefined;
  return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, value.toString('utf8')]));
}

export async function resolveEnvSources(
  container: Container,
  namespace: string,
  lookup: ConfigLookup,
): Promise<Pick<EnvSources, 'configMap' | 'secret'>> {
  const { configMaps, secrets } = envReferences(container);
  const fetched = new Map<string, Record<string, string> | undefined>();
  const fetch = async (kind: 'configmap' | 'secret', name: string) => {
    try {
      const data =
        kind === 'configmap' ? await lookup.configMap(namespace, name) : await lookup.secret(namespace, name);
      fetched.set(`${kind}/${name}`, asText(data));
    } catch (err) {
      throw configError(`couldn't get ${kind} ${namespace}/${name}: ${(err as Error).message}`);
    }
  };
  await Promise.all([
    ...[...configMaps].map((n) => fetch('configmap', n)),
    ...[...secrets].map((n) => fetch('secret', n)),
  ]);
  return {
    configMap: (name) => fetched.get(`configmap/${name}`),
    secret: (name) => fetched.get(`secret/${name}`),
  };
}
