/**
 * Which resources a configuration encrypts, decided per storage key. A rule's resource names are
 * upstream's: `secrets` (core group), `deployments.apps`, `*.apps` (every resource of a group),
 * `*.` (every core resource) and `*.*` (everything). The first rule that names a resource wins.
 */
import { resources, type ResourceInfo } from '../api/resources.ts';
import type { EncryptionConfig } from './config.ts';
import type { TransformerForKey } from './encrypting-storage.ts';
import { ValueTransformer } from './value-transformer.ts';

function nameMatches(pattern: string, info: Pick<ResourceInfo, 'group' | 'resource'>): boolean {
  if (pattern === '*.*') return true;
  const dot = pattern.indexOf('.');
  const resource = dot === -1 ? pattern : pattern.slice(0, dot);
  const group = dot === -1 ? '' : pattern.slice(dot + 1);
  return group === info.group && (resource === '*' || resource === info.resource);
}

/** The storage folder of a key: `/registry/<storageName>/...`. */
function storageNameOf(key: string): string | undefined {
  const match = /^\/registry\/([^/]+)\//.exec(key);
  return match?.[1];
}

/** Resolves a storage key to the transformer of the first rule naming its resource (cached per folder). */
export function transformerForKeyFrom(config: EncryptionConfig): TransformerForKey {
  const transformers = config.rules.map((rule) => new ValueTransformer(rule.providers));
  const byStorageName = new Map<string, ValueTransformer | undefined>();
  const resolve = (storageName: string): ValueTransformer | undefined => {
    const served = resources.filter((info) => info.storageName === storageName);
    const index = config.rules.findIndex((rule) =>
      rule.resources.some((pattern) => served.some((info) => nameMatches(pattern, info))),
    );
    return index === -1 ? undefined : transformers[index];
  };
  return (key) => {
    const storageName = storageNameOf(key);
    if (storageName === undefined) return undefined;
    if (!byStorageName.has(storageName)) byStorageName.set(storageName, resolve(storageName));
    return byStorageName.get(storageName);
  };
}
