/**
 * Pod and container configs from files, as crictl reads them for runp/create: JSON or YAML, field
 * names in the proto's snake_case (what crictl's examples use) or in camelCase. Unknown fields are
 * refused with their path, rather than silently dropped as protobuf parsing would.
 */
import yaml from 'js-yaml';
import type protobuf from 'protobufjs/light.js';
import { messageType } from './schema.ts';
import { CriInvalidArgumentError } from './errors.ts';
import type { ContainerConfig, PodSandboxConfig } from './types.ts';

function camelCase(name: string): string {
  return name.replace(/_([a-zA-Z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/** Converts keys to the schema's names, checking each against `type`; map keys stay as written. */
function normalize(value: unknown, type: protobuf.Type, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CriInvalidArgumentError(`${path || 'the config'} must be an object`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    const field =
      type.fields[key] ?? type.fields[camelCase(key)] ?? (key === 'CDI_devices' ? type.fields.CDIDevices : undefined);
    const where = path ? `${path}.${key}` : key;
    if (!field) throw new CriInvalidArgumentError(`unknown field "${where}"`);
    field.resolve();
    const child = field.resolvedType;
    if (child && 'values' in child && !field.map) {
      const known = (v: unknown) =>
        (typeof v === 'number' && Object.values(child.values).includes(v)) ||
        (typeof v === 'string' && v in child.values);
      const items = field.repeated && Array.isArray(inner) ? inner : [inner];
      const bad = items.find((v) => !known(v));
      if (bad !== undefined) {
        throw new CriInvalidArgumentError(
          `${where}: "${String(bad)}" is not one of ${Object.keys(child.values).join(', ')}`,
        );
      }
      out[field.name] = inner;
    } else if (field.map || !child || !('fields' in child) || inner === null) {
      out[field.name] = inner;
    } else if (field.repeated) {
      if (!Array.isArray(inner)) throw new CriInvalidArgumentError(`${where} must be a list`);
      out[field.name] = inner.map((item, i) => normalize(item, child as protobuf.Type, `${where}[${i}]`));
    } else {
      out[field.name] = normalize(inner, child as protobuf.Type, where);
    }
  }
  return out;
}

/** Parses JSON or YAML text (JSON is YAML) into a plain object of the given CRI message type. */
function parseConfig<T>(text: string, typeName: 'PodSandboxConfig' | 'ContainerConfig', source: string): T {
  let data: unknown;
  try {
    data = yaml.load(text, { filename: source });
  } catch (err) {
    throw new CriInvalidArgumentError(`${source} is neither JSON nor YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const type = messageType(`runtime.v1.${typeName}`);
  let normalized: Record<string, unknown>;
  try {
    normalized = normalize(data, type, '');
  } catch (err) {
    throw new CriInvalidArgumentError(`${source}: ${(err as Error).message}`);
  }
  // Round-trip through the schema so enums given as numbers or names come out one way.
  try {
    return type.toObject(type.fromObject(normalized), { enums: String, longs: Number }) as T;
  } catch (err) {
    throw new CriInvalidArgumentError(`${source}: ${(err as Error).message}`);
  }
}

export function parsePodConfig(text: string, source: string): PodSandboxConfig {
  const config = parseConfig<PodSandboxConfig>(text, 'PodSandboxConfig', source);
  if (!config.metadata?.name || !config.metadata.namespace || !config.metadata.uid) {
    throw new CriInvalidArgumentError(`${source}: metadata needs name, namespace and uid`);
  }
  return config;
}

export function parseContainerConfig(text: string, source: string): ContainerConfig {
  const config = parseConfig<ContainerConfig>(text, 'ContainerConfig', source);
  if (!config.metadata?.name) throw new CriInvalidArgumentError(`${source}: metadata needs a name`);
  if (!config.image?.image) throw new CriInvalidArgumentError(`${source}: image.image is required`);
  return config;
}
