/**
 * One behaviour suite for every CRI runtime the agent meets in tests: the stateful fake
 * (cri/fake.ts) and the real containerd of a test-bed node each run it from their own test file,
 * so the fake is held to what containerd does and cannot drift from it unnoticed. It covers what
 * the agent relies on: sandbox and container lifecycles and their states, exit codes and reasons,
 * list filters, the answers for unknown IDs, stopping what is stopped and removing what runs.
 */
import type { ExecutionContext, TestFn } from 'ava';
import { CriError, type CriErrorCode } from '../../cri/errors.ts';
import type { CriRuntime } from '../../cri/runtime.ts';
import type { ContainerConfig, PodSandboxConfig } from '../../cri/types.ts';

interface CriBed {
  readonly runtime: CriRuntime;
  /** An image present in the runtime that has sh and sleep. */
  readonly busybox: string;
  /** Where sandboxes may keep their container logs. */
  logDirectory(name: string): string;
  /**
   * The started container runs `sh -c 'exit <code>'`: resolves once the runtime reports it exited
   * (the fake is told to let it exit; containerd's process does so by itself).
   */
  letExit(containerId: string, exitCode: number): Promise<void>;
}

/** An ID that no runtime has handed out (64 hex digits, like real ones). */
const unknownId = 'f'.repeat(64);

async function rejectsWith(t: ExecutionContext, call: Promise<unknown>, code: CriErrorCode, what: string) {
  const error = await t.throwsAsync(call, undefined, what);
  t.true(
    error instanceof CriError && error.code === code,
    `${what}: expected ${code}, got ${(error as { code?: string })?.code}: ${error?.message}`,
  );
}

export function criBehaviourSuite(test: TestFn, label: string, bed: () => CriBed): void {
  let names = 0;
  /** A fresh sandbox config: unique name and uid per call, so tests never meet each other's. */
  const sandboxConfig = (labels: Record<string, string> = {}): PodSandboxConfig => {
    const name = `behave-${process.pid}-${++names}`;
    return {
      metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 },
      logDirectory: bed().logDirectory(name),
      labels,
    };
  };
  const containerConfig = (name: string, script: string, labels: Record<string, string> = {}): ContainerConfig => ({
    metadata: { name, attempt: 0 },
    image: { image: bed().busybox },
    command: ['sh', '-c', script],
    logPath: `${name}.log`,
    labels,
  });
  const sleeper = (name: string, labels?: Record<string, string>) => containerConfig(name, 'sleep 3600', labels);
  const cleanups: (() => Promise<unknown>)[] = [];
  /** Runs a sandbox that is stopped and removed after the suite, whatever the test did to it. */
  const runSandbox = async (config = sandboxConfig()) => {
    const { runtime } = bed();
    const id = await runtime.runPodSandbox(config);
    cleanups.push(async () => {
      await runtime.stopPodSandbox(id).catch(() => undefined);
      await runtime.removePodSandbox(id).catch(() => undefined);
    });
    return { id, config };
  };
  const stateOf = async (containerId: string) => (await bed().runtime.containerStatus(containerId)).status!;

  test.after.always(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  test.serial(
    `${label}: a sandbox goes READY, NOTREADY when stopped (twice is fine), and is gone once removed`,
    async (t) => {
      const { runtime } = bed();
      const { id, config } = await runSandbox(sandboxConfig({ suite: 'lifecycle' }));
      const ready = (await runtime.podSandboxStatus(id)).status!;
      t.is(ready.state, 'SANDBOX_READY');
      t.deepEqual(ready.metadata, config.metadata);
      t.is(ready.labels.suite, 'lifecycle');
      t.true(ready.createdAt > 0);
      await runtime.stopPodSandbox(id);
      t.is((await runtime.podSandboxStatus(id)).status?.state, 'SANDBOX_NOTREADY');
      await runtime.stopPodSandbox(id);
      t.is((await runtime.podSandboxStatus(id)).status?.state, 'SANDBOX_NOTREADY', 'stopping again changes nothing');
      await runtime.removePodSandbox(id);
      t.deepEqual(await runtime.listPodSandbox({ id }), []);
      await rejectsWith(t, runtime.podSandboxStatus(id), 'BOSUN_CRI_NOT_FOUND', 'status of a removed sandbox');
      await runtime.removePodSandbox(id);
      t.pass('removing it again is harmless');
    },
  );

  test.serial(
    `${label}: a container goes CREATED, RUNNING, EXITED (137 when killed) and cannot start twice`,
    async (t) => {
      const { runtime } = bed();
      const { id: sandbox, config } = await runSandbox();
      const id = await runtime.createContainer(sandbox, sleeper('app', { role: 'app' }), config);
      const created = await stateOf(id);
      t.is(created.state, 'CONTAINER_CREATED');
      t.is(created.startedAt, 0);
      t.is(created.finishedAt, 0);
      t.is(created.metadata?.name, 'app');
      t.is(created.labels.role, 'app');
      await runtime.startContainer(id);
      const running = await stateOf(id);
      t.is(running.state, 'CONTAINER_RUNNING');
      t.true(running.startedAt >= created.createdAt);
      await runtime.stopContainer(id, 0);
      const exited = await stateOf(id);
      t.is(exited.state, 'CONTAINER_EXITED');
      t.is(exited.exitCode, 137, 'killed');
      t.is(exited.reason, 'Error');
      t.true(exited.finishedAt >= running.startedAt);
      await runtime.stopContainer(id, 0);
      const again = await stateOf(id);
      t.is(again.state, 'CONTAINER_EXITED', 'stopping a stopped container is harmless');
      t.is(again.exitCode, 137);
      t.is(again.finishedAt, exited.finishedAt, 'and changes nothing');
      await rejectsWith(t, runtime.startContainer(id), 'BOSUN_CRI_RUNTIME', 'starting an exited container');
      await runtime.removeContainer(id);
      t.deepEqual(await runtime.listContainers({ id }), []);
      await rejectsWith(t, runtime.containerStatus(id), 'BOSUN_CRI_NOT_FOUND', 'status of a removed container');
      await runtime.removeContainer(id);
      t.pass('removing it again is harmless');
    },
  );

  test.serial(`${label}: a process that exits by itself reports its code: 0 is Completed, others Error`, async (t) => {
    const { runtime } = bed();
    const { id: sandbox, config } = await runSandbox();
    for (const [name, code, reason] of [
      ['fails', 3, 'Error'],
      ['succeeds', 0, 'Completed'],
    ] as const) {
      const id = await runtime.createContainer(sandbox, containerConfig(name, `exit ${code}`), config);
      await runtime.startContainer(id);
      await bed().letExit(id, code);
      const status = await stateOf(id);
      t.is(status.state, 'CONTAINER_EXITED', name);
      t.is(status.exitCode, code, name);
      t.is(status.reason, reason, name);
    }
  });

  test.serial(
    `${label}: stopping a sandbox kills its running containers (137); a created one stays unstarted`,
    async (t) => {
      const { runtime } = bed();
      const { id: sandbox, config } = await runSandbox();
      const running = await runtime.createContainer(sandbox, sleeper('running'), config);
      await runtime.startContainer(running);
      const created = await runtime.createContainer(sandbox, sleeper('created'), config);
      await runtime.stopPodSandbox(sandbox);
      const killed = await stateOf(running);
      t.is(killed.state, 'CONTAINER_EXITED');
      t.is(killed.exitCode, 137);
      t.is(killed.reason, 'Error');
      t.is((await stateOf(created)).state, 'CONTAINER_CREATED', 'a container that never started is left as it was');
      await rejectsWith(t, runtime.startContainer(created), 'BOSUN_CRI_RUNTIME', 'starting it in the stopped sandbox');
      await rejectsWith(
        t,
        runtime.createContainer(sandbox, sleeper('late'), config),
        'BOSUN_CRI_NOT_FOUND',
        'creating a container in a stopped sandbox',
      );
    },
  );

  test.serial(
    `${label}: stopping a container that never started leaves it created; exec and log reopening need a running one`,
    async (t) => {
      const { runtime } = bed();
      const { id: sandbox, config } = await runSandbox();
      const never = await runtime.createContainer(sandbox, sleeper('never'), config);
      await runtime.stopContainer(never, 0);
      const stopped = await stateOf(never);
      t.is(stopped.state, 'CONTAINER_CREATED', 'there was no process to stop');
      t.is(stopped.finishedAt, 0);
      await runtime.startContainer(never);
      t.is((await stateOf(never)).state, 'CONTAINER_RUNNING', 'and it can still start');
      const done = await runtime.createContainer(sandbox, containerConfig('done', 'exit 0'), config);
      await runtime.startContainer(done);
      await bed().letExit(done, 0);
      await rejectsWith(t, runtime.execSync(done, ['true'], 5), 'BOSUN_CRI_RUNTIME', 'ExecSync in an exited container');
      await rejectsWith(
        t,
        runtime.reopenContainerLog(done),
        'BOSUN_CRI_RUNTIME',
        'ReopenContainerLog of an exited one',
      );
    },
  );

  test.serial(`${label}: removing a running container or a ready sandbox stops it first`, async (t) => {
    const { runtime } = bed();
    const { id: sandbox, config } = await runSandbox();
    const first = await runtime.createContainer(sandbox, sleeper('first'), config);
    await runtime.startContainer(first);
    await runtime.removeContainer(first);
    t.deepEqual(await runtime.listContainers({ id: first }), [], 'a running container is removed');
    const second = await runtime.createContainer(sandbox, sleeper('second'), config);
    await runtime.startContainer(second);
    await runtime.removePodSandbox(sandbox);
    t.deepEqual(await runtime.listPodSandbox({ id: sandbox }), [], 'a ready sandbox is removed');
    t.deepEqual(await runtime.listContainers({ podSandboxId: sandbox }), [], 'with its containers');
    await rejectsWith(t, runtime.containerStatus(second), 'BOSUN_CRI_NOT_FOUND', 'its container');
  });

  test.serial(`${label}: list filters: id, unique id prefix, sandbox, state and labels`, async (t) => {
    const { runtime } = bed();
    const tag = `filters-${process.pid}`;
    const a = await runSandbox(sandboxConfig({ suite: tag, side: 'a' }));
    const b = await runSandbox(sandboxConfig({ suite: tag, side: 'b' }));
    const runningA = await runtime.createContainer(a.id, sleeper('one', { suite: tag, n: '1' }), a.config);
    await runtime.startContainer(runningA);
    const createdA = await runtime.createContainer(a.id, sleeper('two', { suite: tag, n: '2' }), a.config);
    const runningB = await runtime.createContainer(b.id, sleeper('three', { suite: tag, n: '3' }), b.config);
    await runtime.startContainer(runningB);
    await runtime.stopPodSandbox(b.id);

    const sandboxIds = async (filter: Parameters<CriRuntime['listPodSandbox']>[0]) =>
      (await runtime.listPodSandbox(filter)).map((s) => s.id).sort();
    t.deepEqual(await sandboxIds({ labelSelector: { suite: tag } }), [a.id, b.id].sort());
    t.deepEqual(await sandboxIds({ labelSelector: { suite: tag, side: 'b' } }), [b.id]);
    t.deepEqual(await sandboxIds({ labelSelector: { suite: tag }, state: { state: 'SANDBOX_READY' } }), [a.id]);
    t.deepEqual(await sandboxIds({ labelSelector: { suite: tag }, state: { state: 'SANDBOX_NOTREADY' } }), [b.id]);
    t.deepEqual(await sandboxIds({ id: a.id }), [a.id]);
    t.deepEqual(await sandboxIds({ id: a.id.slice(0, 20) }), [a.id], 'a unique prefix is an ID');
    t.deepEqual(await sandboxIds({ labelSelector: { suite: tag, side: 'c' } }), []);

    const containerIds = async (filter: Parameters<CriRuntime['listContainers']>[0]) =>
      (await runtime.listContainers(filter)).map((c) => c.id).sort();
    t.deepEqual(await containerIds({ labelSelector: { suite: tag } }), [runningA, createdA, runningB].sort());
    t.deepEqual(await containerIds({ podSandboxId: a.id }), [runningA, createdA].sort());
    t.deepEqual(await containerIds({ podSandboxId: a.id.slice(0, 20) }), [runningA, createdA].sort());
    t.deepEqual(await containerIds({ labelSelector: { suite: tag }, state: { state: 'CONTAINER_RUNNING' } }), [
      runningA,
    ]);
    t.deepEqual(await containerIds({ labelSelector: { suite: tag }, state: { state: 'CONTAINER_CREATED' } }), [
      createdA,
    ]);
    t.deepEqual(await containerIds({ labelSelector: { suite: tag }, state: { state: 'CONTAINER_EXITED' } }), [
      runningB,
    ]);
    t.deepEqual(await containerIds({ id: runningB.slice(0, 20) }), [runningB]);
    t.deepEqual(await containerIds({ labelSelector: { suite: tag, n: '2' } }), [createdA]);
    const listed = (await runtime.listContainers({ id: runningA }))[0];
    t.is(listed?.podSandboxId, a.id);
    t.is(listed?.metadata?.name, 'one');
    t.is(listed?.labels.n, '1');
  });

  test.serial(`${label}: unknown IDs: status and stop are NotFound, remove is harmless`, async (t) => {
    const { runtime } = bed();
    await rejectsWith(t, runtime.podSandboxStatus(unknownId), 'BOSUN_CRI_NOT_FOUND', 'PodSandboxStatus');
    await rejectsWith(t, runtime.containerStatus(unknownId), 'BOSUN_CRI_NOT_FOUND', 'ContainerStatus');
    await rejectsWith(t, runtime.startContainer(unknownId), 'BOSUN_CRI_NOT_FOUND', 'StartContainer');
    await rejectsWith(t, runtime.stopContainer(unknownId, 0), 'BOSUN_CRI_NOT_FOUND', 'StopContainer');
    await rejectsWith(t, runtime.stopPodSandbox(unknownId), 'BOSUN_CRI_NOT_FOUND', 'StopPodSandbox');
    await runtime.removeContainer(unknownId);
    await runtime.removePodSandbox(unknownId);
    t.deepEqual(await runtime.listPodSandbox({ id: unknownId }), []);
    t.deepEqual(await runtime.listContainers({ id: unknownId }), []);
    t.deepEqual(await runtime.listContainers({ podSandboxId: unknownId }), []);
  });

  test.serial(`${label}: names are reserved; an unknown image is NotFound`, async (t) => {
    const { runtime } = bed();
    const { id: sandbox, config } = await runSandbox();
    await rejectsWith(t, runtime.runPodSandbox(config), 'BOSUN_CRI_RUNTIME', 'a second sandbox with the same name');
    await runtime.createContainer(sandbox, sleeper('twin'), config);
    await rejectsWith(
      t,
      runtime.createContainer(sandbox, sleeper('twin'), config),
      'BOSUN_CRI_RUNTIME',
      'a second container with the same name and attempt',
    );
    const missing = { ...sleeper('missing'), image: { image: 'localhost/bosun-test/no-such-image:1' } };
    await rejectsWith(t, runtime.createContainer(sandbox, missing, config), 'BOSUN_CRI_NOT_FOUND', 'an unknown image');
    t.is((await runtime.imageStatus('localhost/bosun-test/no-such-image:1')).image, undefined, 'no image, no error');
    t.truthy((await runtime.imageStatus(bed().busybox)).image?.id);
  });
}
