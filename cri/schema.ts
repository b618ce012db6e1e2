/**
 * The CRI v1 schema, read once per process from the prebuilt descriptor (proto/runtime_v1.json,
 * compiled from proto/runtime_v1.proto), and the encoder/decoder of each RPC built from it.
 *
 * The listing calls (`bosun cri ps`, `pods`, `images`, `version`) use wire-codec.ts, which reads
 * the descriptor directly; every other call uses protobufjs reflection objects. protobufjs
 * generates code per message type on first use, which cost a quarter of a `bosun cri ps` run.
 *
 * protobufjs is loaded on first use, from its single-file bundle: the same code as
 * 'protobufjs/light.js', but one file instead of about 45, which takes ~8 ms instead of ~30 ms.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as ProtobufLight from 'protobufjs/light.js';
import { supports, wireCodec, type DescriptorType } from './wire-codec.ts';

let protobufModule: typeof ProtobufLight | undefined;
const loadProtobuf = (): typeof ProtobufLight => {
  protobufModule ??= createRequire(import.meta.url)('protobufjs/dist/light/protobuf.min.js') as typeof ProtobufLight;
  return protobufModule;
};

interface TypeJSON extends DescriptorType {
  fields?: Record<string, { type: string; id: number; rule?: string; keyType?: string }>;
  nested?: Record<string, TypeJSON>;
  methods?: Record<string, { requestType: string; responseType: string }>;
}

let descriptor: Record<string, TypeJSON> | undefined;

/** The runtime.v1 namespace of the descriptor: plain JSON, cheap to read. */
function v1(): Record<string, TypeJSON> {
  descriptor ??= (
    JSON.parse(readFileSync(new URL('./proto/runtime_v1.json', import.meta.url), 'utf8')) as {
      nested: { runtime: { nested: { v1: { nested: Record<string, TypeJSON> } } } };
    }
  ).nested.runtime.nested.v1.nested;
  return descriptor;
}

/**
 * The named types and every type they reference, transitively. Building protobufjs reflection for
 * all ~160 CRI types costs tens of milliseconds; a call needs a handful, so each gets a small
 * root of its own. (Nested types, like SecurityProfile.ProfileType, travel inside their parent.)
 */
function closureOf(names: readonly string[]): Record<string, TypeJSON> {
  const all = v1();
  const picked: Record<string, TypeJSON> = {};
  const visit = (name: string): void => {
    const top = name.split('.')[0]!;
    const type = all[top];
    if (type === undefined || picked[top] !== undefined) return;
    picked[top] = type;
    const walk = (t: TypeJSON): void => {
      for (const field of Object.values(t.fields ?? {})) if (!t.nested?.[field.type]) visit(field.type);
      for (const inner of Object.values(t.nested ?? {})) walk(inner);
    };
    walk(type);
  };
  for (const name of names) visit(name);
  return picked;
}

function rootFor(names: readonly string[]): ProtobufLight.Root {
  return loadProtobuf().Root.fromJSON({ nested: { runtime: { nested: { v1: { nested: closureOf(names) } } } } });
}

/** How decoded messages are turned into plain objects; see types.ts for why. */
const toObjectOptions: ProtobufLight.IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
};

export interface Codec<Req, Res> {
  /** '/runtime.v1.RuntimeService/ListContainers' */
  readonly path: string;
  serialize(request: Req): Buffer;
  deserialize(bytes: Buffer): Res;
}

type Service = 'RuntimeService' | 'ImageService';

/** The calls of `bosun cri ps`, `pods`, `images` and `version`, which wire-codec.ts carries. */
export const listingMethods: readonly string[] = ['ListContainers', 'ListPodSandbox', 'ListImages', 'Version'];

function rpcOf(service: Service, method: string): { requestType: string; responseType: string } {
  const rpc = v1()[service]?.methods?.[method];
  if (rpc === undefined) throw new Error(`runtime.v1.${service} has no method ${method}`);
  return rpc;
}

/** Encoder/decoder pair of one RPC, e.g. codecFor('RuntimeService', 'ListContainers'). */
export function codecFor<Req, Res>(service: Service, method: string): Codec<Req, Res> {
  const rpc = rpcOf(service, method);
  const types = v1();
  if (!listingMethods.includes(method) || !supports(types, rpc.requestType) || !supports(types, rpc.responseType)) {
    return protobufjsCodecFor(service, method);
  }
  const request = wireCodec(types, rpc.requestType);
  const response = wireCodec(types, rpc.responseType);
  return {
    path: `/runtime.v1.${service}/${method}`,
    serialize: (value: Req) => request.encode(value as object),
    deserialize: (bytes: Buffer) => response.decode(bytes) as Res,
  };
}

/** The same pair built with protobufjs, whatever the call (the listing calls' tests compare the two). */
export function protobufjsCodecFor<Req, Res>(service: Service, method: string): Codec<Req, Res> {
  const rpc = rpcOf(service, method);
  const root = rootFor([rpc.requestType, rpc.responseType]);
  const requestType = root.lookupType(`runtime.v1.${rpc.requestType}`);
  const responseType = root.lookupType(`runtime.v1.${rpc.responseType}`);
  return {
    path: `/runtime.v1.${service}/${method}`,
    serialize(request: Req): Buffer {
      const message = requestType.fromObject(request as Record<string, unknown>);
      return Buffer.from(requestType.encode(message).finish());
    },
    deserialize(bytes: Buffer): Res {
      return withoutNulls(responseType.toObject(responseType.decode(bytes), toObjectOptions)) as Res;
    },
  };
}

/** protobufjs marks absent nested messages as null; we leave them out instead (`field?: T`). */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) {
    for (const item of value) withoutNulls(item);
  } else if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (record[key] === null) delete record[key];
      else withoutNulls(record[key]);
    }
  }
  return value;
}

/** The message type of a fully qualified name, e.g. 'runtime.v1.PodSandboxConfig' (used by tests and config loading). */
export function messageType(name: string): ProtobufLight.Type {
  return rootFor([name.replace(/^runtime\.v1\./, '')]).lookupType(name);
}
