/**
 * The node's second look at an Ingress before it becomes routes: the API server validates every
 * Ingress, but an older server, a bug or a hand-edited datastore could still hand the agent one
 * with a number where a host belongs or a rules object where a list belongs. Only well-formed
 * parts are kept (each checked with the API's own name formats); the rest is left out and said.
 */
import { dns1123Label, dns1123Subdomain, portName, wildcardDns1123Subdomain } from '../../kube/name-formats.ts';
import type { Ingress, IngressBackend } from '../../kube/networkingv1.ts';
import type { KubeObject } from '../../kube/types.ts';

type Any = Record<string, unknown>;
const isObject = (v: unknown): v is Any => typeof v === 'object' && v !== null && !Array.isArray(v);
const listOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const pathTypes = new Set(['Exact', 'Prefix', 'ImplementationSpecific']);

const hostOk = (h: unknown): h is string =>
  typeof h === 'string' && (h.startsWith('*.') ? wildcardDns1123Subdomain(h) : dns1123Subdomain(h)).length === 0;

function backendOf(raw: unknown, problems: string[], at: string): IngressBackend | undefined {
  if (!isObject(raw) || !isObject(raw.service)) return undefined;
  const { name, port } = raw.service;
  // DNS-1123 labels: what Service names are (the API checks the stricter DNS-1035 on create)
  if (typeof name !== 'string' || dns1123Label(name).length > 0 || !isObject(port)) {
    problems.push(`${at}: not a Service reference`);
    return undefined;
  }
  if (typeof port.name === 'string' && port.name !== '' && portName(port.name).length === 0)
    return { service: { name, port: { name: port.name } } };
  if (typeof port.number === 'number' && Number.isInteger(port.number) && port.number > 0 && port.number < 65536)
    return { service: { name, port: { number: port.number } } };
  problems.push(`${at}: no usable Service port`);
  return undefined;
}

/** The well-formed part of an Ingress the informer holds, and what was left out. */
export function sanitizeIngress(raw: KubeObject): { ingress: Ingress | undefined; problems: string[] } {
  const problems: string[] = [];
  const meta = raw.metadata;
  if (!isObject(meta) || typeof meta.name !== 'string' || typeof meta.namespace !== 'string')
    return { ingress: undefined, problems: ['no name or namespace'] };
  if (dns1123Label(meta.namespace).length > 0)
    return { ingress: undefined, problems: ['namespace is not a DNS label'] };
  const spec = isObject(raw.spec) ? raw.spec : {};
  const rules: NonNullable<NonNullable<Ingress['spec']>['rules']> = [];
  listOf(spec.rules).forEach((rule, i) => {
    if (!isObject(rule)) return problems.push(`rules[${i}]: not an object`);
    if (rule.host !== undefined && rule.host !== '' && !hostOk(rule.host))
      return problems.push(`rules[${i}].host: not a DNS name`);
    const paths: { path?: string; pathType: 'Exact' | 'Prefix' | 'ImplementationSpecific'; backend: IngressBackend }[] =
      [];
    const http = isObject(rule.http) ? rule.http : {};
    listOf(http.paths).forEach((p, j) => {
      const at = `rules[${i}].http.paths[${j}]`;
      if (!isObject(p) || typeof p.pathType !== 'string' || !pathTypes.has(p.pathType))
        return problems.push(`${at}: no pathType`);
      if (p.path !== undefined && (typeof p.path !== 'string' || (p.path !== '' && !p.path.startsWith('/'))))
        return problems.push(`${at}.path: not an absolute path`);
      const backend = backendOf(p.backend, problems, `${at}.backend`);
      if (backend === undefined) return;
      paths.push({
        ...(typeof p.path === 'string' ? { path: p.path } : {}),
        pathType: p.pathType as 'Exact',
        backend,
      });
    });
    rules.push({ ...(typeof rule.host === 'string' ? { host: rule.host } : {}), http: { paths } });
  });
  const tls = listOf(spec.tls)
    .filter(isObject)
    .map((t) => ({
      hosts: listOf(t.hosts).filter(hostOk),
      ...(typeof t.secretName === 'string' && dns1123Subdomain(t.secretName).length === 0
        ? { secretName: t.secretName }
        : {}),
    }));
  const defaultBackend =
    spec.defaultBackend === undefined ? undefined : backendOf(spec.defaultBackend, problems, 'defaultBackend');
  const ingress: Ingress = {
    metadata: {
      name: meta.name,
      namespace: meta.namespace,
      ...(typeof meta.creationTimestamp === 'string' ? { creationTimestamp: meta.creationTimestamp } : {}),
      ...(meta.deletionTimestamp !== undefined ? { deletionTimestamp: String(meta.deletionTimestamp) } : {}),
      ...(isObject(meta.annotations) ? { annotations: meta.annotations as Record<string, string> } : {}),
    },
    spec: {
      ...(typeof spec.ingressClassName === 'string' ? { ingressClassName: spec.ingressClassName } : {}),
      ...(defaultBackend ? { defaultBackend } : {}),
      rules,
      tls,
    },
  };
  return { ingress, problems };
}
