/**
 * Upstream's rules for a CustomResourceDefinition (apiextensions validation), in our words: the
 * name is `<plural>.<group>`, the group a domain with a dot, the scope one of two, versions
 * DNS-1035 labels with exactly one storage version, names well formed, and every version's schema
 * structural (a type at every level, an object at the root, properties or additionalProperties
 * but not both, no uniqueItems) with defaults that pass their own schema and CEL rules that
 * compile, at a cost within budget on the largest object the schema allows. Printer columns, scale
 * paths and webhook conversions are checked for what they need. On update, group and plural never
 * change; scope and kind not once established; stored versions stay among the versions.
 */
import { dns1035Label, dns1123Subdomain } from '../../kube/name-formats.ts';
import { FieldErrors } from '../validation/field-errors.ts';
import { type Any, isObject } from '../validation/fields.ts';
import { isEstablished, type Crd } from './crd.ts';
import { expensiveRules } from './rule-cost.ts';
import { compileRules, type RuleCompileError } from './schema-cel.ts';
import { isPlainRecord, type JsonSchema } from './schema-types.ts';
import { validateAgainstSchema } from './schema-validate.ts';
import { compileRe2 } from '../validation/re2-pattern.ts';

const listTypes = ['atomic', 'set', 'map'];

/** metadata.name must be the plural and group joined (checked beside the generic name rules). */
function validateCrdName(errors: FieldErrors, crd: Any): void {
  const spec = isObject(crd.spec) ? crd.spec : {};
  const names = isObject(spec.names) ? spec.names : {};
  const wanted = `${names.plural ?? ''}.${spec.group ?? ''}`;
  if (isObject(crd.metadata) && typeof crd.metadata.name === 'string' && crd.metadata.name !== wanted)
    errors.invalid('metadata.name', crd.metadata.name, 'must be spec.names.plural+"."+spec.group');
}

export function validateCrd(errors: FieldErrors, crd: Any, old: Any | undefined): void {
  validateCrdName(errors, crd);
  const spec = isObject(crd.spec) ? crd.spec : undefined;
  if (spec === undefined) {
    errors.required('spec', '');
    return;
  }
  validateGroup(errors, spec.group);
  if (spec.scope === undefined || spec.scope === '') errors.required('spec.scope', '');
  else if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster')
    errors.notSupported('spec.scope', spec.scope, ['Cluster', 'Namespaced']);
  validateNames(errors, 'spec.names', isObject(spec.names) ? spec.names : {}, true);
  validateVersions(errors, Array.isArray(spec.versions) ? spec.versions : []);
  if (spec.preserveUnknownFields === true)
    errors.invalid(
      'spec.preserveUnknownFields',
      true,
      'cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead',
    );
  validateConversion(errors, isObject(spec.conversion) ? spec.conversion : {});
  if (old !== undefined) validateUpdate(errors, crd, old);
}

/** A webhook conversion names its webhook (by URL or service) and the review versions it speaks. */
function validateConversion(errors: FieldErrors, conversion: Any): void {
  const strategy = conversion.strategy;
  if (strategy !== undefined && strategy !== 'None' && strategy !== 'Webhook') {
    errors.notSupported('spec.conversion.strategy', strategy, ['None', 'Webhook']);
    return;
  }
  const webhook = isObject(conversion.webhook) ? conversion.webhook : undefined;
  if (strategy !== 'Webhook') {
    if (webhook !== undefined) errors.forbidden('spec.conversion.webhook', 'should be empty when strategy is None');
    return;
  }
  if (webhook === undefined) {
    errors.required('spec.conversion.webhook', 'required when strategy is set to Webhook');
    return;
  }
  const reviews = Array.isArray(webhook.conversionReviewVersions) ? webhook.conversionReviewVersions : [];
  if (!reviews.some((v: unknown) => v === 'v1' || v === 'v1beta1'))
    errors.required('spec.conversion.webhook.conversionReviewVersions', 'must include at least one of v1, v1beta1');
  const client = isObject(webhook.clientConfig) ? webhook.clientConfig : {};
  if ((client.url !== undefined) === (client.service !== undefined))
    errors.required('spec.conversion.webhook.clientConfig', 'exactly one of url or service is required');
}

function validateGroup(errors: FieldErrors, group: unknown): void {
  if (typeof group !== 'string' || group === '') {
    errors.required('spec.group', '');
    return;
  }
  const problems = dns1123Subdomain(group);
  if (problems.length > 0) errors.invalid('spec.group', group, problems.join(','));
  else if (group.split('.').length < 2) errors.invalid('spec.group', group, 'should be a domain with at least one dot');
}

function validateNames(errors: FieldErrors, path: string, names: Any, requireAll: boolean): void {
  if (requireAll) {
    for (const field of ['plural', 'singular', 'kind', 'listKind']) {
      // singular and listKind are defaulted from kind before validation
      if (field === 'singular' || field === 'listKind') continue;
      if (typeof names[field] !== 'string' || names[field] === '') errors.required(`${path}.${field}`, '');
    }
  }
  for (const field of ['plural', 'singular']) {
    const value = names[field];
    if (typeof value === 'string' && value !== '') {
      const problems = dns1035Label(value);
      if (problems.length > 0) errors.invalid(`${path}.${field}`, value, problems.join(','));
    }
  }
  for (const field of ['kind', 'listKind']) {
    const value = names[field];
    if (typeof value === 'string' && value !== '') {
      const problems = dns1035Label(value.toLowerCase());
      if (problems.length > 0)
        errors.invalid(
          `${path}.${field}`,
          value,
          `may have mixed case, but should otherwise match: ${problems.join(',')}`,
        );
    }
  }
  for (const field of ['shortNames', 'categories']) {
    const list = Array.isArray(names[field]) ? (names[field] as unknown[]) : [];
    list.forEach((value, i) => {
      const problems = typeof value === 'string' ? dns1035Label(value) : ['must be a string'];
      if (problems.length > 0) errors.invalid(`${path}.${field}[${i}]`, value, problems.join(','));
    });
  }
  if (typeof names.kind === 'string' && names.kind !== '' && names.kind === names.listKind)
    errors.invalid(`${path}.listKind`, names.listKind, 'kind and listKind may not be the same');
}

function validateVersions(errors: FieldErrors, versions: unknown[]): void {
  if (versions.length === 0) {
    errors.required('spec.versions', 'must have exactly one version marked as storage version');
    return;
  }
  const seen = new Set<string>();
  let storage = 0;
  let unique = true;
  versions.forEach((raw, i) => {
    const path = `spec.versions[${i}]`;
    const version = isObject(raw) ? raw : {};
    if (version.storage === true) storage++;
    const name = version.name;
    if (typeof name !== 'string' || name === '') errors.required(`${path}.name`, '');
    else {
      if (seen.has(name)) unique = false;
      seen.add(name);
      const problems = dns1035Label(name);
      if (problems.length > 0) errors.invalid(`${path}.name`, name, problems.join(','));
    }
    if (version.storage === true && version.served !== true && version.served !== false)
      errors.required(`${path}.served`, '');
    const schema = isObject(version.schema) ? version.schema.openAPIV3Schema : undefined;
    if (!isPlainRecord(schema)) errors.required(`${path}.schema.openAPIV3Schema`, 'schemas are required');
    else validateStructuralRoot(errors, `${path}.schema.openAPIV3Schema`, schema as JsonSchema);
    const columns = Array.isArray(version.additionalPrinterColumns) ? version.additionalPrinterColumns : [];
    columns.forEach((column: unknown, c: number) =>
      validatePrinterColumn(errors, `${path}.additionalPrinterColumns[${c}]`, column),
    );
    const scale =
      isObject(version.subresources) && isObject(version.subresources.scale) ? version.subresources.scale : undefined;
    if (scale !== undefined) {
      for (const field of ['specReplicasPath', 'statusReplicasPath']) {
        const value = scale[field];
        if (typeof value !== 'string' || value === '') errors.required(`${path}.subresources.scale.${field}`, '');
        else if (!value.startsWith('.'))
          errors.invalid(`${path}.subresources.scale.${field}`, value, 'should be a json path under .spec or .status');
      }
    }
  });
  if (!unique) errors.invalid('spec.versions', versions, 'must contain unique version names');
  if (storage !== 1)
    errors.invalid('spec.versions', versions, 'must have exactly one version marked as storage version');
}

function validatePrinterColumn(errors: FieldErrors, path: string, raw: unknown): void {
  const column = isObject(raw) ? raw : {};
  if (typeof column.name !== 'string' || column.name === '') errors.required(`${path}.name`, '');
  const types = ['integer', 'number', 'string', 'boolean', 'date'];
  if (typeof column.type !== 'string' || column.type === '') errors.required(`${path}.type`, '');
  else if (!types.includes(column.type)) errors.notSupported(`${path}.type`, column.type, types);
  if (typeof column.jsonPath !== 'string' || column.jsonPath === '') errors.required(`${path}.JSONPath`, '');
}

/** The root of a version's schema: an object, whose metadata may only restrict name and generateName. */
function validateStructuralRoot(errors: FieldErrors, path: string, schema: JsonSchema): void {
  if (schema.type !== 'object') errors.invalid(`${path}.type`, schema.type ?? '', 'must be object at the root');
  const metadata = schema.properties?.metadata;
  if (metadata !== undefined) {
    if (metadata.type !== undefined && metadata.type !== 'object')
      errors.invalid(`${path}.properties[metadata].type`, metadata.type, 'must be object');
    for (const key of Object.keys(metadata.properties ?? {})) {
      if (key !== 'name' && key !== 'generateName')
        errors.forbidden(`${path}.properties[metadata].properties[${key}]`, 'must not be specified');
    }
  }
  validateStructural(errors, path, schema, true);
  validatePatterns(errors, path, schema);
  const problems: RuleCompileError[] = [];
  const rules = compileRules(schema, path, problems);
  for (const problem of problems) errors.invalid(problem.path, problem.value, problem.message);
  if (rules !== undefined)
    for (const problem of expensiveRules(rules, path)) errors.forbidden(problem.path, problem.message);
}

/** Structural schema rules (upstream's structural/validation.go), every node below the root. */
function validateStructural(errors: FieldErrors, path: string, schema: JsonSchema, atRoot: boolean): void {
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (schema.type === undefined && !intOrString && !preserve && !atRoot)
    errors.required(`${path}.type`, 'must not be empty for specified object fields');
  if (intOrString && schema.type !== undefined)
    errors.invalid(`${path}.type`, schema.type, 'must be empty to be structural');
  if (schema['x-kubernetes-preserve-unknown-fields'] === false)
    errors.invalid(`${path}.x-kubernetes-preserve-unknown-fields`, false, 'must be true or undefined');
  if (schema['x-kubernetes-embedded-resource'] === true && schema.type !== 'object')
    errors.invalid(`${path}.type`, schema.type ?? '', 'must be object if x-kubernetes-embedded-resource is true');
  if (schema.uniqueItems === true)
    errors.forbidden(
      `${path}.uniqueItems`,
      'uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
    );
  if (
    schema.properties !== undefined &&
    schema.additionalProperties !== undefined &&
    schema.additionalProperties !== true
  )
    errors.forbidden(`${path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive');
  if (schema.type === 'array' && schema.items === undefined) errors.required(`${path}.items`, 'must be specified');
  const listType = schema['x-kubernetes-list-type'];
  if (listType !== undefined) {
    if (!listTypes.includes(listType)) errors.notSupported(`${path}.x-kubernetes-list-type`, listType, listTypes);
    else if (schema.type !== 'array')
      errors.invalid(`${path}.x-kubernetes-list-type`, listType, 'must only be used on type array');
  }
  if (listType === 'map' && (schema['x-kubernetes-list-map-keys'] ?? []).length === 0)
    errors.required(`${path}.x-kubernetes-list-map-keys`, 'must not be empty if x-kubernetes-list-type is map');
  if (schema.default !== undefined && !atRoot) {
    const problems = new FieldErrors();
    validateAgainstSchema(problems, 'default', schema.default, schema);
    for (const cause of problems.causes) errors.invalid(`${path}.default`, schema.default, cause.message ?? '');
  }
  for (const [key, child] of Object.entries(schema.properties ?? {}))
    validateStructural(errors, `${path}.properties[${key}]`, child, false);
  if (typeof schema.additionalProperties === 'object')
    validateStructural(errors, `${path}.additionalProperties`, schema.additionalProperties, false);
  if (schema.items !== undefined) validateStructural(errors, `${path}.items`, schema.items, false);
}

/**
 * Every `pattern` in the schema, under properties, items and the logic junctors alike, must be a
 * regular expression RE2 can compile (upstream compiles them with Go's regexp): a backreference or
 * a lookahead is refused here, when the definition is written, rather than on every object.
 */
function validatePatterns(errors: FieldErrors, path: string, schema: JsonSchema): void {
  if (typeof schema.pattern === 'string' && schema.pattern !== '') {
    const compiled = compileRe2(schema.pattern);
    if (!compiled.ok)
      errors.invalid(
        `${path}.pattern`,
        schema.pattern,
        `must be a valid regular expression, but isn't: ${compiled.error}`,
      );
  }
  const below = (child: unknown, at: string) => {
    if (isPlainRecord(child)) validatePatterns(errors, at, child as JsonSchema);
  };
  for (const [key, child] of Object.entries(schema.properties ?? {})) below(child, `${path}.properties[${key}]`);
  below(schema.additionalProperties, `${path}.additionalProperties`);
  below(schema.items, `${path}.items`);
  for (const junctor of ['allOf', 'anyOf', 'oneOf'] as const)
    (schema[junctor] ?? []).forEach((child, i) => below(child, `${path}.${junctor}[${i}]`));
  below(schema.not, `${path}.not`);
}

function validateUpdate(errors: FieldErrors, crd: Any, old: Any): void {
  const spec = crd.spec as Any;
  const oldSpec = (old.spec ?? {}) as Any;
  const immutable = (path: string, now: unknown, before: unknown) => {
    if (now !== before) errors.invalid(path, now, 'field is immutable');
  };
  immutable('spec.group', spec.group, oldSpec.group);
  immutable('spec.names.plural', spec.names?.plural, oldSpec.names?.plural);
  if (isEstablished(old as Crd)) {
    immutable('spec.scope', spec.scope, oldSpec.scope);
    immutable('spec.names.kind', spec.names?.kind, oldSpec.names?.kind);
  }
  const stored: unknown[] = Array.isArray(crd.status?.storedVersions) ? crd.status.storedVersions : [];
  const versions = new Set((Array.isArray(spec.versions) ? spec.versions : []).map((v: Any) => v?.name));
  stored.forEach((name, i) => {
    if (!versions.has(name)) errors.invalid(`status.storedVersions[${i}]`, name, 'must appear in spec.versions');
  });
}
