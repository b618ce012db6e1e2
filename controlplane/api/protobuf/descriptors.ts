/**
 * The Kubernetes protobuf schema (schema/*.proto, compiled to schema/kubernetes.json) as protobufjs
 * reflection, built once per process on first use, and the lookup from an object's apiVersion and
 * kind to its message.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as ProtobufLight from 'protobufjs/light.js';
import { maxJsonDepth } from '../limits.ts';

const protobuf = createRequire(import.meta.url)('protobufjs/dist/light/protobuf.min.js') as typeof ProtobufLight;

/**
 * How deep messages may nest, encoding and decoding. protobufjs stops at 100, which a
 * CustomResourceDefinition's schema (a message holding itself) passes long before a JSON body
 * reaches its own limit: a definition stored from JSON must be served in protobuf as well, and
 * accepted in protobuf as deep as in JSON. Deeper bodies are refused as malformed (400).
 */
const maxMessageDepth = maxJsonDepth + 100;
(protobuf.util as unknown as { recursionLimit: number }).recursionLimit = maxMessageDepth;
(protobuf.Reader as unknown as { recursionLimit: number }).recursionLimit = maxMessageDepth;

export type MessageType = ProtobufLight.Type;

let root: ProtobufLight.Root | undefined;

function schemaRoot(): ProtobufLight.Root {
  if (root === undefined) {
    root = protobuf.Root.fromJSON(
      JSON.parse(
        readFileSync(new URL('./schema/kubernetes.json', import.meta.url), 'utf8'),
      ) as ProtobufLight.INamespace,
    );
    root.resolveAll();
  }
  return root;
}

/** A message by its full name, e.g. 'k8s.io.apimachinery.pkg.runtime.Unknown'. */
export function messageNamed(fullName: string): MessageType {
  return schemaRoot().lookupType(fullName);
}

/**
 * The schema's package of each API group it holds (the package's last part is the version). Only
 * these groups: a custom resource's group may share a first label with one of them
 * (apps.example.com) and must never be read with a built-in kind's schema.
 */
const packagesByGroup: Readonly<Record<string, string>> = {
  '': 'k8s.io.api.core',
  apps: 'k8s.io.api.apps',
  batch: 'k8s.io.api.batch',
  autoscaling: 'k8s.io.api.autoscaling',
  policy: 'k8s.io.api.policy',
  'coordination.k8s.io': 'k8s.io.api.coordination',
  'scheduling.k8s.io': 'k8s.io.api.scheduling',
  'discovery.k8s.io': 'k8s.io.api.discovery',
  'networking.k8s.io': 'k8s.io.api.networking',
  'events.k8s.io': 'k8s.io.api.events',
  'rbac.authorization.k8s.io': 'k8s.io.api.rbac',
  'certificates.k8s.io': 'k8s.io.api.certificates',
  'storage.k8s.io': 'k8s.io.api.storage',
  'authentication.k8s.io': 'k8s.io.api.authentication',
  'authorization.k8s.io': 'k8s.io.api.authorization',
  'admissionregistration.k8s.io': 'k8s.io.api.admissionregistration',
  'apiregistration.k8s.io': 'k8s.io.kube_aggregator.pkg.apis.apiregistration',
  'apiextensions.k8s.io': 'k8s.io.apiextensions_apiserver.pkg.apis.apiextensions',
  'metrics.k8s.io': 'k8s.io.metrics.pkg.apis.metrics',
  'meta.k8s.io': 'k8s.io.apimachinery.pkg.apis.meta',
};

function packageOf(apiVersion: string): string | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash === -1 ? '' : apiVersion.slice(0, slash);
  const version = slash === -1 ? apiVersion : apiVersion.slice(slash + 1);
  const base = Object.hasOwn(packagesByGroup, group) ? packagesByGroup[group] : undefined;
  return base === undefined ? undefined : `${base}.${version}`;
}

/**
 * Kinds of meta/v1 that every group version also carries: a delete's or an error's Status, and the
 * DeleteOptions body client-go's typed clients send with a DELETE (in protobuf when they speak it).
 */
const sharedMetaKinds = new Set(['Status', 'DeleteOptions']);

/** The message of a top-level object, or undefined when this server has no schema for it. */
export function messageForKind(apiVersion: string, kind: string): MessageType | undefined {
  if (!/^[A-Z]\w*$/.test(kind) || !/^([a-z0-9.-]+\/)?v\w+$/.test(apiVersion)) return undefined;
  const packageName = packageOf(apiVersion);
  if (packageName === undefined) return undefined;
  const found = schemaRoot().lookup(`${sharedMetaKinds.has(kind) ? packageOf('meta.k8s.io/v1') : packageName}.${kind}`);
  return found instanceof protobuf.Type ? found : undefined;
}
