/**
 * Image garbage collection against the real containerd of a test-bed node: over the high threshold
 * the collector removes an image no container uses and keeps the pinned pause image and the image a
 * running container uses; the eviction manager's deleteUnused() removes what is unused and its
 * blobs leave containerd's content store. The unused images are built here (one small file each,
 * under a test-only name), so nothing is pulled and the bed's own images are never at risk.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { createBed, bedImages, type Bed, type BedNode } from '../../bed/index.ts';
import { waitFor } from '../../helpers/wait.ts';
import { CriClient } from '../../../cri/client.ts';
import { systemClock } from '../../../kube/clock.ts';
import { buildImageArchive, type ImageArchive } from '../../../agent/oci/image-archive.ts';
import { ImageGc } from '../../../agent/images/image-gc.ts';
import type { PodSandboxConfig } from '../../../cri/types.ts';

let bed: Bed | undefined;
let node: BedNode;
let cri: CriClient | undefined;
let sandbox: string | undefined;

const ctr = (...args: string[]) =>
  node.run(['ctr', '-a', node.criEndpoint.replace(/^unix:\/\//, ''), '-n', 'k8s.io', ...args]);

/** Builds and imports a one-file image; returns what was built. */
async function importSmallImage(reference: string): Promise<ImageArchive> {
  const image = buildImageArchive({
    reference,
    files: [{ kind: 'file', path: 'unused.txt', data: Buffer.from(`${reference} ${process.pid} ${Date.now()}\n`) }],
    cmd: ['/unused.txt'],
  });
  const path = join(node.stateDir, `${reference.replaceAll(/[/:]/g, '_')}.tar`);
  writeFileSync(path, image.archive);
  const imported = await ctr('images', 'import', path);
  if (imported.code !== 0) throw new Error(`ctr images import: ${imported.stderr}`);
  return image;
}

const imageIds = async () => (await cri!.listImages()).map((image) => image.id);

function collector(): ImageGc {
  return new ImageGc({
    runtime: cri!,
    clock: systemClock,
    log: pino({ level: 'silent' }),
    // over the threshold whatever the disk holds: every unused image is a candidate, at once
    policy: { highPercent: 1, lowPercent: 0, minAgeMs: 0 },
    pinnedNames: [bedImages.pause],
  });
}

test.before(async () => {
  bed = await createBed({ nodes: 1 });
  node = bed.nodes[0]!;
  cri = new CriClient(node.criEndpoint);
  // a running pod whose container uses busybox: its image is in use
  const config: PodSandboxConfig = {
    metadata: { name: 'gc', namespace: 'default', uid: `gc-${process.pid}`, attempt: 0 },
    logDirectory: join(node.podLogDir, `default_gc_${process.pid}`),
  };
  sandbox = await cri.runPodSandbox(config, undefined, { timeoutMs: 60_000 });
  const container = await cri.createContainer(
    sandbox,
    { metadata: { name: 'user' }, image: { image: bedImages.busybox }, command: ['sleep', '3600'] },
    config,
  );
  await cri.startContainer(container);
});

test.after.always(async () => {
  if (sandbox !== undefined) {
    await cri?.stopPodSandbox(sandbox).catch(() => undefined);
    await cri?.removePodSandbox(sandbox).catch(() => undefined);
  }
  cri?.close();
  await bed?.destroy();
});

test.serial('over the high threshold the unused image goes; the pause and the in-use images stay', async (t) => {
  const unused = await importSmallImage('localhost/bosun-test/unused:1');
  const pause = (await cri!.imageStatus(bedImages.pause)).image!.id;
  const busybox = (await cri!.imageStatus(bedImages.busybox)).image!.id;
  t.deepEqual((await imageIds()).sort(), [pause, busybox, unused.configDigest].sort(), 'three images to start with');
  const size = (await cri!.imageStatus(unused.configDigest)).image!.size;

  const gc = collector();
  const freed = await gc.collectOnce();
  t.is(freed, size, "the freed bytes are the unused image's size");
  t.is(gc.removed, 1, 'one image removed');
  t.deepEqual((await imageIds()).sort(), [pause, busybox].sort(), 'pause (pinned) and busybox (in use) kept');
  t.false((await ctr('images', 'ls', '-q')).stdout.includes('localhost/bosun-test/unused:1'), 'gone from containerd');
});

test.serial("eviction's deleteUnused removes the unused image and containerd frees its blobs", async (t) => {
  const unused = await importSmallImage('localhost/bosun-test/evicted:1');
  const layer = JSON.parse((await ctr('content', 'get', unused.manifestDigest)).stdout || '{"layers":[]}') as {
    layers: { digest: string }[];
  };
  const layerDigest = layer.layers[0]?.digest;
  t.truthy(layerDigest, 'the layer blob is in the content store');
  const listed = (await cri!.listImages()).find((image) => image.id === unused.configDigest);
  t.truthy(listed, 'the runtime lists the new image');

  const freed = await collector().deleteUnused();
  t.is(freed, listed!.size, "the freed bytes are the removed image's size");
  t.false((await imageIds()).includes(unused.configDigest));
  t.truthy((await cri!.imageStatus(bedImages.busybox)).image, 'the in-use image stays');
  t.truthy((await cri!.imageStatus(bedImages.pause)).image, 'the pause image stays');
  // containerd's garbage collector removes the blobs no image refers to any more
  await waitFor(async () => !(await ctr('content', 'ls', '-q')).stdout.includes(layerDigest!), {
    what: `the layer ${layerDigest} removed from the content store`,
    timeoutMs: 30_000,
    intervalMs: 200,
  });
  t.pass();
});
