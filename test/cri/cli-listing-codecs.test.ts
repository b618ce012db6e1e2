/**
 * `bosun cri ps`, `pods`, `images` and `version` print the same bytes whether the runtime's answers
 * are decoded by the listing codec (cri/wire-codec.ts, what the client uses) or by protobufjs, on
 * the same recorded responses, in every output format.
 */
import test from 'ava';
import { codecFor, protobufjsCodecFor, messageType, type Codec } from '../../cri/schema.ts';
import type { CriContext } from '../../cri/commands/context.ts';
import type { CriRuntime } from '../../cri/runtime.ts';
import { ps, pods, images } from '../../cri/commands/list.ts';
import { version } from '../../cri/commands/inspect.ts';

const now = Date.UTC(2026, 11, 7, 12, 0, 0);
const ns = (ms: number) => ms * 1_000_000;
const digest = (byte: string) => `sha256:${byte.repeat(32)}`;

/** Responses as containerd 1.6 answers them, written as protobufjs would have encoded them on the wire. */
function recorded(typeName: string, object: object): Buffer {
  const type = messageType(`runtime.v1.${typeName}`);
  return Buffer.from(type.encode(type.fromObject(object as Record<string, unknown>)).finish());
}

const kubeletLabels = (pod: string, namespace: string, container: string) => ({
  'io.kubernetes.container.name': container,
  'io.kubernetes.pod.name': pod,
  'io.kubernetes.pod.namespace': namespace,
  'io.kubernetes.pod.uid': `uid-${pod}`,
});

const responses = {
  ListPodSandbox: recorded('ListPodSandboxResponse', {
    items: [
      {
        id: 'a1'.repeat(32),
        metadata: { name: 'web-7d4b9', uid: 'uid-web', namespace: 'shop', attempt: 0 },
        state: 'SANDBOX_READY',
        createdAt: ns(now - 3_600_000),
        labels: { app: 'web', 'io.kubernetes.pod.name': 'web-7d4b9' },
        annotations: { 'kubernetes.io/config.source': 'api' },
      },
      {
        id: 'b2'.repeat(32),
        metadata: { name: 'dns-ü', uid: 'uid-dns', namespace: 'kube-system', attempt: 3 },
        state: 'SANDBOX_NOTREADY',
        createdAt: ns(now - 90_000),
        runtimeHandler: 'runc',
      },
    ],
  }),
  ListContainers: recorded('ListContainersResponse', {
    containers: [
      {
        id: 'c3'.repeat(32),
        podSandboxId: 'a1'.repeat(32),
        metadata: { name: 'nginx', attempt: 2 },
        image: { image: 'docker.io/library/nginx:1.27', annotations: {}, userSpecifiedImage: 'nginx:1.27' },
        imageRef: `docker.io/library/nginx@${digest('d4')}`,
        state: 'CONTAINER_RUNNING',
        createdAt: ns(now - 61_000),
        labels: kubeletLabels('web-7d4b9', 'shop', 'nginx'),
        annotations: { 'io.kubernetes.container.hash': '1a2b3c', 'io.kubernetes.container.restartCount': '2' },
        imageId: digest('d4'),
      },
      {
        // a container started by hand: no kubelet labels, an image named by its ID
        id: 'e5'.repeat(32),
        podSandboxId: 'b2'.repeat(32),
        metadata: { name: 'debug' },
        image: { image: digest('f6') },
        imageRef: digest('f6'),
        state: 'CONTAINER_EXITED',
        createdAt: ns(now - 5_000),
        labels: { note: 'handmade 🚀' },
      },
      {
        id: 'f7'.repeat(32),
        podSandboxId: 'b2'.repeat(32),
        metadata: { name: 'coredns', attempt: 0 },
        image: { image: 'registry.k8s.io/coredns/coredns:v1.11.1' },
        imageRef: digest('08'),
        state: 'CONTAINER_RUNNING',
        createdAt: ns(now - 86_400_000 * 3),
        labels: kubeletLabels('dns-ü', 'kube-system', 'coredns'),
      },
    ],
  }),
  ListImages: recorded('ListImagesResponse', {
    images: [
      {
        id: digest('d4'),
        repoTags: ['docker.io/library/nginx:1.27', 'docker.io/library/nginx:latest'],
        repoDigests: [`docker.io/library/nginx@${digest('19')}`],
        size: 71_234_567,
        uid: { value: 101 },
        spec: { image: digest('d4') },
      },
      { id: digest('f6'), repoDigests: [`localhost:5000/tools@${digest('2a')}`], size: 1_234, username: 'nobody' },
      { id: digest('08'), repoTags: ['registry.k8s.io/coredns/coredns:v1.11.1'], size: 16_190_758, pinned: true },
    ],
  }),
  Version: recorded('VersionResponse', {
    version: '0.1.0',
    runtimeName: 'containerd',
    runtimeVersion: '1.6.20~ds1',
    runtimeApiVersion: 'v1',
  }),
};

/** A runtime answering the listing calls from the recorded bytes, decoded by `codecOf`. */
function replaying(codecOf: (service: 'RuntimeService' | 'ImageService', method: string) => Codec<object, unknown>) {
  const answer = <T>(service: 'RuntimeService' | 'ImageService', method: keyof typeof responses): T =>
    codecOf(service, method).deserialize(Buffer.from(responses[method])) as T;
  const runtime = {
    listPodSandbox: async () => answer<{ items: unknown[] }>('RuntimeService', 'ListPodSandbox').items,
    listContainers: async () => answer<{ containers: unknown[] }>('RuntimeService', 'ListContainers').containers,
    listImages: async () => answer<{ images: unknown[] }>('ImageService', 'ListImages').images,
    version: async () => answer('RuntimeService', 'Version'),
  };
  return runtime as unknown as CriRuntime;
}

async function printed(runtime: CriRuntime, run: (ctx: CriContext) => Promise<void>): Promise<string> {
  const out: string[] = [];
  const ctx: CriContext = {
    runtime,
    out: { write: (s) => out.push(typeof s === 'string' ? s : Buffer.from(s).toString()) },
    err: { write: (s) => out.push(typeof s === 'string' ? s : Buffer.from(s).toString()) },
    now: () => now,
  };
  await run(ctx);
  return out.join('');
}

const list = { quiet: false, 'no-trunc': false, label: [] as string[], latest: false, last: 0 };
const formats = ['table', 'json', 'yaml'] as const;
const commands: [string, (ctx: CriContext) => Promise<void>][] = [
  ...formats.flatMap((output): [string, (ctx: CriContext) => Promise<void>][] => [
    [`ps -o ${output}`, (ctx) => ps(ctx, { ...list, output, all: false })],
    [`ps -a --no-trunc -o ${output}`, (ctx) => ps(ctx, { ...list, output, all: true, 'no-trunc': true })],
    [`pods -o ${output}`, (ctx) => pods(ctx, { ...list, output })],
    [`images --digests -o ${output}`, (ctx) => images(ctx, { output, quiet: false, 'no-trunc': false, digests: true })],
    [`version -o ${output}`, (ctx) => version(ctx, { output })],
  ]),
  ['ps -a -q', (ctx) => ps(ctx, { ...list, output: 'table', all: true, quiet: true })],
  ['images -q', (ctx) => images(ctx, { output: 'table', quiet: true, 'no-trunc': false, digests: false })],
];

test('the listing commands print the same bytes with either codec on the same recorded responses', async (t) => {
  const ours = replaying((service, method) => codecFor(service, method));
  const theirs = replaying((service, method) => protobufjsCodecFor(service, method));
  for (const [name, run] of commands) {
    const expected = await printed(theirs, run);
    t.true(expected.length > 20, name);
    t.is(await printed(ours, run), expected, name);
  }
});
