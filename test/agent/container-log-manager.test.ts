/**
 * The container log manager between its rounds over every log: a check woken by the watch of the
 * pod log folder reads the size of the logs written since the last check only, and still rotates
 * one that grew over the limit.
 */
import test from 'ava';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { ContainerLogManager } from '../../agent/logs/container-log-manager.ts';
import type { CriRuntime } from '../../cri/runtime.ts';
import { systemClock } from '../../kube/clock.ts';
import { waitFor } from '../helpers/wait.ts';

test('a check woken by a write reads only the logs written since the last one, and rotates one over the limit', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bosun-log-manager-'));
  const abort = new AbortController();
  // five running containers, each with a small live log
  const logs = Array.from({ length: 5 }, (_, i) => {
    const dir = join(root, `default_web-${i}_uid-${i}`, 'app');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '0.log'), 'started\n');
    return { id: `c${i}`, path: join(dir, '0.log') };
  });
  const reopened: string[] = [];
  const runtime = {
    listContainers: async () => logs.map(({ id }) => ({ id })),
    containerStatus: async (id: string) => ({ status: { logPath: logs.find((l) => l.id === id)!.path } }),
    reopenContainerLog: async (id: string) => {
      reopened.push(id);
    },
  } as unknown as CriRuntime;
  const reads: string[] = [];
  const maxSizeBytes = 64 * 1024;
  const manager = new ContainerLogManager({
    runtime,
    clock: systemClock,
    log: pino({ level: 'silent' }),
    maxSizeBytes,
    maxFiles: 2,
    // no round over every log during the test after the first one
    checkIntervalMs: 600_000,
    listIntervalMs: 600_000,
    podLogDir: root,
    sizeOf: async (path) => {
      reads.push(path);
      return stat(path).then(
        (s) => s.size,
        () => -1,
      );
    },
  });
  const running = manager.run(abort.signal);
  t.teardown(async () => {
    abort.abort();
    await running;
    rmSync(root, { recursive: true, force: true });
  });
  await waitFor(() => logs.every(({ path }) => reads.includes(path)), {
    what: 'the first round over every log',
    timeoutMs: 10_000,
  });
  reads.length = 0;
  // the last container in the round's order writes past the limit
  const last = logs.at(-1)!;
  appendFileSync(last.path, 'x'.repeat(maxSizeBytes));
  await waitFor(() => reopened.includes(last.id), { what: 'the grown log rotated', timeoutMs: 10_000 });
  t.deepEqual([...new Set(reads)], [last.path], 'only the written log was read');
  t.is(manager.rotations, 1);
});
