/**
 * The listing calls' own codec (cri/wire-codec.ts) against protobufjs on the same messages: the
 * same bytes for every request, the same objects (key order included, so `-o json` prints the
 * same) for every response, including merged duplicates, unknown fields and malformed input.
 */
import test from 'ava';
import { codecFor, protobufjsCodecFor, messageType, listingMethods } from '../../cri/schema.ts';
import { supports, type DescriptorType } from '../../cri/wire-codec.ts';
import runtimeV1 from '../../cri/proto/runtime_v1.json' with { type: 'json' };

type Service = 'RuntimeService' | 'ImageService';

const types = (
  runtimeV1 as unknown as { nested: { runtime: { nested: { v1: { nested: Record<string, DescriptorType> } } } } }
).nested.runtime.nested.v1.nested;

/** protobufjs's own encoding of a response given as a plain object. */
function encodeWithProtobufjs(typeName: string, object: object): Buffer {
  const type = messageType(`runtime.v1.${typeName}`);
  return Buffer.from(type.encode(type.fromObject(object as Record<string, unknown>)).finish());
}

function responseType(service: Service, method: string): string {
  const methods = (types[service] as { methods: Record<string, { responseType: string }> }).methods;
  return methods[method]!.responseType;
}

const container = {
  id: 'c0ffee'.repeat(10),
  podSandboxId: 'beef'.repeat(16),
  metadata: { name: 'nginx', attempt: 4_000_000_000 },
  image: {
    image: 'sha256:' + 'ab'.repeat(32),
    annotations: { 'io.example/é': 'ünï©ødé 🚀', empty: '' },
    userSpecifiedImage: 'nginx:1.27',
    runtimeHandler: 'runc',
  },
  imageRef: 'docker.io/library/nginx@sha256:' + 'cd'.repeat(32),
  state: 'CONTAINER_EXITED',
  createdAt: 1_795_309_222_427_467_800,
  labels: { 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': 'shop', '0': 'digit key', __proto__x: 'p' },
  annotations: { 'io.kubernetes.container.hash': 'abc' },
  imageId: 'sha256:' + 'ef'.repeat(32),
};

const responses: Record<string, [Service, object[]]> = {
  ListContainers: [
    'RuntimeService',
    [
      { containers: [container, { id: 'bare' }, { ...container, state: 'CONTAINER_UNKNOWN', createdAt: -5 }] },
      { containers: [] },
      {},
    ],
  ],
  ListPodSandbox: [
    'RuntimeService',
    [
      {
        items: [
          {
            id: 'p1',
            metadata: { name: 'web', uid: 'u-1', namespace: 'shop', attempt: 1 },
            state: 'SANDBOX_NOTREADY',
            createdAt: 1_700_000_000_000_000_000,
            labels: { app: 'web' },
            annotations: { a: 'b' },
            runtimeHandler: 'kata',
          },
          { id: 'p2', metadata: {} },
        ],
      },
      {},
    ],
  ],
  ListImages: [
    'ImageService',
    [
      {
        images: [
          {
            id: 'sha256:' + '12'.repeat(32),
            repoTags: ['localhost/bosun/busybox:1.35', 'busybox:latest'],
            repoDigests: ['localhost/bosun/busybox@sha256:' + '34'.repeat(32)],
            size: 2 ** 53 - 1,
            uid: { value: -1 },
            username: 'nobody',
            spec: { image: 'busybox', annotations: { k: 'v' } },
            pinned: true,
            imageSource: 'local',
          },
          { id: 'x', uid: {}, size: 0 },
          { id: 'y', size: 2 ** 63 + 2 ** 12 },
        ],
      },
      {},
    ],
  ],
  Version: [
    'RuntimeService',
    [{ version: '0.1.0', runtimeName: 'containerd', runtimeVersion: '1.6.20', runtimeApiVersion: 'v1' }, {}],
  ],
};

test('every listing call is within the codec, so none falls back to protobufjs unnoticed', (t) => {
  t.deepEqual(Object.keys(responses).sort(), [...listingMethods].sort());
  for (const method of listingMethods) {
    const [service] = responses[method]!;
    const methods = (types[service] as { methods: Record<string, { requestType: string; responseType: string }> })
      .methods;
    t.true(supports(types, methods[method]!.requestType), method);
    t.true(supports(types, methods[method]!.responseType), method);
  }
  // and something outside it is recognised as such
  t.false(supports(types, 'ContainerConfig'));
  t.false(supports(types, 'ExecSyncResponse'));
});

test('responses decode to the objects protobufjs gives, key order included', (t) => {
  for (const [method, [service, samples]] of Object.entries(responses)) {
    const ours = codecFor<object, unknown>(service, method);
    const theirs = protobufjsCodecFor<object, unknown>(service, method);
    for (const sample of samples) {
      const bytes = encodeWithProtobufjs(responseType(service, method), sample);
      const expected = theirs.deserialize(bytes);
      const actual = ours.deserialize(bytes);
      t.is(JSON.stringify(actual), JSON.stringify(expected), `${method} ${JSON.stringify(sample).slice(0, 80)}`);
      t.deepEqual(actual, expected);
    }
  }
});

test('requests encode to the bytes protobufjs writes', (t) => {
  const requests: [Service, string, object][] = [
    ['RuntimeService', 'ListContainers', {}],
    ['RuntimeService', 'ListContainers', { filter: {} }],
    ['RuntimeService', 'ListContainers', { filter: { state: { state: 'CONTAINER_RUNNING' } } }],
    ['RuntimeService', 'ListContainers', { filter: { state: { state: 'CONTAINER_CREATED' }, id: '' } }],
    ['RuntimeService', 'ListContainers', { filter: { state: { state: 'NOT_A_STATE' } } }],
    ['RuntimeService', 'ListContainers', { filter: { state: { state: -3 } } }],
    [
      'RuntimeService',
      'ListContainers',
      { filter: { id: 'abc', podSandboxId: 'p', labelSelector: { a: 'b', 'ü/ñ': '🚀', e: '' } } },
    ],
    [
      'RuntimeService',
      'ListPodSandbox',
      { filter: { state: { state: 'SANDBOX_NOTREADY' }, labelSelector: { x: 'y' } } },
    ],
    ['ImageService', 'ListImages', { filter: { image: { image: 'busybox', annotations: { k: 'v' } } } }],
    ['RuntimeService', 'Version', { version: 'v1' }],
  ];
  for (const [service, method, request] of requests) {
    const ours = codecFor<object, unknown>(service, method).serialize(request);
    const theirs = protobufjsCodecFor<object, unknown>(service, method).serialize(request);
    t.deepEqual([...ours], [...theirs], `${method} ${JSON.stringify(request)}`);
  }
});

test('a field sent twice merges as protobuf says, and unknown fields and wire types are skipped', (t) => {
  const ours = codecFor<object, unknown>('RuntimeService', 'ListContainers');
  const theirs = protobufjsCodecFor<object, unknown>('RuntimeService', 'ListContainers');
  const typeName = 'Container';
  const one = encodeWithProtobufjs(typeName, { id: 'a', metadata: { name: 'n' }, labels: { a: '1' }, createdAt: 5 });
  const two = encodeWithProtobufjs(typeName, {
    metadata: { attempt: 3 },
    labels: { b: '2', a: '3' },
    state: 'CONTAINER_EXITED',
  });
  const unknown = Buffer.from([
    0xf8,
    0x01,
    0x96,
    0x01, // field 31, varint 150
    0x3d,
    0x01,
    0x02,
    0x03,
    0x04, // field 7 (createdAt) as fixed32: not its wire type
    0x09,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8, // field 1 (id) as fixed64: not its wire type
    0xfa,
    0x01,
    0x02,
    0x68,
    0x69, // field 31, bytes "hi"
  ]);
  // a label named __proto__ (key 1, value 2) stays a label
  const protoLabel = Buffer.from([
    0x42,
    0x10,
    0x0a,
    0x09,
    ...Buffer.from('__proto__'),
    0x12,
    0x03,
    ...Buffer.from('bad'),
  ]);
  const merged = Buffer.concat([one, unknown, protoLabel, two]);
  const entry = (bytes: Buffer) => Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
  const response = Buffer.concat([entry(merged), entry(Buffer.alloc(0))]);
  const expected = theirs.deserialize(response);
  t.is(JSON.stringify(ours.deserialize(response)), JSON.stringify(expected));
  const first = (expected as { containers: { labels: object }[] }).containers[0]!;
  t.like(first, { id: 'a', metadata: { name: 'n', attempt: 3 }, state: 'CONTAINER_EXITED' });
  t.is(JSON.stringify(first.labels), '{"a":"3","__proto__":"bad","b":"2"}');
});

test('a malformed response fails to decode in both codecs', (t) => {
  const ours = codecFor<object, unknown>('RuntimeService', 'ListContainers');
  const theirs = protobufjsCodecFor<object, unknown>('RuntimeService', 'ListContainers');
  const good = encodeWithProtobufjs('ListContainersResponse', { containers: [container] });
  const malformed = [
    good.subarray(0, good.length - 3), // cut short
    Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), // a length of 4 GiB
    // a container whose createdAt is an 11-byte varint
    Buffer.from([0x0a, 12, 0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    Buffer.from([0x0b]), // wire type 3 (group), never in proto3
    Buffer.from([0x0e]), // wire type 6 does not exist
  ];
  for (const bytes of malformed) {
    t.throws(() => theirs.deserialize(bytes), undefined, `protobufjs: ${bytes.toString('hex')}`);
    t.throws(() => ours.deserialize(bytes), undefined, `ours: ${bytes.toString('hex')}`);
  }
});
