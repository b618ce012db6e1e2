/**
 * Discovery of aggregated groups: what each extension server said at `/apis/<group>/<version>`
 * (a legacy APIResourceList), turned into the entries this server's own discovery documents carry,
 * legacy (`/apis`, `/apis/<group>`) and aggregated (apidiscovery.k8s.io v2/v2beta1), so that
 * `kubectl api-resources` and every client's RESTMapper find the extension's resources. Pure.
 */
type Any = Record<string, any>;

export interface RemoteGroupVersion {
  readonly group: string;
  readonly version: string;
  /** The backend's APIResourceList, once it has answered. */
  readonly resources: readonly Any[];
}

function byGroup(served: readonly RemoteGroupVersion[]): Map<string, RemoteGroupVersion[]> {
  const groups = new Map<string, RemoteGroupVersion[]>();
  for (const gv of served) groups.set(gv.group, [...(groups.get(gv.group) ?? []), gv]);
  return groups;
}

/** APIGroup entries for `/apis` and `/apis/<group>`; the first version registered is preferred. */
export function legacyGroups(served: readonly RemoteGroupVersion[]): Any[] {
  return [...byGroup(served)].map(([name, versions]) => {
    const entries = versions.map((v) => ({ groupVersion: `${name}/${v.version}`, version: v.version }));
    return { name, versions: entries, preferredVersion: entries[0] };
  });
}

function discoveryResources(gv: RemoteGroupVersion): Any[] {
  const main = gv.resources.filter((r) => typeof r.name === 'string' && !r.name.includes('/'));
  return main.map((r) => {
    const subresources = gv.resources
      .filter((s) => typeof s.name === 'string' && s.name.startsWith(`${r.name}/`))
      .map((s) => ({
        subresource: s.name.slice(r.name.length + 1),
        responseKind: { group: s.group ?? gv.group, version: s.version ?? gv.version, kind: s.kind ?? '' },
        verbs: s.verbs ?? [],
      }));
    return {
      resource: r.name,
      responseKind: { group: r.group ?? gv.group, version: r.version ?? gv.version, kind: r.kind ?? '' },
      scope: r.namespaced ? 'Namespaced' : 'Cluster',
      singularResource: r.singularName || String(r.kind ?? '').toLowerCase(),
      verbs: r.verbs ?? [],
      ...(Array.isArray(r.shortNames) && r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(Array.isArray(r.categories) && r.categories.length ? { categories: r.categories } : {}),
      ...(subresources.length ? { subresources } : {}),
    };
  });
}

/** APIGroupDiscovery items for the aggregated `/apis` document. */
export function aggregatedGroups(served: readonly RemoteGroupVersion[]): Any[] {
  return [...byGroup(served)].map(([name, versions]) => ({
    metadata: { name },
    versions: versions.map((v) => ({ version: v.version, resources: discoveryResources(v), freshness: 'Current' })),
  }));
}
