import test from 'ava';
import { readFileSync } from 'node:fs';
import { compileDescriptor } from '../../cri/proto/compile.ts';
import { codecFor, messageType } from '../../cri/schema.ts';

test('runtime_v1.json is the compiled form of runtime_v1.proto', (t) => {
  const onDisk = readFileSync(new URL('../../cri/proto/runtime_v1.json', import.meta.url), 'utf8');
  t.is(onDisk, compileDescriptor(), 'run: node cri/proto/compile.ts');
});

// A few wire facts spot-checked against the published API: a wrong number here breaks every
// runtime silently, so these are worth pinning by hand.
test('field numbers that the wire depends on', (t) => {
  const field = (type: string, name: string) => messageType(`runtime.v1.${type}`).fields[name]?.id;
  t.is(field('ContainerStatus', 'exitCode'), 7);
  t.is(field('ContainerStatus', 'imageId'), 17);
  t.is(field('LinuxSandboxSecurityContext', 'runAsGroup'), 8);
  t.is(field('LinuxContainerSecurityContext', 'runAsGroup'), 12);
  t.is(field('ImageSpec', 'userSpecifiedImage'), 18);
  t.is(field('ContainerConfig', 'CDIDevices'), 17);
  t.is(field('Mount', 'uidMappings'), 6);
  t.is(field('PodSandboxStatusResponse', 'containersStatuses'), 3);
});

test('a request encodes to the bytes protobuf defines', (t) => {
  const codec = codecFor<object, unknown>('RuntimeService', 'StopContainer');
  t.is(codec.path, '/runtime.v1.RuntimeService/StopContainer');
  // field 1 (string "ab"): 0x0a 0x02 'a' 'b'; field 2 (varint 30): 0x10 0x1e
  t.deepEqual([...codec.serialize({ containerId: 'ab', timeout: 30 })], [0x0a, 0x02, 0x61, 0x62, 0x10, 0x1e]);
});

test('a response decodes with defaults filled, enums as names, int64 as numbers, absent messages left out', (t) => {
  const codec = codecFor<object, Record<string, unknown>>('RuntimeService', 'ListContainers');
  const type = messageType('runtime.v1.ListContainersResponse');
  const bytes = Buffer.from(
    type
      .encode(
        type.fromObject({ containers: [{ id: 'c1', state: 'CONTAINER_EXITED', createdAt: 1795309222427467800 }] }),
      )
      .finish(),
  );
  const decoded = codec.deserialize(bytes) as { containers: Record<string, unknown>[] };
  const container = decoded.containers[0]!;
  t.is(container.id, 'c1');
  t.is(container.state, 'CONTAINER_EXITED');
  t.is(typeof container.createdAt, 'number');
  t.true(Math.abs((container.createdAt as number) - 1795309222427467800) < 1000);
  t.deepEqual(container.labels, {});
  t.is(container.podSandboxId, '');
  t.false('metadata' in container);
});
