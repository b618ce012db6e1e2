/**
 * The registry with admission, on an in-memory SQLite store, driven directly: races that HTTP
 * timing would hide.
 */
import test from 'ava';
import { admissionChain } from '../../../controlplane/admission/chain.ts';
import { Registry } from '../../../controlplane/api/registry.ts';
import { findResource } from '../../../controlplane/api/resources.ts';
import { SqliteStorage } from '../../../controlplane/storage/sqlite.ts';
import type { KubeObject } from '../../../kube/types.ts';

const services = findResource('', 'v1', 'services')!;

function setup() {
  const storage = new SqliteStorage(':memory:');
  let registry!: Registry;
  const admit = admissionChain({
    serviceCidr: '10.96.0.0/12',
    services: async () => (await registry.list(services, undefined)).items,
    namespace: async (name) => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
      status: { phase: 'Active' },
    }),
    listIn: async () => [],
    recordQuotaUsage: async () => undefined,
  });
  registry = new Registry(storage, admit);
  return { storage, registry };
}

test('Service creates admitted at the same moment never share a ClusterIP or a NodePort', async (t) => {
  const { storage, registry } = setup();
  try {
    // All 150 are admitted before any of them is written; unsynchronised random picks from 2768
    // NodePorts would clash with near certainty.
    const created = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        registry.create(services, 'default', {
          metadata: { name: `s${i}` },
          spec: { type: 'NodePort', ports: [{ port: 80 }] },
        } as KubeObject),
      ),
    );
    const ips = created.map((s) => (s.spec as { clusterIP: string }).clusterIP);
    const ports = created.map((s) => (s.spec as { ports: { nodePort: number }[] }).ports[0]!.nodePort);
    t.is(new Set(ips).size, 150, 'ClusterIPs are unique');
    t.is(new Set(ports).size, 150, 'NodePorts are unique');
  } finally {
    await storage.close();
  }
});
