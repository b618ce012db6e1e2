/**
 * Discovery documents: the legacy ones (/api, /apis, /apis/<group>, /api/v1, /apis/<g>/<v>) and the
 * aggregated form (apidiscovery.k8s.io v2, and v2beta1 for kubectl 1.27-1.29) that newer clients
 * ask for first with an Accept header, getting every group's resources in one response.
 */
import { groups, type GroupInfo, type ResourceInfo, type Subresource } from './resources.ts';

const subresourceVerbs: Record<
  Subresource,
  { verbs: string[]; kind?: { group: string; version: string; kind: string } }
> = {
  status: { verbs: ['get', 'patch', 'update'] },
  scale: { verbs: ['get', 'patch', 'update'], kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' } },
  binding: { verbs: ['create'], kind: { group: '', version: 'v1', kind: 'Binding' } },
  eviction: { verbs: ['create'], kind: { group: 'policy', version: 'v1', kind: 'Eviction' } },
  approval: { verbs: ['get', 'patch', 'update'] },
  token: { verbs: ['create'], kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' } },
  log: { verbs: ['get'], kind: { group: '', version: 'v1', kind: 'Pod' } },
  exec: { verbs: ['create', 'get'], kind: { group: '', version: 'v1', kind: 'PodExecOptions' } },
  attach: { verbs: ['create', 'get'], kind: { group: '', version: 'v1', kind: 'PodAttachOptions' } },
  portforward: { verbs: ['create', 'get'], kind: { group: '', version: 'v1', kind: 'PodPortForwardOptions' } },
  proxy: {
    verbs: ['create', 'delete', 'get', 'patch', 'update'],
    kind: { group: '', version: 'v1', kind: 'NodeProxyOptions' },
  },
  ephemeralcontainers: { verbs: ['get', 'patch', 'update'] },
};

/** A proxy's options kind is named after its resource's kind (NodeProxyOptions, PodProxyOptions, ServiceProxyOptions). */
function subresourceMeta(r: ResourceInfo, sub: Subresource): (typeof subresourceVerbs)[Subresource] {
  const meta = subresourceVerbs[sub];
  return sub === 'proxy' ? { ...meta, kind: { group: '', version: 'v1', kind: `${r.kind}ProxyOptions` } } : meta;
}

export function apiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/**
 * Upstream's version priority (kube-aware sorting): GA before beta before alpha, higher numbers
 * first, then anything else alphabetically; the first one is the group's preferred version.
 */
function compareVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    const stage = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return [stage, Number(m[1]), Number(m[3] ?? 0)];
  };
  const ra = rank(a);
  const rb = rank(b);
  if (ra === undefined || rb === undefined) return ra ? -1 : rb ? 1 : a.localeCompare(b);
  return rb[0] - ra[0] || rb[1] - ra[1] || rb[2] - ra[2];
}

/** Every group with its versions, preferred first, in the order discovery lists groups. */
function groupsWithVersions(): { name: string; versions: GroupInfo[] }[] {
  const byName = new Map<string, GroupInfo[]>();
  for (const g of groups()) byName.set(g.name, [...(byName.get(g.name) ?? []), g]);
  return [...byName].map(([name, versions]) => ({
    name,
    versions: versions.sort((a, b) => compareVersions(a.version, b.version)),
  }));
}

function groupEntry(group: { name: string; versions: GroupInfo[] }) {
  const entries = group.versions.map((g) => ({ groupVersion: `${group.name}/${g.version}`, version: g.version }));
  return { name: group.name, versions: entries, preferredVersion: entries[0]! };
}

export function apiGroupList() {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groupsWithVersions()
      .filter((g) => g.name !== '')
      .map(groupEntry),
  };
}

export function apiGroup(name: string) {
  const group = groupsWithVersions().find((g) => g.name === name && name !== '');
  return group ? { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group) } : undefined;
}

export function apiResourceList(groupName: string, version: string) {
  const group = groups().find((g) => g.name === groupName && g.version === version);
  if (!group) return undefined;
  const list: unknown[] = [];
  for (const r of group.resources) {
    list.push({
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length ? { categories: r.categories } : {}),
    });
    for (const sub of r.subresources) {
      const meta = subresourceMeta(r, sub);
      list.push({
        name: `${r.resource}/${sub}`,
        singularName: '',
        namespaced: r.namespaced,
        ...(meta.kind ? { group: meta.kind.group, version: meta.kind.version } : {}),
        kind: meta.kind?.kind ?? r.kind,
        verbs: meta.verbs,
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupName === '' ? version : `${groupName}/${version}`,
    resources: list,
  };
}

function discoveryResource(r: ResourceInfo) {
  return {
    resource: r.resource,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: r.verbs,
    ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
    ...(r.categories.length ? { categories: r.categories } : {}),
    ...(r.subresources.length
      ? {
          subresources: r.subresources.map((sub) => ({
            subresource: sub,
            responseKind: subresourceMeta(r, sub).kind ?? { group: r.group, version: r.version, kind: r.kind },
            verbs: subresourceMeta(r, sub).verbs,
          })),
        }
      : {}),
  };
}

type AggregatedVersion = 'v2' | 'v2beta1';

/** The aggregated list for `/api` (core only) or `/apis` (every named group). */
export function aggregatedDiscovery(core: boolean, version: AggregatedVersion) {
  const selected = groupsWithVersions().filter((g) => (g.name === '') === core);
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: selected.map((g) => ({
      metadata: { name: g.name },
      versions: g.versions.map((v) => ({
        version: v.version,
        resources: v.resources.map(discoveryResource),
        freshness: 'Current',
      })),
    })),
  };
}

/** Which aggregated version the Accept header asks for first, if any. */
export function wantsAggregated(accept: string | undefined): AggregatedVersion | undefined {
  for (const part of (accept ?? '').split(',')) {
    if (!part.includes('g=apidiscovery.k8s.io')) continue;
    if (/v=v2beta1/.test(part)) return 'v2beta1';
    if (/v=v2(;|$)/.test(part)) return 'v2';
  }
  return undefined;
}
