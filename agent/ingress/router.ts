/**
 * The ingress proxy's routing, pure: the Ingresses of its class in, a route table out; a request's
 * host and path in, the backend out. Upstream leaves merging several Ingresses to the controller;
 * the rules here are the documented ones plus ingress-nginx's where the documentation is silent:
 *
 * - host: a rule's exact host wins over a `*.` wildcard (which matches exactly one more label),
 *   which wins over rules without a host; the most specific level with rules is the one used;
 * - path: the longest matching path wins; at equal length Exact wins over Prefix; Prefix matches
 *   whole `/`-separated elements (`/aaa/bbb` matches `/aaa/bbb/ccc`, not `/aaa/bbbxyz`) and ignores
 *   a trailing slash on either side; ImplementationSpecific is Prefix (an empty path is `/`);
 * - the same host, path and type in two Ingresses: the older Ingress wins (then the name);
 * - nothing matches: the default backend of the oldest Ingress with rules for that host that has
 *   one, else the oldest Ingress's default backend, else none (the proxy answers 404).
 */
import { servedByBosunProxy, type Ingress, type IngressBackend, type IngressClass } from '../../kube/networkingv1.ts';
import { compareText } from '../../kube/text-order.ts';

/** Where a request goes: a port of a Service in the Ingress's namespace. */
export interface RouteTarget {
  /** `namespace/name` of the Ingress that routed it (metrics and access logs name it). */
  readonly ingress: string;
  readonly namespace: string;
  readonly service: string;
  /** The Service port by name, or by number; exactly one is set. */
  readonly portName?: string;
  readonly portNumber?: number;
}

interface PathRule {
  readonly path: string;
  readonly exact: boolean;
  readonly target: RouteTarget;
}

interface HostRules {
  /** Longest path first, Exact before Prefix at equal length, older Ingress first. */
  readonly paths: readonly PathRule[];
  readonly defaultBackend: RouteTarget | undefined;
}

export interface RouteTable {
  readonly exact: ReadonlyMap<string, HostRules>;
  /** By the wildcard's suffix without the `*`: `.example.com`. */
  readonly wildcard: ReadonlyMap<string, HostRules>;
  readonly anyHost: HostRules | undefined;
  readonly defaultBackend: RouteTarget | undefined;
}

/** The Ingresses this proxy serves (kube/networkingv1.ts says which). */
export function servedIngresses(ingresses: readonly Ingress[], classes: readonly IngressClass[]): Ingress[] {
  return ingresses.filter((i) => servedByBosunProxy(i, classes));
}

function targetOf(ingress: Ingress, backend: IngressBackend | undefined): RouteTarget | undefined {
  const service = backend?.service;
  if (service === undefined || typeof service.name !== 'string' || service.name === '') return undefined;
  const namespace = ingress.metadata.namespace ?? 'default';
  const common = { ingress: `${namespace}/${ingress.metadata.name}`, namespace, service: service.name };
  const { name, number } = service.port ?? {};
  if (typeof name === 'string' && name !== '') return { ...common, portName: name };
  if (typeof number === 'number' && number > 0) return { ...common, portNumber: number };
  return undefined;
}

/** Older first, then by namespace/name: the order in which Ingresses claim what they share. */
function byAge(a: Ingress, b: Ingress): number {
  const at = (i: Ingress) => i.metadata.creationTimestamp ?? '';
  const id = (i: Ingress) => `${i.metadata.namespace ?? ''}/${i.metadata.name ?? ''}`;
  return compareText(at(a), at(b)) || compareText(id(a), id(b));
}

/** A rule path without its trailing slashes (`/` stays `/`): Prefix ignores them. */
function trimmed(path: string): string {
  const cut = path.replace(/\/+$/, '');
  return cut === '' ? '/' : cut;
}

export function buildRouteTable(ingresses: readonly Ingress[]): RouteTable {
  const hosts = new Map<string, { paths: PathRule[]; defaultBackend: RouteTarget | undefined }>();
  let defaultBackend: RouteTarget | undefined;
  for (const ingress of [...ingresses].sort(byAge)) {
    const fallback = targetOf(ingress, ingress.spec?.defaultBackend);
    defaultBackend ??= fallback;
    for (const rule of ingress.spec?.rules ?? []) {
      const host = (rule.host ?? '').toLowerCase();
      let entry = hosts.get(host);
      if (entry === undefined) {
        entry = { paths: [], defaultBackend: undefined };
        hosts.set(host, entry);
      }
      entry.defaultBackend ??= fallback;
      for (const path of rule.http?.paths ?? []) {
        const target = targetOf(ingress, path.backend);
        if (target === undefined) continue;
        const exact = path.pathType === 'Exact';
        const text = path.path === undefined || path.path === '' ? '/' : path.path;
        if (!text.startsWith('/')) continue;
        entry.paths.push({ path: exact ? text : trimmed(text), exact, target });
      }
    }
  }
  const exact = new Map<string, HostRules>();
  const wildcard = new Map<string, HostRules>();
  let anyHost: HostRules | undefined;
  for (const [host, entry] of hosts) {
    // stable: among equal paths the older Ingress (pushed first) stays first
    const paths = entry.paths
      .map((rule, order) => ({ rule, order }))
      .sort(
        (a, b) =>
          b.rule.path.length - a.rule.path.length || Number(b.rule.exact) - Number(a.rule.exact) || a.order - b.order,
      )
      .map(({ rule }) => rule);
    const rules = { paths, defaultBackend: entry.defaultBackend };
    if (host === '') anyHost = rules;
    else if (host.startsWith('*.')) wildcard.set(host.slice(1), rules);
    else exact.set(host, rules);
  }
  return { exact, wildcard, anyHost, defaultBackend };
}

/** The request's host as rules name hosts: no port, lower case, no trailing dot. */
function normalHost(hostHeader: string | undefined): string {
  let host = (hostHeader ?? '').trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  if (colon >= 0) host = host.slice(0, colon);
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/**
 * The request path as rules are matched against it: the part before `?`, with `.` and `..`
 * segments resolved and repeated slashes kept as sent (upstream refuses them in rules anyway).
 */
export function normalPath(target: string): string {
  const end = target.search(/[?#]/);
  const raw = end < 0 ? target : target.slice(0, end);
  if (!raw.startsWith('/')) return '/';
  const out: string[] = [];
  for (const segment of raw.slice(1).split('/')) {
    if (segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const last = raw.slice(1).split('/').at(-1);
  if (last === '.' || last === '..') out.push('');
  return `/${out.join('/')}`;
}

function pathMatches(rule: PathRule, path: string): boolean {
  if (rule.exact) return path === rule.path;
  if (rule.path === '/') return true;
  const request = trimmed(path);
  return request === rule.path || request.startsWith(`${rule.path}/`);
}

function hostRulesFor(table: RouteTable, host: string): HostRules | undefined {
  const exact = table.exact.get(host);
  if (exact !== undefined) return exact;
  const dot = host.indexOf('.');
  // `*.example.com` covers `a.example.com`, never `example.com` nor `a.b.example.com`
  if (dot > 0) {
    const wildcard = table.wildcard.get(host.slice(dot));
    if (wildcard !== undefined) return wildcard;
  }
  return table.anyHost;
}

/** Where the request for `host` (a Host header) and `path` (a request target) goes; undefined: 404. */
export function route(table: RouteTable, host: string, path: string): RouteTarget | undefined {
  const rules = hostRulesFor(table, normalHost(host));
  if (rules === undefined) return table.defaultBackend;
  const wanted = normalPath(path);
  for (const rule of rules.paths) if (pathMatches(rule, wanted)) return rule.target;
  return rules.defaultBackend ?? table.defaultBackend;
}
