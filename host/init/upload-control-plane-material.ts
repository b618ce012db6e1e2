/**
 * `bosun token create --control-plane`, run on a server machine: seal the files every server shares
 * (control-plane-material.ts) under a fresh certificate key, store them in kube-system/bosun-certs
 * for two hours, and make a join token that may read that one Secret. As kubeadm's upload-certs:
 *  - the Secret is owned by a bootstrap token with no usages that expires after the upload's TTL,
 *    so the token cleaner removes that token and the garbage collector the Secret with it;
 *  - a Role allows `get` of that one Secret to one group, which only control-plane join tokens carry
 *    (a worker's token is in system:bootstrappers:bosun:default-node-token and gets 403);
 *  - the key is printed, never stored in the cluster.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeClient } from '../../kube/client.ts';
import { isApiError } from '../../kube/errors.ts';
import { refs, type ResourceRef } from '../../kube/resource-ref.ts';
import type { KubeObject } from '../../kube/types.ts';
import { createBootstrapTokenSecret } from './bootstrap-token.ts';
import {
  controlPlaneCertsSecretName,
  generateCertificateKey,
  requiredSharedFiles,
  sealedSecretData,
  type SharedFile,
} from './control-plane-material.ts';

/** The group that control-plane join tokens authenticate as (and worker tokens do not). */
export const controlPlaneBootstrapGroup = 'system:bootstrappers:bosun:control-plane';
/** kubeadm's lifetime of an upload (its certs-key token): two hours. */
export const defaultUploadTtlSeconds = 2 * 60 * 60;

const roleName = 'bosun:control-plane-certs';
const rbac = (resource: string): ResourceRef => ({
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  resource,
  namespaced: true,
});

export interface UploadSpec {
  /** The server's data folder (its pki/ is read). */
  serverDataDir: string;
  /** The server's EncryptionConfiguration, when it has one. */
  encryptionConfigPath: string | undefined;
  /** Lifetime of the join token (0: never expires). */
  tokenTtlSeconds: number;
  /** Lifetime of the sealed upload (default two hours). */
  uploadTtlSeconds?: number;
}

export interface Upload {
  token: string;
  /** 64 hex digits; the only copy is the one printed. */
  certificateKey: string;
  /** When the upload is removed. */
  expires: string | undefined;
}

/** The shared files as the server keeps them; a missing required one is an error that names it. */
export function readSharedFiles(
  serverDataDir: string,
  encryptionConfigPath: string | undefined,
): Partial<Record<SharedFile, string>> {
  const files: Partial<Record<SharedFile, string>> = {};
  for (const name of requiredSharedFiles) {
    const path = join(serverDataDir, 'pki', name);
    if (!existsSync(path))
      throw new Error(`${path} is missing: run this on a server machine (--data-dir names its data folder)`);
    files[name] = readFileSync(path, 'utf8');
  }
  if (encryptionConfigPath !== undefined) files['encryption-config.yaml'] = readFileSync(encryptionConfigPath, 'utf8');
  return files;
}

/** Creates the Role and RoleBinding, or puts back what someone changed. */
async function ensureReadAccess(client: KubeClient): Promise<void> {
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: roleName, namespace: 'kube-system' },
    rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [controlPlaneCertsSecretName], verbs: ['get'] }],
  };
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: roleName, namespace: 'kube-system' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: controlPlaneBootstrapGroup }],
  };
  await createOrReplace(client, rbac('roles'), role as unknown as KubeObject);
  await createOrReplace(client, rbac('rolebindings'), binding as unknown as KubeObject);
}

async function createOrReplace(client: KubeClient, ref: ResourceRef, object: KubeObject): Promise<void> {
  try {
    await client.create(ref, object);
  } catch (err) {
    if (!isApiError(err, 'AlreadyExists')) throw err;
    const current = await client.get(ref, object.metadata.name ?? '', object.metadata.namespace);
    await client.update(ref, {
      ...object,
      metadata: { ...object.metadata, resourceVersion: current.metadata.resourceVersion },
    });
  }
}

export async function uploadControlPlaneMaterial(client: KubeClient, spec: UploadSpec): Promise<Upload> {
  const files = readSharedFiles(spec.serverDataDir, spec.encryptionConfigPath);
  const keyText = generateCertificateKey();
  const uploadTtl = spec.uploadTtlSeconds ?? defaultUploadTtlSeconds;
  // the upload's lifetime: a token that authenticates nothing, whose expiry takes the Secret along
  const owner = await createBootstrapTokenSecret(client, {
    ttlSeconds: uploadTtl,
    usages: [],
    groups: [],
    description: `Proxy for managing TTL for the ${controlPlaneCertsSecretName} secret`,
  });
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: controlPlaneCertsSecretName,
      namespace: 'kube-system',
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          name: owner.secret.metadata.name ?? '',
          uid: owner.secret.metadata.uid ?? '',
          blockOwnerDeletion: true,
          controller: true,
        },
      ],
    },
    type: 'Opaque',
    data: sealedSecretData(Buffer.from(keyText, 'hex'), files),
  };
  await createOrReplace(client, refs.secrets, secret as unknown as KubeObject);
  await ensureReadAccess(client);
  const joinToken = await createBootstrapTokenSecret(client, {
    ttlSeconds: spec.tokenTtlSeconds,
    usages: ['signing', 'authentication'],
    groups: [controlPlaneBootstrapGroup],
    description: 'control-plane join token made by bosun token create --control-plane',
  });
  const expiration = (owner.secret as { data?: Record<string, string> }).data?.expiration;
  return {
    token: joinToken.token,
    certificateKey: keyText,
    expires: expiration === undefined ? undefined : Buffer.from(expiration, 'base64').toString('utf8'),
  };
}
