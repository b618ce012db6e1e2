/**
 * A custom resource's OpenAPI v3 schema as upstream publishes it (for `kubectl explain` and
 * client-side validation): the version's schema with apiVersion, kind and a reference-free
 * metadata added at the root, the group/version/kind extension, and the list-type extensions kept.
 */
import type { Crd, CrdVersion } from './crd.ts';
import type { JsonSchema } from './schema-types.ts';

const apiVersionDescription =
  'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
const kindDescription =
  'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';
const metadataDescription =
  "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/** The published form drops what OpenAPI clients must not see (CEL rules stay: upstream publishes them too). */
function published(schema: JsonSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && value !== undefined) {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, published(v)]),
      );
    } else if ((key === 'items' || key === 'additionalProperties') && typeof value === 'object') {
      out[key] = published(value as JsonSchema);
    } else if (key === 'x-kubernetes-int-or-string' && value === true) {
      out[key] = true;
      out.anyOf = [{ type: 'integer' }, { type: 'string' }];
    } else out[key] = value;
  }
  return out;
}

export function openApiSchemaOf(crd: Crd, version: CrdVersion, schema: JsonSchema): Record<string, unknown> {
  const root = published(schema);
  const properties = { ...((root.properties as Record<string, unknown> | undefined) ?? {}) };
  properties.apiVersion = { type: 'string', description: apiVersionDescription };
  properties.kind = { type: 'string', description: kindDescription };
  properties.metadata = { type: 'object', description: metadataDescription };
  return {
    ...root,
    type: 'object',
    properties,
    'x-kubernetes-group-version-kind': [{ group: crd.spec.group, version: version.name, kind: crd.spec.names.kind }],
  };
}

/** Keywords OpenAPI v2 (and its protobuf form) has a place for. */
const v2Keywords = new Set([
  'type',
  'format',
  'description',
  'required',
  'default',
  'enum',
  'items',
  'properties',
  'additionalProperties',
]);

/**
 * The v2 form of a published schema (`/openapi/v2`, what kubectl 1.27/1.28 validate lists with):
 * the keywords v2 knows and the extensions; what v2 cannot say (nullable, anyOf, bounds) is left
 * out, so that schema is looser than the server, never stricter.
 */
export function openApiV2SchemaOf(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!v2Keywords.has(key) && !key.startsWith('x-')) continue;
    if (key === 'properties' && value !== null && typeof value === 'object')
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, Record<string, unknown>>).map(([k, v]) => [k, openApiV2SchemaOf(v)]),
      );
    else if ((key === 'items' || key === 'additionalProperties') && value !== null && typeof value === 'object')
      out[key] = openApiV2SchemaOf(value as Record<string, unknown>);
    else out[key] = value;
  }
  return out;
}
