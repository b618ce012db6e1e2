/** bench/REPORT.md shows where the scale server's RSS went per step and what a node and a pod cost. */
import test from 'ava';
import { serverMemorySection } from '../../bench/report/server-memory-section.ts';

const memory = (rss: number) => ({
  rss_mib: rss,
  anon_mib: rss - 60,
  file_mib: 5,
  heap_used_mib: 150,
  heap_total_mib: 300,
  external_mib: 14,
  array_buffers_mib: 3,
});

test('each step has a row per moment, with the native memory, and the costs follow', (t) => {
  const md = serverMemorySection({
    steps: [
      {
        backend: 'sqlite',
        nodes_ready: 100,
        pods_stored_joined: 0,
        pods_stored: 3000,
        server_memory_joined: memory(224),
        server_memory: memory(565),
      },
    ],
    server_memory_costs: [
      {
        backend: 'sqlite',
        per_node_kib: {},
        per_pod_kib: { rss_mib: 48, heap_used_mib: 26.9, heap_total_mib: 48.9, external_mib: 0.6 },
      },
    ],
  }).join('\n');
  t.regex(md, /\| sqlite \| 100 \| 0 \| nodes joined \| 224 \| 164 \| 5 \| 150 \/ 300 \| 14 \(3\) \| -150 \|/);
  t.regex(md, /\| sqlite \| 100 \| 3000 \| step end \| 565 \| 505 \| 5 \| 150 \/ 300 \| 14 \(3\) \| 191 \|/);
  t.regex(
    md,
    /- sqlite: one more node not measured; one more pod 48 KiB RSS \(heap in use 26\.9, reserved 48\.9, external 0\.6\)\./,
  );
});

test('a scale result without memory figures adds nothing', (t) => {
  t.deepEqual(serverMemorySection({ steps: [{ backend: 'etcd', nodes_ready: 10 }] }), []);
  t.deepEqual(serverMemorySection(undefined), []);
});
