/**
 * What an API request asks for, parsed from its method and URL: the resource request info that
 * authorization and the REST handlers share.
 */
import { ApiError } from '../../kube/errors.ts';
import { flagParam } from './query-params.ts';
import { findResource, type ResourceInfo } from './resources.ts';

export interface ResourceRequest {
  readonly kind: 'resource';
  readonly info: ResourceInfo;
  readonly verb: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
  /** nodes|pods|services/<name>/proxy/<subpath>: the path on the target. */
  readonly subpath?: string;
}

interface PathRequest {
  readonly kind: 'path';
  readonly verb: string;
  readonly path: string;
}

export type ParsedRequest = ResourceRequest | PathRequest;

const proxyResources = new Set(['nodes', 'pods', 'services']);

/**
 * The raw path after its first `consumed` segments (for pods and services proxies: what follows
 * `/proxy`), still encoded, with its trailing slash (upstream keeps it: `/proxy/ui/` asks the
 * target for `/ui/`).
 */
function rawPathAfter(pathname: string, consumed: number): string {
  const segment = /\/+[^/]+/y;
  for (let i = 0; i < consumed; i++) segment.exec(pathname);
  return pathname.slice(segment.lastIndex).replace(/^\/+/, '');
}

function httpVerb(method: string): string {
  return method.toLowerCase();
}

/**
 * Refuses a request target with a malformed percent-escape (in the path or the query) as Go's URL
 * parser does, with 400: left to the URL class, a bad escape in a query value passes through as
 * text and one in the path throws where it is decoded.
 */
export function checkEscapes(target: string): void {
  const bad = /%(?![0-9a-fA-F]{2})[^%]{0,2}/.exec(target);
  if (bad) throw new ApiError('BadRequest', `invalid URL escape ${JSON.stringify(bad[0])}`);
}

/** A path segment, decoded; 400 for escapes that are not UTF-8. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // well-formed escapes that are not UTF-8 (%ff): no name or resource can hold them
    throw new ApiError('BadRequest', `invalid UTF-8 in URL path segment ${JSON.stringify(segment)}`);
  }
}

/** The API verb of a resource request: its method, and for GET and DELETE whether it names one object. */
export function resourceVerb(method: string, name: string | undefined, watching: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return name === undefined ? (watching ? 'watch' : 'list') : watching ? 'watch' : 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return name === undefined ? 'deletecollection' : 'delete';
    default:
      throw new ApiError('MethodNotAllowed', `${method} is not supported`);
  }
}

/** Splits /api/v1/... and /apis/<group>/<version>/... into the request's parts. */
export function parseRequest(method: string, url: URL): ParsedRequest {
  const parts = url.pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodeSegment);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return { kind: 'path', verb: httpVerb(method), path: url.pathname };
  }
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // /namespaces/<ns>/<resource>/... is namespaced; /namespaces/<name>[/status] is the namespace itself.
  const namespaceItself = group === '' && (rest[2] === 'status' || rest[2] === 'finalize');
  if (rest[0] === 'namespaces' && rest.length >= 3 && !namespaceItself) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource, ...extra] = rest;
  // nodes|pods|services/<name>/proxy/<any path on the target>
  const proxied =
    group === '' &&
    resource !== undefined &&
    proxyResources.has(resource) &&
    name !== undefined &&
    subresource === 'proxy';
  if (resource === undefined || (extra.length > 0 && !proxied))
    throw new ApiError('NotFound', `the server could not find the requested resource`);
  const info = findResource(group, version, resource);
  if (info === undefined) throw new ApiError('NotFound', `the server could not find the requested resource`);
  if (namespace !== undefined && !info.namespaced)
    throw new ApiError('NotFound', `the server could not find the requested resource`);
  const watching = watchPath || flagParam(url.searchParams, 'watch');
  const verb = resourceVerb(method, name, watching);
  return {
    kind: 'resource',
    info,
    verb,
    namespace,
    name,
    subresource,
    ...(proxied
      ? { subpath: resource === 'nodes' ? extra.join('/') : rawPathAfter(url.pathname, parts.length - extra.length) }
      : {}),
  };
}
