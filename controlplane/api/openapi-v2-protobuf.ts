/**
 * /openapi/v2 as protobuf: the message `openapi.v2.Document` of gnostic's OpenAPIv2.proto (package
 * github.com/google/gnostic-models/openapiv2), the only form in which kubectl 1.27 and 1.28 fetch
 * the document. Only the messages a Kubernetes document uses are declared here; field numbers are
 * gnostic's. Vendor extensions, defaults and enum values travel as `Any.yaml`, the YAML text of
 * the value, which is what kubectl parses (JSON text is valid YAML, so it is written as JSON).
 */
import protobuf from 'protobufjs/light.js';
import type { OpenApiV2Document, SchemaV2 } from './openapi-v2.ts';

/** What clients ask for in `Accept`. */
export const openApiV2ProtobufType = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/** What the response says it is: `@` is not allowed in a media type, and Go's mime parser refuses it. */
export const openApiV2ProtobufContentType = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

type Fields = Record<string, { type: string; id: number; rule?: 'repeated' }>;
const one = (type: string, id: number) => ({ type, id });
const many = (type: string, id: number) => ({ type, id, rule: 'repeated' as const });
const named = (valueType: string): { fields: Fields } => ({
  fields: { name: one('string', 1), value: one(valueType, 2) },
});

const gnosticV2 = {
  Document: {
    fields: {
      swagger: one('string', 1),
      info: one('Info', 2),
      host: one('string', 3),
      basePath: one('string', 4),
      schemes: many('string', 5),
      consumes: many('string', 6),
      produces: many('string', 7),
      paths: one('Paths', 8),
      definitions: one('Definitions', 9),
      vendorExtension: many('NamedAny', 16),
    },
  },
  Info: {
    fields: {
      title: one('string', 1),
      version: one('string', 2),
      description: one('string', 3),
      vendorExtension: many('NamedAny', 7),
    },
  },
  Any: { fields: { value: one('google.protobuf.Any', 1), yaml: one('string', 2) } },
  NamedAny: named('Any'),
  Paths: { fields: { vendorExtension: many('NamedAny', 1), path: many('NamedPathItem', 2) } },
  NamedPathItem: named('PathItem'),
  PathItem: {
    fields: {
      ref: one('string', 1),
      get: one('Operation', 2),
      put: one('Operation', 3),
      post: one('Operation', 4),
      delete: one('Operation', 5),
      options: one('Operation', 6),
      head: one('Operation', 7),
      patch: one('Operation', 8),
      parameters: many('ParametersItem', 9),
      vendorExtension: many('NamedAny', 10),
    },
  },
  Operation: {
    fields: {
      tags: many('string', 1),
      summary: one('string', 2),
      description: one('string', 3),
      operationId: one('string', 5),
      produces: many('string', 6),
      consumes: many('string', 7),
      parameters: many('ParametersItem', 8),
      responses: one('Responses', 9),
      schemes: many('string', 10),
      deprecated: one('bool', 11),
      vendorExtension: many('NamedAny', 13),
    },
  },
  // ParametersItem -> Parameter -> NonBodyParameter are one-field-of choices in gnostic; setting
  // only one field of each encodes the same bytes as the oneof would.
  ParametersItem: { fields: { parameter: one('Parameter', 1) } },
  Parameter: { fields: { bodyParameter: one('BodyParameter', 1), nonBodyParameter: one('NonBodyParameter', 2) } },
  BodyParameter: {
    fields: {
      description: one('string', 1),
      name: one('string', 2),
      in: one('string', 3),
      required: one('bool', 4),
      schema: one('Schema', 5),
    },
  },
  NonBodyParameter: {
    fields: {
      queryParameterSubSchema: one('QueryParameterSubSchema', 3),
      pathParameterSubSchema: one('PathParameterSubSchema', 4),
    },
  },
  QueryParameterSubSchema: {
    fields: {
      required: one('bool', 1),
      in: one('string', 2),
      description: one('string', 3),
      name: one('string', 4),
      type: one('string', 6),
      uniqueItems: one('bool', 20),
    },
  },
  PathParameterSubSchema: {
    fields: {
      required: one('bool', 1),
      in: one('string', 2),
      description: one('string', 3),
      name: one('string', 4),
      type: one('string', 5),
      uniqueItems: one('bool', 19),
    },
  },
  Responses: { fields: { responseCode: many('NamedResponseValue', 1), vendorExtension: many('NamedAny', 2) } },
  NamedResponseValue: named('ResponseValue'),
  ResponseValue: { fields: { response: one('Response', 1) } },
  Response: {
    fields: { description: one('string', 1), schema: one('SchemaItem', 2), vendorExtension: many('NamedAny', 5) },
  },
  SchemaItem: { fields: { schema: one('Schema', 1) } },
  Definitions: { fields: { additionalProperties: many('NamedSchema', 1) } },
  NamedSchema: named('Schema'),
  Properties: { fields: { additionalProperties: many('NamedSchema', 1) } },
  TypeItem: { fields: { value: many('string', 1) } },
  ItemsItem: { fields: { schema: many('Schema', 1) } },
  AdditionalPropertiesItem: { fields: { schema: one('Schema', 1), boolean: one('bool', 2) } },
  Schema: {
    fields: {
      ref: one('string', 1),
      format: one('string', 2),
      title: one('string', 3),
      description: one('string', 4),
      default: one('Any', 5),
      required: many('string', 19),
      enum: many('Any', 20),
      additionalProperties: one('AdditionalPropertiesItem', 21),
      type: one('TypeItem', 22),
      items: one('ItemsItem', 23),
      properties: one('Properties', 25),
      readOnly: one('bool', 27),
      vendorExtension: many('NamedAny', 31),
    },
  },
};

const root = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: { protobuf: { nested: { Any: { fields: { typeUrl: one('string', 1), value: one('bytes', 2) } } } } },
    },
    openapi: { nested: { v2: { nested: gnosticV2 } } },
  },
});

export const documentMessage = root.lookupType('openapi.v2.Document');

type Message = Record<string, unknown>;

const anyOf = (value: unknown): Message => ({ yaml: JSON.stringify(value) });
const namedAnys = (entries: [string, unknown][]): Message[] =>
  entries.map(([name, value]) => ({ name, value: anyOf(value) }));
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function asRecord(value: unknown, where: string): Record<string, unknown> {
  if (!isRecord(value)) throw new Error(`openapi v2 protobuf: ${where} is not an object`);
  return value;
}

/** A field the message has no place for is an error, so nothing is dropped from the document silently. */
function unplaced(key: string, where: string): never {
  throw new Error(`openapi v2 protobuf: no field for "${key}" in ${where}`);
}

function schemaMessage(schema: SchemaV2): Message {
  const m: Message = {};
  const extensions: [string, unknown][] = [];
  for (const [key, value] of Object.entries(schema)) {
    switch (key) {
      case '$ref':
        m.ref = value;
        break;
      case 'format':
      case 'title':
      case 'description':
      case 'required':
      case 'readOnly':
        m[key] = value;
        break;
      case 'default':
        m.default = anyOf(value);
        break;
      case 'enum':
        m.enum = (value as unknown[]).map(anyOf);
        break;
      case 'type':
        m.type = { value: Array.isArray(value) ? value : [value] };
        break;
      case 'items':
        m.items = { schema: (Array.isArray(value) ? value : [value]).map((s) => schemaMessage(asRecord(s, 'items'))) };
        break;
      case 'properties':
        m.properties = {
          additionalProperties: Object.entries(asRecord(value, 'properties')).map(([name, s]) => ({
            name,
            value: schemaMessage(asRecord(s, name)),
          })),
        };
        break;
      case 'additionalProperties':
        m.additionalProperties =
          typeof value === 'boolean' ? { boolean: value } : { schema: schemaMessage(asRecord(value, key)) };
        break;
      default:
        if (!key.startsWith('x-')) unplaced(key, 'a schema');
        extensions.push([key, value]);
    }
  }
  if (extensions.length > 0) m.vendorExtension = namedAnys(extensions);
  return m;
}

function parameterMessage(parameter: Record<string, unknown>): Message {
  const { in: location, schema, ...rest } = parameter;
  if (location === 'body')
    return {
      parameter: {
        bodyParameter: { ...rest, in: location, schema: schemaMessage(asRecord(schema, 'body parameter')) },
      },
    };
  const sub = { ...rest, in: location };
  if (location === 'query') return { parameter: { nonBodyParameter: { queryParameterSubSchema: sub } } };
  if (location === 'path') return { parameter: { nonBodyParameter: { pathParameterSubSchema: sub } } };
  return unplaced(`in: ${String(location)}`, 'a parameter');
}

function operationMessage(operation: Record<string, unknown>): Message {
  const m: Message = {};
  const extensions: [string, unknown][] = [];
  for (const [key, value] of Object.entries(operation)) {
    if (key === 'parameters')
      m.parameters = (value as unknown[]).map((p) => parameterMessage(asRecord(p, 'parameter')));
    else if (key === 'responses') {
      m.responses = {
        responseCode: Object.entries(asRecord(value, key)).map(([code, r]) => {
          const { description, schema } = asRecord(r, `response ${code}`);
          return {
            name: code,
            value: {
              response: {
                description,
                ...(schema !== undefined
                  ? { schema: { schema: schemaMessage(asRecord(schema, 'response schema')) } }
                  : {}),
              },
            },
          };
        }),
      };
    } else if (key.startsWith('x-')) extensions.push([key, value]);
    else if (
      ['tags', 'summary', 'description', 'operationId', 'produces', 'consumes', 'schemes', 'deprecated'].includes(key)
    )
      m[key] = value;
    else unplaced(key, 'an operation');
  }
  if (extensions.length > 0) m.vendorExtension = namedAnys(extensions);
  return m;
}

/** The document's bytes; the result is meant to be computed once and kept. */
export function encodeOpenApiV2(doc: OpenApiV2Document): Uint8Array {
  const message = {
    swagger: doc.swagger,
    info: doc.info,
    paths: {
      path: Object.entries(doc.paths).map(([name, item]) => ({
        name,
        value: Object.fromEntries(Object.entries(item).map(([method, op]) => [method, operationMessage(op)])),
      })),
    },
    definitions: {
      additionalProperties: Object.entries(doc.definitions).map(([name, schema]) => ({
        name,
        value: schemaMessage(schema),
      })),
    },
  };
  const invalid = documentMessage.verify(message);
  if (invalid !== null) throw new Error(`openapi v2 protobuf: ${invalid}`);
  return documentMessage.encode(documentMessage.fromObject(message)).finish();
}
