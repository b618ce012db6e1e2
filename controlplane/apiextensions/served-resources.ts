/**
 * The resources a set of CustomResourceDefinitions serves: one per served version of each
 * established definition, keyed in the datastore as upstream keys them
 * (`/registry/<group>/<plural>/...`), so every version reads and writes the same objects: only the
 * apiVersion differs (conversion strategy None), or the definition's webhook converts them
 * (strategy Webhook, webhook-conversion.ts) when they are read or written in another version than
 * the one they are stored in.
 */
import type { ResourceInfo, Verb } from '../api/resources.ts';
import { type Crd, isEstablished, namesWithDefaults } from './crd.ts';
import { customResourceBehaviour } from './custom-resource.ts';
import type { ServiceLookups } from '../admission/webhooks/client.ts';
import { webhookConversion } from './webhook-conversion.ts';

const verbs: readonly Verb[] = ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'];

export function servedVersions(crd: Crd, lookups?: ServiceLookups): ResourceInfo[] {
  if (!isEstablished(crd)) return [];
  // without lookups (no server around it) a webhook definition is served as None
  const conversion = lookups === undefined ? undefined : webhookConversion(crd, lookups);
  const names = namesWithDefaults(crd.status?.acceptedNames ?? crd.spec.names);
  return crd.spec.versions
    .filter((v) => v.served)
    .map((version) => ({
      group: crd.spec.group,
      version: version.name,
      resource: names.plural,
      singular: names.singular,
      kind: names.kind,
      namespaced: crd.spec.scope === 'Namespaced',
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      subresources: [
        ...(version.subresources?.status !== undefined ? (['status'] as const) : []),
        ...(version.subresources?.scale !== undefined ? (['scale'] as const) : []),
      ],
      fields: (version.selectableFields ?? []).map((f) => f.jsonPath.replace(/^\./, '')),
      storageName: `${crd.spec.group}/${names.plural}`,
      verbs,
      tracksGeneration: true,
      custom: customResourceBehaviour(crd, version, conversion),
    }));
}
