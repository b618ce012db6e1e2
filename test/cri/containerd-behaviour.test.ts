/** The CRI behaviour suite against the real containerd of a test-bed node. */
import test from 'ava';
import { join } from 'node:path';
import { createBed, bedImages, type Bed, type BedNode } from '../bed/index.ts';
import { CriClient } from '../../cri/client.ts';
import { waitFor } from '../helpers/wait.ts';
import { criBehaviourSuite } from './cri-behaviour-suite.ts';

let bed: Bed | undefined;
let node: BedNode;
let runtime: CriClient | undefined;

test.before(async () => {
  bed = await createBed({ nodes: 1 });
  node = bed.nodes[0]!;
  runtime = new CriClient(node.criEndpoint);
});

// registered after the suite's own cleanup: the bed goes last
criBehaviourSuite(test, 'containerd', () => ({
  runtime: runtime!,
  busybox: bedImages.busybox,
  logDirectory: (name) => join(node.podLogDir, `default_${name}`),
  letExit: async (containerId) => {
    await waitFor(async () => (await runtime!.containerStatus(containerId)).status?.state === 'CONTAINER_EXITED', {
      what: `container ${containerId} exited`,
      timeoutMs: 20_000,
    });
  },
}));

test.after.always(async () => {
  runtime?.close();
  await bed?.destroy();
});
