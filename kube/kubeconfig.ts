/**
 * Reading a kubeconfig (the file kubectl uses) into what KubeClient needs: the server, its CA and
 * the credentials of the current context. Inline data and file paths are both understood; paths
 * are relative to the kubeconfig's folder, as kubectl resolves them.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import yaml from 'js-yaml';
import type { ClientConfig } from './client.ts';
import { KubeconfigError } from './errors.ts';

interface NamedCluster {
  name: string;
  cluster: { server?: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string };
}
interface NamedUser {
  name: string;
  user: {
    'client-certificate-data'?: string;
    'client-certificate'?: string;
    'client-key-data'?: string;
    'client-key'?: string;
    token?: string;
  };
}
interface NamedContext {
  name: string;
  context: { cluster: string; user: string; namespace?: string };
}
interface KubeconfigFile {
  clusters?: NamedCluster[];
  users?: NamedUser[];
  contexts?: NamedContext[];
  'current-context'?: string;
}

export interface LoadedKubeconfig {
  path: string;
  client: ClientConfig;
  namespace: string;
  user: string;
  /** The names of the context used and of its cluster entry. */
  context: string;
  cluster: string;
}

function inlineOrFile(
  base: string,
  data: string | undefined,
  file: string | undefined,
  what: string,
): string | undefined {
  if (data) return Buffer.from(data, 'base64').toString('utf8');
  if (file) {
    const path = isAbsolute(file) ? file : resolve(base, file);
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new KubeconfigError(`the ${what} file ${path} cannot be read: ${(err as Error).message}`);
    }
  }
  return undefined;
}

export function parseKubeconfig(text: string, path: string, context?: string): LoadedKubeconfig {
  let doc: KubeconfigFile;
  try {
    doc = (yaml.load(text) ?? {}) as KubeconfigFile;
  } catch (err) {
    throw new KubeconfigError(`${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const contextName = context ?? doc['current-context'];
  if (!contextName) throw new KubeconfigError(`${path} has no current-context`);
  const ctx = doc.contexts?.find((c) => c.name === contextName)?.context;
  if (!ctx) throw new KubeconfigError(`${path} has no context named ${contextName}`);
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster?.server) throw new KubeconfigError(`${path}: cluster ${ctx.cluster} has no server`);
  const user = doc.users?.find((u) => u.name === ctx.user)?.user ?? {};
  const base = dirname(path);
  const ca = inlineOrFile(
    base,
    cluster['certificate-authority-data'],
    cluster['certificate-authority'],
    'certificate authority',
  );
  if (!ca) throw new KubeconfigError(`${path}: cluster ${ctx.cluster} names no certificate authority`);
  const cert = inlineOrFile(base, user['client-certificate-data'], user['client-certificate'], 'client certificate');
  const key = inlineOrFile(base, user['client-key-data'], user['client-key'], 'client key');
  return {
    path,
    namespace: ctx.namespace ?? 'default',
    user: ctx.user,
    context: contextName,
    cluster: ctx.cluster,
    client: {
      server: cluster.server,
      ca,
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(user.token ? { token: user.token } : {}),
    },
  };
}

export function loadKubeconfig(path: string, context?: string): LoadedKubeconfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KubeconfigError(
      code === 'ENOENT'
        ? `kubeconfig ${path} does not exist`
        : `kubeconfig ${path} cannot be read: ${(err as Error).message}`,
    );
  }
  return parseKubeconfig(text, path, context);
}

/** --kubeconfig, then $KUBECONFIG (first entry), then the given default. */
export function kubeconfigPath(flag: string | undefined, fallback: string): string {
  if (flag) return flag;
  const env = process.env.KUBECONFIG?.split(':').find((p) => p !== '');
  return env ?? fallback;
}
