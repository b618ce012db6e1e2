/**
 * Just enough OpenAPI v3 for kubectl: for each group/version, a document whose PATCH operations
 * carry the group/version/kind extension and the `fieldValidation` parameter, which tells kubectl
 * that this server validates fields itself (so it sends fieldValidation instead of downloading
 * schemas to validate on the client). Schemas are not published yet, so `kubectl explain` cannot
 * describe fields.
 */
import { createHash } from 'node:crypto';
import { groups } from './resources.ts';

function groupVersionPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

export function openApiV3Document(group: string, version: string) {
  const g = groups().find((x) => x.name === group && x.version === version);
  if (!g) return undefined;
  const paths: Record<string, unknown> = {};
  for (const r of g.resources) {
    const base = `/${groupVersionPath(group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.resource}/{name}`;
    const operation = {
      operationId: `patch${r.kind}`,
      'x-kubernetes-action': 'patch',
      'x-kubernetes-group-version-kind': { group, version, kind: r.kind },
      parameters: [
        { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
        { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
      ],
      responses: { '200': { description: 'OK' } },
    };
    paths[base] = { patch: operation, put: { ...operation, operationId: `replace${r.kind}`, 'x-kubernetes-action': 'put' } };
    const collection = `/${groupVersionPath(group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.resource}`;
    paths[collection] = { post: { ...operation, operationId: `create${r.kind}`, 'x-kubernetes-action': 'post' } };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: version }, paths, components: { schemas: {} } };
}

export function openApiV3Root() {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const g of groups()) {
    const path = groupVersionPath(g.name, g.version);
    const hash = createHash('sha256').update(JSON.stringify(openApiV3Document(g.name, g.version))).digest('hex').slice(0, 32).toUpperCase();
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
  }
  return { paths };
}
