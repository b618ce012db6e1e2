/**
 * The Kubernetes protobuf schema (schema/*.proto, compiled to schema/kubernetes.json) as protobufjs
 * reflection, built once per process on first use, and the lookup from an object's apiVersion and
 * kind to its message.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as ProtobufLight from 'protobufjs/light.js';

const protobuf = createRequire(import.meta.url)('protobufjs/dist/light/protobuf.min.js') as typeof ProtobufLight;

export type MessageType = ProtobufLight.Type;

let root: ProtobufLight.Root | undefined;

function schemaRoot(): ProtobufLight.Root {
  if (root === undefined) {
    root = protobuf.Root.fromJSON(JSON.parse(readFileSync(new URL('./schema/kubernetes.json', import.meta.url), 'utf8')) as ProtobufLight.INamespace);
    root.resolveAll();
  }
  return root;
}

/** A message by its full name, e.g. 'k8s.io.apimachinery.pkg.runtime.Unknown'. */
export function messageNamed(fullName: string): MessageType {
  return schemaRoot().lookupType(fullName);
}

/**
 * The package that holds a group/version's messages: the core group is k8s.io.api.core.v1, and
 * every other group is named by its first label ('rbac.authorization.k8s.io' → k8s.io.api.rbac.v1);
 * meta.k8s.io is apimachinery's meta/v1.
 */
function packageOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  const group = slash === -1 ? '' : apiVersion.slice(0, slash);
  const version = slash === -1 ? apiVersion : apiVersion.slice(slash + 1);
  if (group === 'meta.k8s.io') return `k8s.io.apimachinery.pkg.apis.meta.${version}`;
  return `k8s.io.api.${group === '' ? 'core' : group.split('.')[0]}.${version}`;
}

/** Kinds of meta/v1 that every group version also serves (a delete's or an error's Status). */
const sharedMetaKinds = new Set(['Status']);

/** The message of a top-level object, or undefined when this server has no schema for it. */
export function messageForKind(apiVersion: string, kind: string): MessageType | undefined {
  if (!/^[A-Z]\w*$/.test(kind) || !/^([a-z0-9.-]+\/)?v\w+$/.test(apiVersion)) return undefined;
  const packageName = sharedMetaKinds.has(kind) ? packageOf('meta.k8s.io/v1') : packageOf(apiVersion);
  const found = schemaRoot().lookup(`${packageName}.${kind}`);
  return found instanceof protobuf.Type ? found : undefined;
}
