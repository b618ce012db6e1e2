/** The scale bench's memory figures: smaps_rollup read right, per-node and per-pod costs from the spans where only one grew. */
import test from 'ava';
import { memoryCosts, parseSmapsRollup, type ServerMemory } from '../../bench/scale/memory-breakdown.ts';

test('smaps_rollup fields are read in kB', (t) => {
  const fields = parseSmapsRollup(
    '55c3f9d53000-7fffcb470000 ---p 00000000 00:00 0    [rollup]\nRss:                1780 kB\nPss_Anon:            116 kB\nPss_File:            159 kB\n',
  );
  t.is(fields.get('Rss'), 1780);
  t.is(fields.get('Pss_Anon'), 116);
  t.is(fields.get('Pss_File'), 159);
});

const at = (rss: number, heapUsed: number | null = rss / 2): ServerMemory => ({
  rss_mib: rss,
  anon_mib: rss,
  file_mib: 0,
  shmem_mib: 0,
  heap_used_mib: heapUsed,
  heap_total_mib: null,
  external_mib: null,
  array_buffers_mib: null,
});

test("a node's cost comes from the next step's join, a pod's from each step's rollout", (t) => {
  const [costs] = memoryCosts([
    // 100 nodes joined at 200 MiB; 3,000 pods later 500 MiB
    {
      backend: 'sqlite',
      nodes_ready: 100,
      pods_stored_joined: 0,
      pods_stored: 3000,
      server_memory_joined: at(200),
      server_memory: at(500),
    },
    // 200 more nodes: +100 MiB with the same pods; 6,000 more pods: +600 MiB
    {
      backend: 'sqlite',
      nodes_ready: 300,
      pods_stored_joined: 3000,
      pods_stored: 9000,
      server_memory_joined: at(600),
      server_memory: at(1200),
    },
  ]);
  t.is(costs?.per_node_kib.rss_mib, 512);
  // (300 + 600) MiB over 9,000 pods
  t.is(costs?.per_pod_kib.rss_mib, 102.4);
  t.is(costs?.per_node_kib.heap_total_mib, undefined, 'a figure never scraped has no cost');
});

test('a step whose pods were not counted gives no per-pod cost', (t) => {
  const [costs] = memoryCosts([
    {
      backend: 'sqlite',
      nodes_ready: 100,
      pods_stored_joined: 0,
      pods_stored: null,
      server_memory_joined: at(200),
      server_memory: at(500),
    },
  ]);
  t.deepEqual(costs?.per_pod_kib, {});
});

test('a backend with one step has a per-pod cost and no per-node cost', (t) => {
  const [costs] = memoryCosts([
    {
      backend: 'etcd',
      nodes_ready: 100,
      pods_stored_joined: 0,
      pods_stored: 1000,
      server_memory_joined: at(100),
      server_memory: at(150, null),
    },
  ]);
  t.deepEqual(costs?.per_node_kib, {});
  t.is(costs?.per_pod_kib.rss_mib, 51.2);
  t.is(costs?.per_pod_kib.heap_used_mib, undefined);
});
