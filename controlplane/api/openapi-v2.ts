/**
 * The Swagger 2.0 document at /openapi/v2, which kubectl 1.27 and 1.28 download before apply,
 * validation and explain. Built from the same shapes as the v3 documents, but under upstream's
 * definition names (`io.k8s.api.apps.v1.Deployment`, `io.k8s.api.core.v1.PodSpec`), with the
 * shared parts (ObjectMeta, PodSpec, Container, ...) as referenced definitions, every kind
 * tagged with `x-kubernetes-group-version-kind`, and upstream's strategic-merge-patch metadata on
 * the lists that have it, so a patch computed from this document merges lists as upstream would.
 */
import { objectMeta, podSpec, shapes, type Shape } from '../admission/shape.ts';
import { fieldDescription, fieldType, kindType, typeDescription } from './field-descriptions.ts';
import { groups, type ResourceInfo } from './resources.ts';
import { upstreamModelFields } from './field-validation.ts';
import { openApiV2SchemaOf } from '../apiextensions/openapi-schema.ts';

export type SchemaV2 = Record<string, unknown>;

export interface OpenApiV2Document {
  readonly swagger: '2.0';
  readonly info: { readonly title: string; readonly version: string };
  readonly paths: Record<string, Record<string, SchemaV2>>;
  readonly definitions: Record<string, SchemaV2>;
}

const metaPackage = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const corePackage = 'io.k8s.api.core.v1';

/** `io.k8s.api.<first label of the group>.<version>`, as upstream names its Go packages. */
function packageOf(group: string, version: string): string {
  return `io.k8s.api.${group === '' ? 'core' : group.split('.')[0]}.${version}`;
}

function fieldOf(shape: Shape | undefined, name: string): Shape | undefined {
  if (shape === undefined || typeof shape === 'string' || !('fields' in shape)) return undefined;
  const field = shape.fields[name];
  return field !== undefined && typeof field !== 'string' && 'list' in field ? field.list : field;
}

/** Shapes shared by several kinds get one definition each, found by identity. */
function sharedDefinitions(): Map<Shape, string> {
  const deploymentSpec = shapes['apps/deployments']?.spec;
  const named: [Shape | undefined, string][] = [
    [objectMeta, `${metaPackage}.ObjectMeta`],
    [fieldOf(objectMeta, 'ownerReferences'), `${metaPackage}.OwnerReference`],
    [fieldOf(deploymentSpec, 'selector'), `${metaPackage}.LabelSelector`],
    [fieldOf(deploymentSpec, 'template'), `${corePackage}.PodTemplateSpec`],
    [podSpec, `${corePackage}.PodSpec`],
    [fieldOf(podSpec, 'containers'), `${corePackage}.Container`],
    [fieldOf(fieldOf(podSpec, 'containers'), 'env'), `${corePackage}.EnvVar`],
    [fieldOf(fieldOf(podSpec, 'containers'), 'ports'), `${corePackage}.ContainerPort`],
    [fieldOf(fieldOf(podSpec, 'containers'), 'volumeMounts'), `${corePackage}.VolumeMount`],
    [fieldOf(podSpec, 'volumes'), `${corePackage}.Volume`],
    [fieldOf(podSpec, 'tolerations'), `${corePackage}.Toleration`],
  ];
  return new Map(named.filter((entry): entry is [Shape, string] => entry[0] !== undefined));
}

interface PatchMeta {
  readonly strategy: string;
  readonly mergeKey?: string;
}

/** Upstream's `patchStrategy`/`patchMergeKey` struct tags for the fields bosun's shapes carry. */
const patchMeta: Readonly<Record<string, PatchMeta>> = {
  [`${metaPackage}.ObjectMeta.finalizers`]: { strategy: 'merge' },
  [`${metaPackage}.ObjectMeta.ownerReferences`]: { strategy: 'merge', mergeKey: 'uid' },
  [`${corePackage}.PodSpec.containers`]: { strategy: 'merge', mergeKey: 'name' },
  [`${corePackage}.PodSpec.initContainers`]: { strategy: 'merge', mergeKey: 'name' },
  [`${corePackage}.PodSpec.volumes`]: { strategy: 'merge,retainKeys', mergeKey: 'name' },
  [`${corePackage}.PodSpec.imagePullSecrets`]: { strategy: 'merge', mergeKey: 'name' },
  [`${corePackage}.Container.env`]: { strategy: 'merge', mergeKey: 'name' },
  [`${corePackage}.Container.ports`]: { strategy: 'merge', mergeKey: 'containerPort' },
  [`${corePackage}.Container.volumeMounts`]: { strategy: 'merge', mergeKey: 'mountPath' },
  [`${corePackage}.PodStatus.conditions`]: { strategy: 'merge', mergeKey: 'type' },
  [`${corePackage}.ServiceSpec.ports`]: { strategy: 'merge', mergeKey: 'port' },
  [`${corePackage}.NodeSpec.taints`]: { strategy: 'merge', mergeKey: 'key' },
  [`${packageOf('apps', 'v1')}.DeploymentSpec.strategy`]: { strategy: 'retainKeys' },
};

class DefinitionBuilder {
  readonly definitions: Record<string, SchemaV2> = {};
  readonly #shared = sharedDefinitions();

  /**
   * The schema of `shape`; `name` names the definition an object shape becomes, if any; `type` is
   * the upstream model type it stands for (field-descriptions.ts), when known.
   */
  schema(shape: Shape, name?: string, type?: string): SchemaV2 {
    const shared = this.#shared.get(shape);
    if (shared !== undefined) return this.#reference(shape, shared, type);
    if (typeof shape === 'string') {
      switch (shape) {
        case 'any':
          return {};
        case 'int64':
          return { type: 'integer', format: 'int64' };
        case 'bytes':
          return { type: 'string', format: 'byte' };
        case 'intOrString':
          return { type: 'string', format: 'int-or-string' };
        default:
          return { type: shape };
      }
    }
    if ('list' in shape) return { type: 'array', items: this.schema(shape.list, undefined, type) };
    if ('map' in shape) return { type: 'object', additionalProperties: this.schema(shape.map, undefined, type) };
    return name === undefined ? this.#object(shape.fields, undefined, type) : this.#reference(shape, name, type);
  }

  #reference(shape: Shape, name: string, type: string | undefined): SchemaV2 {
    if (!(name in this.definitions)) {
      this.definitions[name] = {}; // claimed first, so a shape that contains itself terminates
      this.definitions[name] = this.#object(
        typeof shape === 'object' && 'fields' in shape ? shape.fields : {},
        name,
        type,
      );
    }
    return { $ref: `#/definitions/${name}` };
  }

  #object(fields: Readonly<Record<string, Shape>>, name: string | undefined, type: string | undefined): SchemaV2 {
    const properties: Record<string, SchemaV2> = {};
    for (const [field, shape] of Object.entries(fields)) {
      const schema = this.schema(shape, undefined, fieldType(type, field));
      const description = fieldDescription(type, field);
      if (description !== undefined) schema.description = description;
      const patch = name === undefined ? undefined : patchMeta[`${name}.${field}`];
      if (patch?.mergeKey !== undefined) schema['x-kubernetes-patch-merge-key'] = patch.mergeKey;
      if (patch !== undefined) schema['x-kubernetes-patch-strategy'] = patch.strategy;
      properties[field] = schema;
    }
    // kubectl refuses a field its downloaded schema does not list (when it validates on the client:
    // a List, kubectl 1.27/1.28), so every upstream field is listed; those bosun does not check
    // accept any value
    for (const field of Object.keys(type === undefined ? {} : (upstreamModelFields(type) ?? {})))
      properties[field] ??= {};
    const own = typeDescription(type);
    return { type: 'object', ...(own !== undefined ? { description: own } : {}), properties };
  }

  kind(r: ResourceInfo): string {
    const pkg = packageOf(r.group, r.version);
    if (r.custom !== undefined) {
      this.definitions[`${pkg}.${r.kind}`] = openApiV2SchemaOf(r.custom.openApiSchema()) as SchemaV2;
      return `${pkg}.${r.kind}`;
    }
    const fields = shapes[r.group === '' ? r.resource : `${r.group}/${r.resource}`] ?? {};
    const type = kindType(r.group, r.version, r.kind);
    const properties: Record<string, SchemaV2> = {
      apiVersion: {
        type: 'string',
        description: fieldDescription(type, 'apiVersion') ?? 'The versioned schema of this object.',
      },
      kind: { type: 'string', description: fieldDescription(type, 'kind') ?? 'The kind of this object.' },
      metadata: {
        ...this.schema(objectMeta, undefined, fieldType(type, 'metadata')),
        description: fieldDescription(type, 'metadata') ?? "Standard object's metadata.",
      },
    };
    for (const [field, shape] of Object.entries(fields)) {
      const subName =
        field === 'spec' || field === 'status' ? `${pkg}.${r.kind}${field === 'spec' ? 'Spec' : 'Status'}` : undefined;
      const schema = this.schema(shape, subName, fieldType(type, field));
      const description = fieldDescription(type, field);
      properties[field] = description === undefined ? schema : { ...schema, description };
    }
    for (const field of Object.keys(type === undefined ? {} : (upstreamModelFields(type) ?? {})))
      properties[field] ??= {};
    // A kind whose spec bosun does not check still has one; its fields are not described.
    if (!('spec' in fields)) properties.spec = { type: 'object' };
    const name = `${pkg}.${r.kind}`;
    this.definitions[name] = {
      type: 'object',
      description:
        typeDescription(type) ?? `${r.kind} (${r.group === '' ? 'core' : r.group}/${r.version}), served by bosun.`,
      properties,
      'x-kubernetes-group-version-kind': [{ group: r.group, version: r.version, kind: r.kind }],
    };
    return name;
  }
}

function groupVersionPath(group: string, version: string): string {
  return group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
}

/**
 * The write operations per kind, each with its group/version/kind and the `fieldValidation` query
 * parameter: kubectl looks for that parameter to learn the server validates fields itself.
 */
function pathsOf(r: ResourceInfo, definition: string): Record<string, Record<string, SchemaV2>> {
  const collection = `${groupVersionPath(r.group, r.version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.resource}`;
  const operation = (action: string, verb: string): SchemaV2 => ({
    operationId: `${verb}${r.group === '' ? 'Core' : ''}${r.kind}`,
    parameters: [
      { name: 'fieldValidation', in: 'query', type: 'string', uniqueItems: true },
      { name: 'fieldManager', in: 'query', type: 'string', uniqueItems: true },
    ],
    responses: { '200': { description: 'OK', schema: { $ref: `#/definitions/${definition}` } } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind },
  });
  return {
    [collection]: { post: operation('post', 'create') },
    [`${collection}/{name}`]: { put: operation('put', 'replace'), patch: operation('patch', 'patch') },
  };
}

export function openApiV2Document(version: string): OpenApiV2Document {
  const builder = new DefinitionBuilder();
  const paths: Record<string, Record<string, SchemaV2>> = {};
  for (const g of groups()) {
    for (const r of g.resources) Object.assign(paths, pathsOf(r, builder.kind(r)));
  }
  const sorted = Object.fromEntries(Object.entries(builder.definitions).sort(([a], [b]) => a.localeCompare(b)));
  return { swagger: '2.0', info: { title: 'Kubernetes', version }, paths, definitions: sorted };
}
