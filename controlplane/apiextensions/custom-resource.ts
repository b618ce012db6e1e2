/**
 * One served version of a custom resource: what the registry and the REST layer ask of it
 * (CustomResourceBehaviour in api/resources.ts), built once from its CustomResourceDefinition so
 * that a write does no schema work beyond walking the object. A write is pruned, defaulted,
 * checked against the schema and then against the CEL rules (with the stored object as oldSelf),
 * and refused with one 422 naming every field, as upstream refuses it.
 */
import { ApiError } from '../../kube/errors.ts';
import { formatLabelSelector, parseLabelSelector } from '../../kube/labels.ts';
import type { CustomResourceBehaviour, VersionConversion } from '../api/resources.ts';
import { FieldErrors } from '../validation/field-errors.ts';
import { validateObjectMeta } from '../validation/metadata.ts';
import { type Crd, type CrdVersion, namesWithDefaults } from './crd.ts';
import { readJsonPath, writeJsonPath } from './json-path.ts';
import { customResourceTable } from './printer-columns.ts';
import { compileRules, runRules } from './schema-cel.ts';
import { applyDefaults, pruneBySchema } from './schema-prune.ts';
import { isPlainRecord, type JsonSchema } from './schema-types.ts';
import { validateAgainstSchema } from './schema-validate.ts';
import { openApiSchemaOf } from './openapi-schema.ts';
import { listTypesOf } from './list-types.ts';
import { ratchet } from './ratcheting.ts';

/** Every version keeps unknown fields when its CRD has no schema to prune by (never for v1 CRDs). */
const keepEverything: JsonSchema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

export function customResourceBehaviour(
  crd: Crd,
  version: CrdVersion,
  /** The definition's webhook conversion, shared by its versions (absent: strategy None). */
  conversion?: VersionConversion,
): CustomResourceBehaviour {
  const schema = version.schema?.openAPIV3Schema ?? keepEverything;
  const rules = compileRules(schema, '');
  const names = namesWithDefaults(crd.spec.names);
  const group = crd.spec.group;
  const namespaced = crd.spec.scope === 'Namespaced';
  const scale = version.subresources?.scale;
  const terminating = crd.metadata.deletionTimestamp !== undefined;
  let openApi: Record<string, unknown> | undefined;
  return {
    admit(object, old, subresource) {
      // a definition being deleted takes no new objects (its cleanup is deleting the old ones)
      if (terminating && old === undefined && subresource === undefined)
        throw new ApiError(
          'MethodNotAllowed',
          `create is not supported on resources of kind "${names.plural}.${group}"`,
        );
      pruneBySchema(object, schema);
      applyDefaults(object, schema);
      const errors = new FieldErrors();
      if (isPlainRecord(object.metadata)) {
        validateObjectMeta(errors, object.metadata, 'subdomain', namespaced);
        // the schema may narrow the name (and only name and generateName) of the root's metadata
        const nameSchema = schema.properties?.metadata?.properties?.name;
        if (nameSchema !== undefined && typeof object.metadata.name === 'string')
          validateAgainstSchema(errors, 'metadata.name', object.metadata.name, nameSchema);
      }
      const { apiVersion: _a, kind: _k, metadata: _m, ...fields } = object;
      const schemaErrors = new FieldErrors();
      validateAgainstSchema(schemaErrors, '', fields, withoutRootMeta(schema));
      errors.causes.push(...(old === undefined ? schemaErrors.causes : ratchet(schemaErrors.causes, object, old)));
      if (errors.empty && rules !== undefined) runRules(errors, rules, '', object, old);
      const name =
        isPlainRecord(object.metadata) && typeof object.metadata.name === 'string' ? object.metadata.name : '';
      errors.throwIfAny(names.kind, group, name);
    },
    ...(version.deprecated === true
      ? { deprecationWarning: version.deprecationWarning ?? `${group}/${version.name} ${names.kind} is deprecated` }
      : {}),
    ...(conversion !== undefined ? { conversion } : {}),
    listTypes: listTypesOf(schema),
    pruneUnknown: (object) => pruneBySchema(object, schema),
    defaultOnRead: (object) => void applyDefaults(object, schema),
    table: (objects, resourceVersion, includeObject, now) =>
      customResourceTable(version.additionalPrinterColumns, objects, resourceVersion, includeObject, now),
    openApiSchema: () => {
      openApi ??= openApiSchemaOf(crd, version, schema);
      return openApi;
    },
    ...(scale === undefined
      ? {}
      : {
          scale: {
            read(object) {
              const metadata = (object.metadata ?? {}) as Record<string, unknown>;
              const replicas = readJsonPath(object, scale.specReplicasPath)[0];
              const current = readJsonPath(object, scale.statusReplicasPath)[0];
              const selector =
                scale.labelSelectorPath === undefined ? undefined : readJsonPath(object, scale.labelSelectorPath)[0];
              return {
                kind: 'Scale',
                apiVersion: 'autoscaling/v1',
                metadata: {
                  name: metadata.name,
                  namespace: metadata.namespace,
                  uid: metadata.uid,
                  resourceVersion: metadata.resourceVersion,
                  creationTimestamp: metadata.creationTimestamp,
                },
                spec: { replicas: typeof replicas === 'number' ? replicas : 0 },
                status: {
                  replicas: typeof current === 'number' ? current : 0,
                  ...(typeof selector === 'string' && selector !== ''
                    ? { selector: formatLabelSelector(parseLabelSelector(selector)) }
                    : {}),
                },
              };
            },
            write(object, replicas) {
              writeJsonPath(object, scale.specReplicasPath, replicas);
            },
          },
        }),
  };
}

/** The root's metadata is checked as ObjectMeta, not by the schema (which may only narrow name). */
function withoutRootMeta(schema: JsonSchema): JsonSchema {
  if (schema.properties === undefined) return schema;
  const { apiVersion: _a, kind: _k, metadata: _m, ...properties } = schema.properties;
  const required = schema.required?.filter((f) => f !== 'metadata' && f !== 'apiVersion' && f !== 'kind');
  return { ...schema, properties, ...(required !== undefined ? { required } : {}) };
}
