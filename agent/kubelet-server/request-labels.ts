/**
 * The labels a request on the kubelet port is counted under, from a fixed set: the port is open
 * to the network, and a counter keyed by whatever path a client sends would grow without bound
 * (one series per random path). Paths this server serves keep their first segment, anything else
 * is `other`; a request without valid credentials counts as `unauthorized` whatever its path, so
 * nobody without credentials can choose a label at all.
 */
const servedPaths = new Set([
  'healthz',
  'pods',
  'containerLogs',
  'run',
  'exec',
  'attach',
  'portForward',
  'stats',
  'metrics',
]);
const countedMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

interface RequestLabels {
  method: string;
  path: string;
  code: string;
}

/** `authenticated`: whether the client presented credentials this port accepts. */
export function requestLabels(method: string, pathname: string, code: number, authenticated: boolean): RequestLabels {
  const first = pathname.split('/')[1] ?? '';
  let path: string;
  if (!authenticated) path = 'unauthorized';
  else if (first === '') path = '/';
  else path = servedPaths.has(first) ? first : 'other';
  const status = Number.isInteger(code) && code >= 100 && code <= 599 ? String(code) : 'other';
  return { method: countedMethods.has(method) ? method : 'other', path, code: status };
}
