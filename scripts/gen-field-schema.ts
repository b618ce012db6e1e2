/**
 * Writes controlplane/api/field-schema.json: every field name of every kind the API serves, and
 * of the types inside them, from the generated Kubernetes models in @kubernetes/client-node (made
 * from the upstream OpenAPI document). The API server reads it to find unknown fields
 * (fieldValidation). Beside it, field-descriptions.json: the API documentation of each of those
 * types and fields, as the upstream document gives it (the models carry it as doc comments), which
 * the OpenAPI documents serve so that `kubectl explain` prints it. Run again after upgrading
 * @kubernetes/client-node:
 *
 *   node scripts/gen-field-schema.ts
 *
 * In the file a field's type is "" (a scalar), "*" (anything: kept as sent), a type name,
 * "[]<type>" (a list of it) or "{}<type>" (a map of it).
 */
import * as models from '@kubernetes/client-node';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { resources } from '../controlplane/api/resources.ts';

type AttributeMap = readonly { readonly name: string; readonly baseName: string; readonly type: string }[];
type Model = { getAttributeTypeMap?: () => AttributeMap };
const byName = models as unknown as Record<string, Model | undefined>;

/** Model names that do not follow V1<Kind>. */
const special: Record<string, string> = {
  '/v1/Event': 'CoreV1Event',
  'events.k8s.io/v1/Event': 'EventsV1Event',
  'authentication.k8s.io/v1/TokenRequest': 'AuthenticationV1TokenRequest',
  'autoscaling/v2/HorizontalPodAutoscaler': 'V2HorizontalPodAutoscaler',
};

function fieldType(type: string): string {
  if (type.startsWith('Array<')) return `[]${fieldType(type.slice(6, -1))}`;
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return `{}${fieldType(map[1]!)}`;
  if (type === 'any' || type === 'object') return '*';
  return byName[type]?.getAttributeTypeMap ? type : '';
}

const types: Record<string, Record<string, string>> = {};
function visit(name: string): void {
  if (types[name] !== undefined) return;
  const attributes = byName[name]?.getAttributeTypeMap?.();
  if (!attributes) throw new Error(`no model ${name} in @kubernetes/client-node`);
  const fields: Record<string, string> = {};
  types[name] = fields;
  for (const a of attributes) fields[a.baseName] = fieldType(a.type);
  for (const t of Object.values(fields)) {
    const inner = t.replace(/^(\[\]|\{\})+/, '');
    if (inner !== '' && inner !== '*') visit(inner);
  }
}

const kinds: Record<string, string> = {};
const roots = [
  ...resources.map((r) => ({ group: r.group, version: r.version, kind: r.kind })),
  { group: '', version: 'v1', kind: 'Binding' },
  { group: 'policy', version: 'v1', kind: 'Eviction' },
  { group: 'autoscaling', version: 'v1', kind: 'Scale' },
];
for (const r of roots) {
  const key = `${r.group}/${r.version}/${r.kind}`;
  const model = special[key] ?? `V1${r.kind}`;
  if (!byName[model]?.getAttributeTypeMap) {
    process.stderr.write(`skipping ${key}: no model ${model}\n`);
    continue;
  }
  kinds[key] = model;
  visit(model);
}

const out = new URL('../controlplane/api/field-schema.json', import.meta.url);
writeFileSync(out, `${JSON.stringify({ source: '@kubernetes/client-node models', kinds, types }, null, 0)}\n`);
process.stdout.write(`${Object.keys(kinds).length} kinds, ${Object.keys(types).length} types -> ${out.pathname}\n`);

/** The models' declaration files keep each schema's description as the doc comment above it. */
const modelsDir = join(dirname(createRequire(import.meta.url).resolve('@kubernetes/client-node')), 'gen', 'models');

/** The text of a doc comment: its lines without the leading `*`, with the generator's escapes undone. */
function commentText(comment: string): string {
  return comment
    .split('\n')
    .map((line) => line.replace(/^\s*\*\s?/, '').trim())
    .filter((line) => line !== '')
    .join('\n')
    .replace(/\\(['"\\])/g, '$1');
}

/** "" is the type's own description; every other key is a field's JSON name. */
function descriptionsOf(model: string): Record<string, string> {
  const source = readFileSync(join(modelsDir, `${model}.d.ts`), 'utf8');
  const described: Record<string, string> = {};
  const own = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export declare class /.exec(source);
  if (own) described[''] = commentText(own[1]!);
  const jsonName = new Map((byName[model]?.getAttributeTypeMap?.() ?? []).map((a) => [a.name, a.baseName]));
  for (const match of source.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*'([^']+)'\??:/g)) {
    const field = jsonName.get(match[2]!);
    if (field !== undefined) described[field] = commentText(match[1]!);
  }
  return described;
}

const descriptions = Object.fromEntries(
  Object.keys(types)
    .sort()
    .map((model) => [model, descriptionsOf(model)]),
);
const descriptionsOut = new URL('../controlplane/api/field-descriptions.json', import.meta.url);
writeFileSync(
  descriptionsOut,
  `${JSON.stringify({ source: '@kubernetes/client-node models', types: descriptions }, null, 0)}\n`,
);
process.stdout.write(`descriptions of ${Object.keys(descriptions).length} types -> ${descriptionsOut.pathname}\n`);
