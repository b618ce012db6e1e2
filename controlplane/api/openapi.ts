/**
 * Just enough OpenAPI v3 for kubectl: for each group/version, a document whose PATCH operations
 * carry the group/version/kind extension and the `fieldValidation` parameter, which tells kubectl
 * that this server validates fields itself (so it sends fieldValidation instead of downloading
 * schemas to validate on the client), and a schema per kind built from the shapes admission checks,
 * so `kubectl explain` can list fields and their types.
 */
import { createHash } from 'node:crypto';
import { objectMeta, shapes, type Shape } from '../admission/shape.ts';
import { fieldDescription, fieldType, kindType, typeDescription } from './field-descriptions.ts';
import { groups, type ResourceInfo } from './resources.ts';

type Schema = Record<string, unknown>;

/** `type` is the upstream model type the shape stands for (field-descriptions.ts), when known. */
function schemaOf(shape: Shape, type?: string): Schema {
  if (typeof shape === 'string') {
    switch (shape) {
      case 'any':
        return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
      case 'int64':
        return { type: 'integer', format: 'int64' };
      case 'bytes':
        return { type: 'string', format: 'byte' };
      case 'intOrString':
        return { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] };
      default:
        return { type: shape };
    }
  }
  if ('list' in shape) return { type: 'array', items: schemaOf(shape.list, type) };
  if ('map' in shape) return { type: 'object', additionalProperties: schemaOf(shape.map, type) };
  return {
    type: 'object',
    properties: Object.fromEntries(
      Object.entries(shape.fields).map(([k, v]) => [
        k,
        described(schemaOf(v, fieldType(type, k)), fieldDescription(type, k)),
      ]),
    ),
  };
}

function described(schema: Schema, description: string | undefined): Schema {
  return description === undefined ? schema : { ...schema, description };
}

function schemaName(r: ResourceInfo): string {
  return `io.bosun.${r.group === '' ? 'core' : r.group}.${r.version}.${r.kind}`;
}

function kindSchema(r: ResourceInfo): Schema {
  if (r.custom !== undefined) return r.custom.openApiSchema();
  const extra = shapes[r.group === '' ? r.resource : `${r.group}/${r.resource}`] ?? {};
  const type = kindType(r.group, r.version, r.kind);
  const properties: Record<string, Schema> = {
    apiVersion: {
      type: 'string',
      description: fieldDescription(type, 'apiVersion') ?? 'The versioned schema of this object.',
    },
    kind: { type: 'string', description: fieldDescription(type, 'kind') ?? 'The kind of this object.' },
    metadata: {
      ...schemaOf(objectMeta, fieldType(type, 'metadata')),
      description: fieldDescription(type, 'metadata') ?? "Standard object's metadata.",
    },
  };
  for (const [field, shape] of Object.entries(extra))
    properties[field] = described(schemaOf(shape, fieldType(type, field)), fieldDescription(type, field));
  properties.spec ??= { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  return {
    type: 'object',
    description:
      typeDescription(type) ?? `${r.kind} (${r.group === '' ? 'core' : r.group}/${r.version}), served by bosun.`,
    properties,
    'x-kubernetes-group-version-kind': [{ group: r.group, version: r.version, kind: r.kind }],
  };
}

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
    paths[base] = {
      patch: operation,
      put: { ...operation, operationId: `replace${r.kind}`, 'x-kubernetes-action': 'put' },
    };
    const collection = `/${groupVersionPath(group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.resource}`;
    paths[collection] = { post: { ...operation, operationId: `create${r.kind}`, 'x-kubernetes-action': 'post' } };
  }
  const schemas = Object.fromEntries(g.resources.map((r) => [schemaName(r), kindSchema(r)]));
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: version }, paths, components: { schemas } };
}

export function openApiV3Root() {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const g of groups()) {
    const path = groupVersionPath(g.name, g.version);
    const hash = createHash('sha256')
      .update(JSON.stringify(openApiV3Document(g.name, g.version)))
      .digest('hex')
      .slice(0, 32)
      .toUpperCase();
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
  }
  return { paths };
}
