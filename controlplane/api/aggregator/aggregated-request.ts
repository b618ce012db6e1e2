/**
 * What a request for an aggregated group/version asks for, so the API server can authorize it
 * before sending it on (as upstream's aggregator does): `/apis/<group>/<version>` itself is a
 * discovery path; anything below it is a resource request of that group, with the namespace,
 * resource, name and subresource read from the URL as for built-in resources. The extension
 * server knows its own resources; this server only needs the attributes RBAC judges.
 */
import { flagParam } from '../query-params.ts';
import { decodeSegment, resourceVerb, type ParsedRequest } from '../request.ts';
import type { ResourceInfo } from '../resources.ts';

/** The group and version a path is under, if it is under `/apis/<group>/<version>`. */
export function groupVersionOf(pathname: string): { group: string; version: string } | undefined {
  const parts = pathname.split('/').filter((p) => p !== '');
  if (parts[0] !== 'apis' || parts.length < 3) return undefined;
  try {
    return { group: decodeURIComponent(parts[1]!), version: decodeURIComponent(parts[2]!) };
  } catch {
    return undefined; // not UTF-8: no APIService has that name, and the path's own parsing refuses it
  }
}

function remoteResource(group: string, version: string, resource: string, namespaced: boolean): ResourceInfo {
  return {
    group,
    version,
    resource,
    singular: '',
    kind: '',
    namespaced,
    shortNames: [],
    categories: [],
    subresources: [],
    fields: [],
    storageName: '',
    verbs: [],
    tracksGeneration: false,
  };
}

export function parseAggregatedRequest(method: string, url: URL): ParsedRequest {
  const parts = url.pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodeSegment);
  const [, group = '', version = ''] = parts;
  let rest = parts.slice(3);
  if (rest.length === 0) return { kind: 'path', verb: method.toLowerCase(), path: url.pathname };
  let watching = flagParam(url.searchParams, 'watch');
  if (rest[0] === 'watch') {
    watching = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource = '', name, subresource] = rest;
  const verb = resourceVerb(method, name, watching);
  return {
    kind: 'resource',
    info: remoteResource(group, version, resource, namespace !== undefined),
    verb,
    namespace,
    name,
    subresource,
  };
}
